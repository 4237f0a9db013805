package filter

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"

	"github.com/btffilter/btffilter/elfio"
)

// The commit stage: what was decided and verified reaches the disk, or
// nothing does. A signed module is refused unless its signature may go; the
// new sections are written into the image, which is read back and compared;
// the image is compressed again as the file was; and the file replaces the
// old one atomically, unless someone changed the old one meanwhile.

// signaturePolicy says what becomes of f's module signature when f is
// rewritten: a warning to report, or an error when it may not be dropped.
// A dry run only warns.
func signaturePolicy(f *elfio.File, opts *Options) (warning string, err error) {
	switch {
	case f.Signature == nil:
		return "", nil
	case opts.DryRun && !opts.StripSignature:
		return "module is signed: rewriting it needs --strip-signature", nil
	case !opts.StripSignature:
		return "", errors.New("module is signed and rewriting it would break the signature (use --strip-signature to drop it)")
	}
	return "module signature stripped", nil
}

// commit writes f with the given sections replaced, to opts.Output or over
// f itself. f may not be used afterwards: its image is patched in place.
func commit(f *elfio.File, sections map[string][]byte, opts *Options) error {
	image, err := f.RewriteInPlace(sections)
	if err != nil {
		return err
	}
	if err := checkImage(f, image, sections); err != nil {
		return err
	}
	out, err := f.Encode(image)
	if err != nil {
		return err
	}
	if err := f.CheckUnchanged(); err != nil {
		return err
	}
	return write(f.Path, out, opts)
}

// commitUnchanged handles a file nothing changes: it is not rewritten, but
// -o still receives a copy. It reports whether anything was written.
func commitUnchanged(f *elfio.File, opts *Options) (bool, error) {
	if opts.Output == "" || opts.DryRun {
		return false, nil
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return false, err
	}
	if err := write(f.Path, data, opts); err != nil {
		return false, err
	}
	return true, nil
}

func write(path string, data []byte, opts *Options) error {
	if opts.Output != "" {
		return elfio.WriteAtomic(opts.Output, data)
	}
	// Root may write anything; a file without write permission is still
	// a file its owner meant to keep as it is.
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o222 == 0 {
		return errors.New("file is read-only")
	}
	return elfio.WriteAtomic(path, data)
}

// checkImage re-reads the rewritten image and compares the replaced
// sections with what was meant to be written.
func checkImage(f *elfio.File, image []byte, sections map[string][]byte) error {
	if f.Format == elfio.FormatRaw {
		if !bytes.Equal(image, sections[".BTF"]) {
			return errors.New("rewritten raw BTF differs from the encoded blob")
		}
		return nil
	}
	ef, err := elf.NewFile(bytes.NewReader(image))
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
