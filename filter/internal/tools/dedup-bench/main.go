// Command dedup-bench is the Go side of scripts/bench-dedup.sh: it builds
// the benchmark input (a kernel's vmlinux .BTF concatenated with itself) and
// times filter/internal/dedup on a raw BTF file the way dedup-oracle times libbpf.
//
//	dedup-bench -make TAG OUT   write vmlinux .BTF of kernel TAG twice over to OUT
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
	return fmt.Errorf("usage: dedup-bench -make TAG OUT | dedup-bench [-p|-i] IN [OUT]")
}

func makeInput(tag, out string) error {
	k, err := kernels.Load(tag)
	if err != nil {
		return err
	}
	f, err := elfio.Open(k.Vmlinux)
	if err != nil {
		return err
	}
	raw, err := f.BTF()
	if err != nil {
		return fmt.Errorf("%s: %w", k.Vmlinux, err)
	}
	v, err := btf.Decode(raw, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Vmlinux, err)
	}
	both, err := dedup.Concat(v, v)
	if err != nil {
		return err
	}
	return os.WriteFile(out, both.Encode(), 0o644)
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
