package elfio

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// zstdMaxWindow bounds the window a zstd frame may ask the decoder to
// allocate. kbuild's zstd (default level 3) uses at most 2 MiB and even
// `zstd -19` stays at 8 MiB; a frame header asking for more than this is not a
// module and must not make us reserve gigabytes.
const zstdMaxWindow = 128 << 20

// zstdEncoderWindow is the window of `zstd -3` on inputs larger than 256 KiB
// (windowLog 21), so the decoder needs no more memory than for kbuild's own
// output.
const zstdEncoderWindow = 2 << 20

// compressionOf tells a file's compression by its magic.
func compressionOf(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return Gzip
	case bytes.HasPrefix(head, magicXZ):
		return XZ
	case bytes.HasPrefix(head, magicZstd):
		return Zstd
	}
	return None
}

// decompressor returns a reader of what r decompresses to, and the function
// that releases it.
func decompressor(c Compression, r io.Reader) (io.Reader, func(), error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case XZ:
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", err)
		}
		return zr, func() {}, nil
	case Zstd:
		zr, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return nil, nil, fmt.Errorf("internal error: decompressor called with %v", c)
}

// decompress inflates raw (whose kind was found by its magic) and refuses to
// produce more than limit bytes. The limit is enforced on the stream itself,
// never on a size stored in a header, which an attacker controls.
func decompress(c Compression, raw []byte, limit int64) ([]byte, error) {
	r, done, err := decompressor(c, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer done()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (after %d decompressed bytes)", c, err, n)
	}
	if n > limit {
		return nil, fmt.Errorf("%s: decompressed content exceeds the limit of %d bytes; refusing a possible decompression bomb", c, limit)
	}
	return buf.Bytes(), nil
}

// Encode turns an image (as returned by Rewrite) into the bytes to store on
// disk: compressed again the way the file was, with kbuild's settings
// (docs/facts.md §8):
//   - gzip as `gzip -n`: no file name, zero modification time, default level;
//   - xz as `xz --check=crc32 --lzma2=dict=1MiB`: the kernel's in-kernel xz
//     decompressor only verifies CRC32;
//   - zstd at the default level (3).
//
// The module signature is never appended again: the content changed, so the
// old signature would not verify and the kernel would reject the module as
// tampered with instead of treating it as unsigned.
func (f *File) Encode(image []byte) ([]byte, error) {
	out, err := compress(f.Compression, image)
	if err != nil {
		return nil, WithPath(f.Path, err)
	}
	return out, nil
}

// compress is Encode without the path in errors.
func compress(c Compression, image []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch c {
	case None:
		return image, nil
	case Gzip:
		zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		// `gzip -n` stores neither name nor time; the OS byte is Unix (3) as
		// gzip on Linux writes it, so the output matches a kbuild-made .ko.gz
		// in every header field.
		zw.Name = ""
		zw.OS = 3
		if _, err := zw.Write(image); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	case XZ:
		zw, err := xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 1 << 20}.NewWriter(&buf)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		if _, err := zw.Write(image); err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
	case Zstd:
		zw, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdEncoderWindow),
			zstd.WithEncoderCRC(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		out := zw.EncodeAll(image, nil)
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown compression %v", c)
	}
	return buf.Bytes(), nil
}
