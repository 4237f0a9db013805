package filter

import (
	"errors"
	"fmt"

	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// Options are the settings of a run (the command line of DESIGN.md).
type Options struct {
	// Output, when set, receives the result instead of the input file
	// (one input only). It is written even when nothing changed.
	Output string
	// BaseBTF is the base of split inputs when no vmlinux is in the run:
	// a vmlinux ELF or a raw blob such as /sys/kernel/btf/vmlinux.
	BaseBTF string
	// Drop and Keep are globs over FUNC names: Drop removes, Keep protects.
	Drop, Keep []string
	// DryRun decides and checks everything but writes nothing.
	DryRun bool
	// Jobs is the number of files worked on at once (at least 1).
	Jobs int
	// StripSignature allows rewriting a signed module, dropping its
	// signature; without it a signed module that would change is refused.
	StripSignature bool
	// DedupOnly skips the rules (no DWARF is read, nothing is removed) and
	// only deduplicates the type graph. Otherwise deduplication is the last
	// step of every rewrite.
	DedupOnly bool
	// Rules is the --rules value: "" (not given), "default", "none" or a
	// list (rules.ParseSet). Not given, the default rules run unless Drop
	// is set, in which case only Drop removes.
	Rules string
	// DebugInfo is where DWARF comes from when an input has none: a debug
	// file, or a root searched by build-id and module path
	// (dwarf.FindDebugInfo).
	DebugInfo string
	// Arch names the calling convention of inputs that do not say (raw
	// BTF): x86_64, arm64, riscv64 and their aliases (abi.ParseArch).
	Arch string
	// Kernel is the kernel release (or major.minor) whose trampoline the
	// abi rule models for inputs that do not carry one (raw BTF, objects
	// without linux_banner or vermagic). Without it such inputs are judged
	// with every model of their architecture.
	Kernel string

	rules rules.Set
	arch  abi.Arch
}

func (o *Options) check(nfiles int) error {
	if nfiles == 0 {
		return errors.New("no input files")
	}
	if o.Output != "" && nfiles != 1 {
		return errors.New("-o/--output takes exactly one input file")
	}
	if o.DedupOnly && (len(o.Drop) > 0 || o.Rules != "") {
		return errors.New("--dedup-only removes nothing: it cannot be combined with --drop or --rules")
	}
	if err := rules.CheckGlobs(o.Drop); err != nil {
		return err
	}
	if err := rules.CheckGlobs(o.Keep); err != nil {
		return err
	}
	switch {
	case o.Rules != "":
		set, err := rules.ParseSet(o.Rules)
		if err != nil {
			return err
		}
		o.rules = set
	case len(o.Drop) > 0:
		o.rules = rules.Set{}
	default:
		o.rules = rules.DefaultSet()
	}
	if o.Arch != "" {
		a, err := abi.ParseArch(o.Arch)
		if err != nil {
			return fmt.Errorf("--arch: %w", err)
		}
		o.arch = a
	}
	if o.Kernel != "" {
		if _, err := abi.ParseVersion(o.Kernel); err != nil {
			return fmt.Errorf("--kernel: %w", err)
		}
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	return nil
}
