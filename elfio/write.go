package elfio

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// Writing a new version of a file: the rewritten sections go in, the rest
// stays as it was, and what was written is read back before anyone may
// commit it.

// PrepareRewrite prepares (Prepare) the version of f whose named sections
// are replaced (Rewrite) at dest. For an uncompressed ELF file the new
// version is made from the file itself: it is cloned where the file
// system shares blocks, else written from the old file's pages by direct
// I/O or copied by the kernel (copy.go), and only the replaced sections
// and the section header table are written over it, so a vmlinux of
// several hundred megabytes is never copied through the process's memory.
// Either way the new file's replaced sections are read back and compared
// before PrepareRewrite returns. f may not be used afterwards but
// to Close it: its image may have been patched in place.
func (f *File) PrepareRewrite(dest string, sections map[string][]byte, sync Durability) (*Pending, error) {
	if f.Format == FormatRaw || f.Compression != None || f.stat == nil {
		image, err := f.RewriteInPlace(sections)
		if err != nil {
			return nil, err
		}
		if err := verifyImage(f.Format, bytes.NewReader(image), sections); err != nil {
			return nil, WithPath(f.Path, err)
		}
		out, err := f.Encode(image)
		if err != nil {
			return nil, err
		}
		return f.Prepare(dest, out, sync)
	}
	pl, err := f.planRewrite(sections)
	if err != nil {
		return nil, WithPath(f.Path, err)
	}
	return f.prepareFromFile(dest, sync, int64(len(f.Data)), func(tmp *os.File) error {
		for _, w := range pl.writes {
			if _, err := tmp.WriteAt(w.data, int64(w.off)); err != nil {
				return err
			}
		}
		if err := tmp.Truncate(int64(pl.size)); err != nil {
			return err
		}
		return verifyImage(f.Format, io.NewSectionReader(tmp, 0, int64(pl.size)), sections)
	})
}

// PrepareCopy prepares a copy of the file as it is on disk at dest, made
// the way a rewrite makes its unchanged bytes (copy.go).
func (f *File) PrepareCopy(dest string, sync Durability) (*Pending, error) {
	if f.stat == nil {
		return nil, WithPath(f.Path, errors.New("internal error: PrepareCopy of a file not opened from disk"))
	}
	return f.prepareFromFile(dest, sync, f.stat.Size(), func(*os.File) error { return nil })
}

// prepareFromFile prepares a new version at dest made of the first size
// bytes of the file on disk (copyBody), then changed by patch.
func (f *File) prepareFromFile(dest string, sync Durability, size int64, patch func(*os.File) error) (*Pending, error) {
	var way copyWay
	p, err := f.prepare(dest, sync, func(tmp *os.File) error {
		var err error
		if way, err = f.copyBody(tmp, size); err != nil {
			return err
		}
		return patch(tmp)
	})
	if err != nil {
		return nil, err
	}
	p.copied = way
	return p, nil
}

// reopen opens the file Open read, refusing another one in its place.
func (f *File) reopen() (*os.File, error) {
	src, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	st, err := src.Stat()
	if err != nil || !os.SameFile(st, f.stat) || st.Size() != f.stat.Size() {
		src.Close()
		return nil, WithPath(f.Path, ErrChanged)
	}
	return src, nil
}

// verifyImage re-reads a rewritten image and compares the replaced
// sections with what was meant to be written.
func verifyImage(format Format, r io.ReaderAt, sections map[string][]byte) error {
	if format == FormatRaw {
		if !sameBytes(r, sections[".BTF"]) {
			return errors.New("rewritten raw BTF differs from the encoded blob")
		}
		return nil
	}
	ef, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("rewritten ELF does not parse: %w", err)
	}
	for name, want := range sections {
		sec := ef.Section(name)
		if sec == nil {
			return fmt.Errorf("rewritten ELF lost section %s", name)
		}
		got, err := sec.Data()
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("rewritten ELF section %s does not read back", name)
		}
	}
	return nil
}

// sameBytes reports whether r holds exactly want, reading it a block at a
// time: the image is not copied whole to be compared.
func sameBytes(r io.ReaderAt, want []byte) bool {
	buf := make([]byte, min(len(want)+1, 64<<10))
	for off := 0; ; {
		n, _ := r.ReadAt(buf, int64(off))
		if n > len(want)-off || !bytes.Equal(buf[:n], want[off:off+n]) {
			return false
		}
		off += n
		if n < len(buf) {
			return off == len(want)
		}
	}
}
