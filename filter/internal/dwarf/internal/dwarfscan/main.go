// Command dwarfscan scans the DWARF of one ELF file with package
// btffilter/filter/internal/dwarf and prints counts, wall time and peak RSS: the
// measurement tool for the scanner's speed and memory.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

func main() {
	workers := flag.Int("j", 2, "workers")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: dwarfscan [-j N] FILE")
		os.Exit(2)
	}
	start := time.Now()
	d, err := dwarf.Open(flag.Arg(0), dwarf.Options{Workers: *workers})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wall := time.Since(start)
	var funcs, defs, decls, params, located int
	for i := range d.Funcs {
		f := &d.Funcs[i]
		funcs++
		if f.Declaration {
			decls++
		} else if f.HasPC {
			defs++
		}
		params += len(f.Params)
		for _, p := range f.Params {
			if p.Loc.Kind != dwarf.LocNone {
				located++
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("units %d subprograms %d (with code %d, declarations %d) parameters %d (with location %d) unsupported %d\n",
		len(d.Units), funcs, defs, decls, params, located, d.Unsupported)
	fmt.Printf("wall %.2fs peak RSS %d MB heap in use %d MB\n", wall.Seconds(), ru.Maxrss/1024, ms.HeapInuse>>20)
	runtime.KeepAlive(d)
}
