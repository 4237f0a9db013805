package filter

import (
	"errors"
	"fmt"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// Judging says how a blob's functions are judged: the rules, the names
// forced out or in, and what to assume where the input does not say. Both
// Options (files) and BlobOptions (one blob in memory) hold one.
type Judging struct {
	// Rules is the --rules value: "" (not given), "default", "none" or a
	// list of rule names, each optionally +name or -name to adjust the
	// default set. Not given, the default rules run unless Drop is set, in
	// which case only Drop removes. The rules are described in
	// docs/rules.md.
	Rules string
	// Drop and Keep are shell globs over FUNC names: Drop removes, Keep
	// protects.
	Drop, Keep []string
	// Arch names the calling convention of inputs that do not say (raw
	// BTF): x86_64, arm64, riscv64 and their aliases. It may not
	// contradict an ELF file's machine.
	Arch string
	// Kernel is the kernel release (or major.minor) whose trampoline the
	// abi rule models for inputs that do not carry one (raw BTF, objects
	// without linux_banner or vermagic). Without it such inputs are judged
	// with every model of their architecture.
	Kernel string
	// DedupOnly skips the rules (no DWARF is read, nothing is removed) and
	// only deduplicates the type graph. Otherwise deduplication is the last
	// step of every rewrite.
	DedupOnly bool
}

// judging is a Judging checked and parsed.
type judging struct {
	rules     rules.Set
	arch      string   // --arch, as elfio.File.Arch names it; "" when not given
	model     abi.Arch // its calling-convention model, UnknownArch when it has none
	drop      []string
	keep      []string
	kernel    string
	dedupOnly bool
}

// UsageError is a bad command line value: an option that makes no sense,
// or a combination that does not. The command exits 2 for it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ErrContradiction marks a file's error that is not the file's fault but a
// value of the command line the file contradicts: an --arch other than the
// file's, a base the module was not built on. The file is refused, not
// judged as the command line says, and the command exits 2.
var ErrContradiction = errors.New("the command line contradicts the file")

// contradiction is an error of ErrContradiction, reading as err.
type contradiction struct{ err error }

func (c *contradiction) Error() string        { return c.err.Error() }
func (c *contradiction) Unwrap() error        { return c.err }
func (c *contradiction) Is(target error) bool { return target == ErrContradiction }

// Check reports what Run or Blob would refuse in j (unknown rules, bad
// globs, an unknown architecture or kernel release, conflicting settings)
// without reading anything, so that a caller can refuse a bad setting
// before it starts other work.
func (j Judging) Check() error {
	_, err := j.compile()
	return err
}

func (j *Judging) compile() (*judging, error) {
	c, err := j.parse()
	if err != nil {
		return nil, &UsageError{err}
	}
	return c, nil
}

func (j *Judging) parse() (*judging, error) {
	if j.DedupOnly && (len(j.Drop) > 0 || j.Rules != "") {
		return nil, errors.New("--dedup-only removes nothing: it cannot be combined with --drop or --rules")
	}
	if err := rules.CheckGlobs(j.Drop); err != nil {
		return nil, err
	}
	if err := rules.CheckGlobs(j.Keep); err != nil {
		return nil, err
	}
	c := &judging{drop: j.Drop, keep: j.Keep, kernel: j.Kernel, dedupOnly: j.DedupOnly}
	switch {
	case j.Rules != "":
		set, err := rules.ParseSet(j.Rules)
		if err != nil {
			return nil, err
		}
		c.rules = set
	case len(j.Drop) > 0:
		c.rules = rules.Set{}
	default:
		c.rules = rules.DefaultSet()
	}
	if j.Arch != "" {
		a, ok := elfio.CanonicalArch(j.Arch)
		if !ok {
			return nil, fmt.Errorf("--arch: unknown architecture %q (x86_64, arm64, riscv64, s390x, ppc64le, loongarch64, i386, arm, ... or a Debian or GNU spelling of one)", j.Arch)
		}
		c.arch = a
		c.model, _ = abi.ParseArch(a)
	}
	if j.Kernel != "" {
		if _, err := abi.ParseVersion(j.Kernel); err != nil {
			return nil, fmt.Errorf("--kernel: %w", err)
		}
	}
	return c, nil
}

// Options are the settings of a run over files (the command line, described
// in docs/cli.md).
type Options struct {
	Judging
	// Output, when set, receives the result instead of the input file
	// (one input only). It is written even when nothing changed.
	Output string
	// BaseBTF is the base of split inputs when no vmlinux is in the run:
	// a vmlinux ELF or a raw blob such as /sys/kernel/btf/vmlinux.
	BaseBTF string
	// DryRun decides and checks everything but writes nothing.
	DryRun bool
	// Jobs is the number of files worked on at once (at least 1), and of
	// goroutines scanning one file's DWARF.
	Jobs int
	// StripSignature allows rewriting a signed module, dropping its
	// signature; without it a signed module that would change is refused.
	StripSignature bool
	// Sync makes every replaced file durable before the run ends: each new
	// version is fsynced before it is renamed over the old one, and its
	// directory after. Without it (the default, as for objcopy, strip or
	// pahole) the file system writes them back in its own time; the
	// replacement is atomic either way.
	Sync bool
	// DebugInfo is where DWARF comes from when an input has none: a debug
	// file, or a root searched by build-id and module path (an unpacked
	// -dbg package, /usr/lib/debug).
	DebugInfo string
	// Check predicts, for each module, whether the kernel will accept its
	// BTF at load time against its base (acceptance.go), and writes
	// nothing; no rule runs.
	Check bool
	// Progress, when set, is called after each file is processed with how
	// many of the run's files are done; calls do not overlap.
	Progress func(done, total int)
}

func (o *Options) check(nfiles int) (*judging, error) {
	if nfiles == 0 {
		return nil, &UsageError{errors.New("no input files")}
	}
	if o.Output != "" && nfiles != 1 {
		return nil, &UsageError{errors.New("-o/--output takes exactly one input file")}
	}
	if o.Check && (o.Output != "" || o.DedupOnly || o.Rules != "" || len(o.Drop) > 0 || len(o.Keep) > 0 || o.StripSignature) {
		return nil, &UsageError{errors.New("--check only predicts what the kernel does with the files as they are: it takes no -o, --dedup-only, --rules, --drop, --keep or --strip-signature")}
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	return o.Judging.compile()
}
