package rules

import (
	"debug/elf"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// Each rule alone on the real 6.1 amd64 vmlinux, one worker: what it costs
// to judge every FUNC of a kernel (the BTF decoded and the DWARF scanned
// once, outside the timing).

var vmlinuxInput = sync.OnceValues(func() (Input, error) {
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		return Input{}, err
	}
	f, err := elfio.Open(k.Vmlinux)
	if err != nil {
		return Input{}, err
	}
	raw, err := f.BTF()
	if err != nil {
		return Input{}, err
	}
	spec, err := btf.Decode(raw, nil)
	if err != nil {
		return Input{}, err
	}
	d, err := dwarf.Scan(f.ELF, f.Data, dwarf.Options{Workers: 2, Want: WantedDWARF(spec)})
	if err != nil {
		return Input{}, err
	}
	syms, err := f.Symbols()
	if err != nil {
		return Input{}, err
	}
	var fsyms []Symbol
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF && s.Section < elf.SHN_LORESERVE {
			fsyms = append(fsyms, Symbol{Name: s.Name, Section: int(s.Section), Value: s.Value})
		}
	}
	return Input{Spec: spec, DWARF: d, Symbols: fsyms, Arch: abi.X86_64, ArchName: "x86_64",
		Version: abi.Version{Major: 6, Minor: 1}, Workers: 1}, nil
})

func benchRule(b *testing.B, rule string) {
	if testing.Short() {
		b.Skip("real kernels are not read in -short mode")
	}
	in, err := vmlinuxInput()
	if err != nil {
		b.Fatal(err)
	}
	if in.Rules, err = ParseSet(rule); err != nil {
		b.Fatal(err)
	}
	var d *Decision
	for b.Loop() {
		if d, err = Decide(in); err != nil {
			b.Fatal(err)
		}
	}
	// The rule judged (nearly) every FUNC: what it could not judge is
	// counted in the warnings.
	funcs, unjudged := 0, 0
	for i := range in.Spec.Types {
		if in.Spec.Types[i].Kind() == btf.KindFunc {
			funcs++
		}
	}
	for _, w := range d.Warnings {
		if m := unjudgedRE.FindStringSubmatch(w); m != nil && m[1] == rule {
			n, _ := strconv.Atoi(m[2])
			unjudged += n
		}
	}
	if funcs == 0 || unjudged > funcs/10 {
		b.Fatalf("rule %s could not judge %d of %d FUNCs: %q", rule, unjudged, funcs, d.Warnings)
	}
	b.ReportMetric(float64(funcs-unjudged), "judged")
	b.ReportMetric(float64(len(d.Remove)), "removed")
}

var unjudgedRE = regexp.MustCompile(`^rule (\w+) could not judge (\d+) function`)

func BenchmarkRuleABI(b *testing.B)        { benchRule(b, RuleABI) }
func BenchmarkRuleSignature(b *testing.B)  { benchRule(b, RuleSignature) }
func BenchmarkRuleConsistent(b *testing.B) { benchRule(b, RuleConsistent) }
func BenchmarkRuleAmbiguous(b *testing.B)  { benchRule(b, RuleAmbiguous) }
