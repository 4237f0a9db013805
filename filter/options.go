package filter

import (
	"errors"

	"btffilter/filter/rules"
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
}

func (o *Options) check(nfiles int) error {
	if nfiles == 0 {
		return errors.New("no input files")
	}
	if o.Output != "" && nfiles != 1 {
		return errors.New("-o/--output takes exactly one input file")
	}
	if err := rules.CheckGlobs(o.Drop); err != nil {
		return err
	}
	if err := rules.CheckGlobs(o.Keep); err != nil {
		return err
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	return nil
}
