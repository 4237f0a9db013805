package filter

import (
	"errors"
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
// the run. f may not be used afterwards but to be closed.
func prepare(f *elfio.File, sections map[string][]byte, opts *Options) (*elfio.Pending, error) {
	dest, err := destination(f, opts)
	if err != nil {
		return nil, err
	}
	return f.PrepareRewrite(dest, sections, elfio.Durability(opts.Sync))
}

// prepareUnchanged handles a file nothing changes: it is not rewritten, but
// -o still receives a copy. It returns nil when there is nothing to write.
func prepareUnchanged(f *elfio.File, opts *Options) (*elfio.Pending, error) {
	if opts.Output == "" || opts.DryRun {
		return nil, nil
	}
	return f.PrepareCopy(opts.Output, elfio.Durability(opts.Sync))
}

// destination is where f's new version goes: -o, or f itself unless it is
// read-only. Root may write anything; a file without write permission is
// still a file its owner meant to keep as it is.
func destination(f *elfio.File, opts *Options) (string, error) {
	if opts.Output != "" {
		return opts.Output, nil
	}
	if st, err := os.Stat(f.Path); err == nil && st.Mode().Perm()&0o222 == 0 {
		return "", errors.New("file is read-only")
	}
	return f.Path, nil
}
