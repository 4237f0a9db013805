// Command dedup-bench is the Go side of scripts/bench-dedup.sh: it builds
// the benchmark input (a kernel's vmlinux .BTF concatenated with itself) and
// times filter/dedup on a raw BTF file the way dedup-oracle times libbpf.
//
//	dedup-bench -make TAG OUT   write vmlinux .BTF of kernel TAG twice over to OUT
//	dedup-bench IN OUT          dedup raw BTF IN, write OUT, print "dedup_ns N types_in N types_out N"
//
// dedup_ns covers dedup.Dedup alone: decoding and I/O are excluded.
package main

import (
	"fmt"
	"os"
	"time"

	"btffilter/elfio"
	"btffilter/filter/btf"
	"btffilter/filter/dedup"
	"btffilter/scripts/kernels"
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
	case len(args) == 2:
		return timeDedup(args[0], args[1])
	}
	return fmt.Errorf("usage: dedup-bench -make TAG OUT | dedup-bench IN OUT")
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

func timeDedup(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s, err := btf.Decode(raw, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	raw = nil
	t0 := time.Now()
	res, err := dedup.Dedup(s, dedup.Options{})
	ns := time.Since(t0).Nanoseconds()
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := os.WriteFile(out, res.Spec.Encode(), 0o644); err != nil {
		return err
	}
	fmt.Printf("dedup_ns %d types_in %d types_out %d\n", ns, len(s.Types)+1, len(res.Spec.Types)+1)
	return nil
}
