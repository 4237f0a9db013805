package elfio

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncode opens a signed module in every compression, rewrites its .BTF
// and encodes the image: the real tools must decompress the result to the
// image exactly, the signature must not come back, and the container must
// carry kbuild's settings (docs/facts.md §8).
func TestEncode(t *testing.T) {
	body := fixture(t, "rel-bpfel.o")
	content, _ := signed(body, 300)
	for _, c := range []Compression{None, Gzip, XZ, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			disk := content
			if c != None {
				disk = compressCLI(t, c, content)
			}
			f := mustParse(t, "m.ko", disk)
			img, err := f.Rewrite(map[string][]byte{".BTF": pattern(500, 7)})
			if err != nil {
				t.Fatal(err)
			}
			enc, err := f.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			plain := enc
			if c != None {
				plain = decompressCLI(t, c, enc)
			}
			if !bytes.Equal(plain, img) {
				t.Fatalf("decoded output (%d bytes) differs from the image (%d bytes)", len(plain), len(img))
			}
			if bytes.Contains(enc, []byte(moduleSigMagic)) || bytes.Contains(plain, []byte(moduleSigMagic)) {
				t.Fatal("the stale signature was written back")
			}
			again := mustParse(t, "m.ko", enc)
			if again.Compression != c || !bytes.Equal(again.Data, img) || again.Signature != nil {
				t.Fatalf("re-open: compression %v, %d bytes, signature %d bytes", again.Compression, len(again.Data), len(again.Signature))
			}
			switch c {
			case Gzip:
				checkGzipHeader(t, enc)
			case XZ:
				checkXZList(t, enc)
			case Zstd:
				checkZstdFrame(t, enc)
			}
		})
	}
}

// checkGzipHeader: `gzip -n` writes no FNAME and a zero MTIME (RFC 1952 2.3).
func checkGzipHeader(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 10 || b[2] != 8 {
		t.Fatalf("not a deflate gzip member: % x", b[:min(len(b), 10)])
	}
	if flg := b[3]; flg != 0 {
		t.Errorf("FLG = %#x, want 0 (no name, comment or extra field)", flg)
	}
	if mtime := binary.LittleEndian.Uint32(b[4:]); mtime != 0 {
		t.Errorf("MTIME = %d, want 0", mtime)
	}
	if b[9] != 3 {
		t.Errorf("OS = %d, want 3 (Unix)", b[9])
	}
}

// checkXZList asks xz itself about the container: the kernel's decompressor
// needs CRC32 checks and a dictionary it can allocate (1 MiB).
func checkXZList(t *testing.T, b []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.ko.xz")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xz", "--list", "--robot", "-vv", path).Output()
	if err != nil {
		t.Fatalf("xz --list: %v (install xz-utils)", err)
	}
	var checks, streams int
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Split(line, "\t")
		switch fields[0] {
		case "stream":
			streams++
			// stream, number, blocks, compressed offset, uncompressed offset,
			// compressed size, uncompressed size, ratio, check, padding.
			if len(fields) < 9 || fields[8] != "CRC32" {
				t.Errorf("stream check is not CRC32: %q", line)
			} else {
				checks++
			}
		case "block":
			// With -vv the last field is the filter chain.
			if chain := fields[len(fields)-1]; chain != "--lzma2=dict=1MiB" {
				t.Errorf("block filter chain %q, want --lzma2=dict=1MiB", chain)
			}
		}
	}
	if streams == 0 || checks != streams {
		t.Fatalf("xz --list --robot reported no CRC32 stream:\n%s", out)
	}
}

// checkZstdFrame: one zstd frame with a content checksum, as `zstd` writes.
func checkZstdFrame(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 5 {
		t.Fatal("zstd output too short")
	}
	// Frame_Header_Descriptor bit 2 is Content_Checksum_flag (RFC 8878 3.1.1.1.1).
	if b[4]&0x04 == 0 {
		t.Errorf("frame has no content checksum (descriptor %#x)", b[4])
	}
}

// TestEncodeRaw: a raw blob is written as is.
func TestEncodeRaw(t *testing.T) {
	f := mustParse(t, "btf-be.bin", fixture(t, "btf-be.bin"))
	nb := pattern(64, 2)
	out, err := f.Encode(nb)
	if err != nil || !bytes.Equal(out, nb) {
		t.Fatalf("Encode = %d bytes, %v", len(out), err)
	}
	bad := &File{Path: "x.ko", Compression: Compression(42)}
	if _, err := bad.Encode(nb); err == nil || !strings.HasPrefix(err.Error(), "x.ko: ") {
		t.Fatalf("Encode with an unknown compression: err = %v", err)
	}
}
