package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// probeGone checks, for every target named in list (FUNC or MODULE:FUNC,
// one a line), whether the FUNC is still in the BTF of its own object as the
// running kernel has it, and tries the fentry attach a user would make by
// name:
//
//	PROBE gone TARGET absent|present|nobtf ok
//	PROBE gone TARGET absent|present|nobtf err TEXT
//
// With noAttach (on a kernel without fentry) the attach is not tried and the
// line ends in "skip".
func probeGone(list string, cache *btf.Cache, noAttach bool) error {
	targets, err := readList(list)
	if err != nil {
		return err
	}
	for _, target := range targets {
		state := inOwnBTF(target, cache)
		fn := target
		if _, name, ok := strings.Cut(target, ":"); ok {
			fn = name
		}
		if noAttach {
			report("gone", target, state+" skip")
			continue
		}
		if err := load(fn, cache); err != nil {
			report("gone", target, state+" err "+oneLine(err.Error()))
		} else {
			report("gone", target, state+" ok")
		}
	}
	return nil
}

// inOwnBTF says whether the FUNC of target is in the BTF of vmlinux
// (FUNC) or of the module (MODULE:FUNC): "present", "absent", or "nobtf"
// when that BTF cannot be read.
func inOwnBTF(target string, cache *btf.Cache) string {
	var spec *btf.Spec
	var err error
	fn := target
	if mod, name, ok := strings.Cut(target, ":"); ok {
		fn = name
		spec, err = cache.Module(mod)
	} else {
		spec, err = cache.Kernel()
	}
	if err != nil {
		fmt.Printf("%s note gone %s: %s\n", marker, target, oneLine(err.Error()))
		return "nobtf"
	}
	var f *btf.Func
	switch err := spec.TypeByName(fn, &f); {
	case err == nil:
		return "present"
	case errors.Is(err, btf.ErrNotFound):
		return "absent"
	case errors.Is(err, btf.ErrMultipleMatches):
		return "present"
	default:
		fmt.Printf("%s note gone %s: %s\n", marker, target, oneLine(err.Error()))
		return "nobtf"
	}
}
