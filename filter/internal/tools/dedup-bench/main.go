// Command dedup-bench builds the deduplication benchmark's inputs for
// scripts/bench (raw BTF with real duplicates), and times filter/internal/dedup
// on a raw BTF file the way dedup-oracle times libbpf.
//
//	dedup-bench -make TAG OUT   write vmlinux .BTF of kernel TAG twice over to OUT
//	dedup-bench -make-modules TAG N OUT
//	                            write N modules of kernel TAG, each made
//	                            standalone (its split BTF with the base types
//	                            it uses), concatenated, to OUT
//	dedup-bench [-p|-i] IN [OUT]  dedup raw BTF IN, write OUT when given, print
//	                              "dedup_ns N types_in N types_out N alloc_bytes N"
//
// dedup_ns covers dedup.Dedup alone: decoding and I/O are excluded;
// alloc_bytes is what dedup.Dedup allocated on the heap in all. Without OUT
// the process only decodes and dedups, so that its peak memory is that of
// those two steps; -p only decodes (the baseline for the dedup's growth);
// -i dedups with dedup.Options.InPlace, rewriting the decoded types as
// libbpf's btf__dedup rewrites its own. All match what dedup-oracle does on
// the libbpf side.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/dedup"
	"github.com/btffilter/btffilter/scripts/kernels"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dedup-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "-make":
		return makeInput(args[1], args[2])
	case len(args) == 4 && args[0] == "-make-modules":
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 1 {
			return fmt.Errorf("-make-modules: %q is not a module count", args[2])
		}
		return makeModules(args[1], n, args[3])
	}
	mode := ""
	if len(args) > 0 && (args[0] == "-p" || args[0] == "-i") {
		mode, args = args[0], args[1:]
	}
	switch len(args) {
	case 1:
		return timeDedup(args[0], "", mode)
	case 2:
		return timeDedup(args[0], args[1], mode)
	}
	return fmt.Errorf("usage: dedup-bench -make TAG OUT | dedup-bench -make-modules TAG N OUT | dedup-bench [-p|-i] IN [OUT]")
}

func makeInput(tag, out string) error {
	k, err := kernels.Load(tag)
	if err != nil {
		return err
	}
	v, err := loadBTF(k.Vmlinux, nil)
	if err != nil {
		return err
	}
	both, err := dedup.Concat(v, v)
	if err != nil {
		return err
	}
	return os.WriteFile(out, both.Encode(), 0o644)
}

// makeModules concatenates n shipped modules of kernel tag, each made
// standalone so that the base types they share are repeated as a linker
// would repeat them. The modules are taken one from each of n equal strides
// of the sorted list, from the middle of the stride (the choice of the
// dedup package's real-kernel tests), so the same kernel always gives the
// same input.
func makeModules(tag string, n int, out string) error {
	k, err := kernels.Load(tag)
	if err != nil {
		return err
	}
	mods, err := k.ModuleFiles()
	if err != nil {
		return err
	}
	if len(mods) < n {
		return fmt.Errorf("%s: only %d modules, %d asked for", k.Modules, len(mods), n)
	}
	v, err := loadBTF(k.Vmlinux, nil)
	if err != nil {
		return err
	}
	step := len(mods) / n
	alone := make([]*btf.Spec, 0, n)
	for i := range n {
		path := mods[i*step+step/2]
		m, err := loadBTF(path, v)
		if err != nil {
			return err
		}
		s, err := dedup.Standalone(m)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		alone = append(alone, s)
	}
	all, err := dedup.Concat(alone...)
	if err != nil {
		return err
	}
	return os.WriteFile(out, all.Encode(), 0o644)
}

// loadBTF decodes the .BTF of the file at path, split on base when base is
// not nil. The file stays mapped: the decoded spec may point into it.
func loadBTF(path string, base *btf.Spec) (*btf.Spec, error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, err
	}
	raw, err := f.BTF()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := btf.Decode(raw, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func timeDedup(in, out, mode string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s, err := btf.Decode(raw, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	raw = nil
	n := len(s.Types) + 1
	if mode == "-p" {
		fmt.Printf("dedup_ns 0 types_in %d types_out %d alloc_bytes 0\n", n, n)
		return nil
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	res, err := dedup.Dedup(s, dedup.Options{InPlace: mode == "-i"})
	ns := time.Since(t0).Nanoseconds()
	runtime.ReadMemStats(&m1)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if out != "" {
		if err := os.WriteFile(out, res.Spec.Encode(), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("dedup_ns %d types_in %d types_out %d alloc_bytes %d\n", ns, n, len(res.Spec.Types)+1, m1.TotalAlloc-m0.TotalAlloc)
	return nil
}
