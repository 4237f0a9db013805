package filter

import (
	"errors"
	"fmt"

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
	arch      abi.Arch
	drop      []string
	keep      []string
	kernel    string
	dedupOnly bool
}

// Check reports what Run or Blob would refuse in j (unknown rules, bad
// globs, an unknown architecture or kernel release, conflicting settings)
// without reading anything, so that a caller can refuse a bad setting
// before it starts other work.
func (j Judging) Check() error {
	_, err := j.compile()
	return err
}

func (j *Judging) compile() (*judging, error) {
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
		a, err := abi.ParseArch(j.Arch)
		if err != nil {
			return nil, fmt.Errorf("--arch: %w", err)
		}
		c.arch = a
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
	// DebugInfo is where DWARF comes from when an input has none: a debug
	// file, or a root searched by build-id and module path (an unpacked
	// -dbg package, /usr/lib/debug).
	DebugInfo string
}

func (o *Options) check(nfiles int) (*judging, error) {
	if nfiles == 0 {
		return nil, errors.New("no input files")
	}
	if o.Output != "" && nfiles != 1 {
		return nil, errors.New("-o/--output takes exactly one input file")
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	return o.Judging.compile()
}
