package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// compareBuilds measures two btffilter binaries, the reference oldBin and
// newBin, on the -n run of each kernel's vmlinux, alternately, and prints
// each side's medians and their ratio.
func (b *bench) compareBuilds(oldBin, newBin string) error {
	w := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "case\tside\tmedian wall s\tmedian peak RSS MiB\t")
	for _, tag := range b.tags {
		k, err := kernels.Load(tag)
		if err != nil {
			return err
		}
		jobs := []job{
			{name: "old", argv: []string{oldBin, "-n", k.Vmlinux}},
			{name: "new", argv: []string{newBin, "-n", k.Vmlinux}},
		}
		s, err := b.r.alternate(jobs, b.runs, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", tag, err)
		}
		o, n := medianSample(s[0]), medianSample(s[1])
		name := tag + " vmlinux -n"
		fmt.Fprintf(w, "%s\told\t%.2f\t%.0f\t\n", name, o.seconds(), o.rssMiB())
		fmt.Fprintf(w, "\tnew\t%.2f\t%.0f\t\n", n.seconds(), n.rssMiB())
		fmt.Fprintf(w, "\tratio\t%.2fx\t%.2fx\t\n", n.seconds()/o.seconds(), n.rssMiB()/o.rssMiB())
	}
	return w.Flush()
}
