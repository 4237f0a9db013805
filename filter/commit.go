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
// the image is compressed again as the file was and written beside its
// target. Run puts every prepared file in place only when all of the run's
// files succeeded, each one atomically, unless someone changed the old one
// meanwhile (elfio.Pending).

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

// prepare writes f with the given sections replaced beside its target (f
// itself, or opts.Output), ready to be committed with the other files of
// the run. f may not be used afterwards: its image is patched in place.
func prepare(f *elfio.File, sections map[string][]byte, opts *Options) (*elfio.Pending, error) {
	image, err := f.RewriteInPlace(sections)
	if err != nil {
		return nil, err
	}
	if err := checkImage(f, image, sections); err != nil {
		return nil, err
	}
	out, err := f.Encode(image)
	if err != nil {
		return nil, err
	}
	return prepareWrite(f, out, opts)
}

// prepareUnchanged handles a file nothing changes: it is not rewritten, but
// -o still receives a copy. It returns nil when there is nothing to write.
func prepareUnchanged(f *elfio.File, opts *Options) (*elfio.Pending, error) {
	if opts.Output == "" || opts.DryRun {
		return nil, nil
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	return prepareWrite(f, data, opts)
}

func prepareWrite(f *elfio.File, data []byte, opts *Options) (*elfio.Pending, error) {
	if opts.Output != "" {
		return f.Prepare(opts.Output, data)
	}
	// Root may write anything; a file without write permission is still
	// a file its owner meant to keep as it is.
	if st, err := os.Stat(f.Path); err == nil && st.Mode().Perm()&0o222 == 0 {
		return nil, errors.New("file is read-only")
	}
	return f.Prepare(f.Path, data)
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
