package rules

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// TestEntryLocations compares, on the fixture objects of testdata/abi, the
// register each parameter arrives in by its DWARF entry location (as this
// package reads it through filter/internal/dwarf) with abi.Locate on the layouts
// argOf builds: the same conversion the abi and signature rules use.
func TestEntryLocations(t *testing.T) {
	known := map[string]string{
		"x86_64-clang.o u128_p5 x": "clang < 18 splits an __int128 between r9 and the stack (docs/facts.md §3)",
	}
	total := 0
	for _, fx := range []struct {
		file string
		arch abi.Arch
	}{
		{"x86_64-gcc.o", abi.X86_64}, {"x86_64-clang.o", abi.X86_64},
		{"aarch64-gcc.o", abi.ARM64}, {"aarch64-clang.o", abi.ARM64},
		{"s390x-gcc.o", abi.S390X}, {"s390x-clang.o", abi.S390X},
		{"ppc64le-gcc.o", abi.PPC64LE}, {"ppc64le-clang.o", abi.PPC64LE},
		{"riscv64-gcc.o", abi.RISCV64}, {"riscv64-clang.o", abi.RISCV64},
		{"loongarch64-gcc.o", abi.LOONGARCH64},
	} {
		d, err := dwarf.Open(filepath.Join("..", "..", "..", "testdata", "abi", fx.file), dwarf.Options{})
		if err != nil {
			t.Fatalf("%v (run scripts/build-abi-fixtures.sh)", err)
		}
		c := newJudge(Input{DWARF: d, Arch: fx.arch})
		compared, funcs := 0, 0
		for i := range d.Funcs {
			f := &d.Funcs[i]
			if !f.HasPC || f.Declaration {
				continue
			}
			fn, err := c.abiFunc(f)
			if err != nil {
				t.Errorf("%s %s: %v", fx.file, f.Name, err)
				continue
			}
			params := fn.Params
			if abi.ReturnsInMemory(fx.arch, fn.Return) {
				params = append([]abi.Arg{{Class: abi.Pointer, Size: 8, Align: 8}}, params...)
			}
			locs, err := abi.Locate(fx.arch, params)
			if err != nil {
				t.Errorf("%s %s: %v", fx.file, f.Name, err)
				continue
			}
			locs = locs[len(params)-len(fn.Params):]
			funcs++
			decl, inst, _ := c.entryParams(f)
			for j, p := range inst {
				if p == nil || locs[j].ByRef {
					continue
				}
				var regs []int // DWARF register per 8-byte slot, -1 unknown
				switch p.Loc.Kind {
				case dwarf.LocReg:
					// A whole multi-slot value "in one register" is how
					// compilers describe the first of a pair: compare
					// single-slot values only.
					if len(locs[j].Slots) == 1 {
						regs = []int{p.Loc.Reg}
					}
				case dwarf.LocPieces:
					pos := int64(0)
					for _, pc := range p.Loc.Pieces {
						if pos%8 == 0 && pc.Kind == dwarf.LocReg {
							for len(regs) < int(pos/8) {
								regs = append(regs, -1)
							}
							regs = append(regs, pc.Reg)
						}
						pos += pc.Size
					}
				}
				if len(regs) == 0 {
					continue
				}
				key := fmt.Sprintf("%s %s %s", fx.file, f.Name, decl[j].Name)
				ok := true
				for k, r := range regs {
					if r < 0 {
						continue
					}
					ok = ok && k < len(locs[j].Slots) && locs[j].Slots[k].Reg == r
				}
				compared++
				switch why, isKnown := known[key]; {
				case ok && isKnown:
					t.Errorf("%s: listed as a known difference but agrees", key)
				case !ok && isKnown:
					t.Logf("%s: differs as known: %s", key, why)
				case !ok:
					t.Errorf("%s: DWARF entry registers %v, abi.Locate %s", key, regs, locs[j].Format(fx.arch))
				}
			}
		}
		t.Logf("%s: %d functions, %d register entry locations compared with abi.Locate", fx.file, funcs, compared)
		if compared < 50 {
			t.Errorf("%s: only %d entry locations compared", fx.file, compared)
		}
		total += compared
	}
	t.Logf("%d entry locations compared in all", total)
}
