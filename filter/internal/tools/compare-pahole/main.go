// Command compare-pahole compares the functions pahole skips (its --verbose
// lines "NAME : skipping BTF encoding of function due to REASON") with the
// functions btffilter removes from the same vmlinux (its --json report), for
// pahole's signature, consistency and ambiguity reasons, and explains each
// function pahole skips that btffilter keeps, from the file's DWARF and
// symbols. Used by scripts/compare-pahole.sh.
//
// Usage: compare-pahole PAHOLE_VERBOSE_OUTPUT BTFFILTER_JSON VMLINUX
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// classes maps pahole's reasons to a class; pahole 1.32 prints the details
// of an inconsistent prototype (count/type/return mismatch) on lines of
// their own, before "inconsistet prototype".
func class(reason string) string {
	switch {
	case reason == "ambiguous address":
		return "ambiguous address"
	case reason == "optimized parameters":
		return "optimized parameters"
	case reason == "reordered parameters":
		return "reordered parameters"
	case reason == "unexpected register usage for parameter":
		return "unexpected register"
	case reason == "uncertain parameter location":
		return "uncertain parameter location (packing: the abi rule's business)"
	case strings.HasPrefix(reason, "inconsistet prototype"), strings.Contains(reason, "mismatch"):
		return "inconsistent prototype"
	}
	return ""
}

// precedence is pahole's: the last reason it tests wins.
var precedence = []string{"ambiguous address", "optimized parameters", "reordered parameters",
	"uncertain parameter location (packing: the abi rule's business)", "inconsistent prototype", "unexpected register"}

var line = regexp.MustCompile(`^(\S+) : skipping BTF encoding of function due to (.*)$`)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: compare-pahole PAHOLE_VERBOSE_OUTPUT BTFFILTER_JSON VMLINUX")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "compare-pahole:", err)
		os.Exit(1)
	}
}

func run(paholeOut, reportPath, vmlinux string) error {
	skipped := map[string]map[string]bool{}
	pf, err := os.Open(paholeOut)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(pf)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if c := class(m[2]); c != "" {
			if skipped[m[1]] == nil {
				skipped[m[1]] = map[string]bool{}
			}
			skipped[m[1]][c] = true
		}
	}
	pf.Close()
	var rep filter.Report
	data, err := os.ReadFile(reportPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Files) != 1 {
		return fmt.Errorf("%s: not a one-file btffilter report: %w", reportPath, err)
	}
	removed := map[string]string{}
	for _, r := range rep.Files[0].Removed {
		removed[r.Name] = r.Rule
	}
	f, err := elfio.Open(vmlinux)
	if err != nil {
		return err
	}
	raw, err := f.BTF()
	if err != nil {
		return err
	}
	spec, err := btf.Decode(raw, nil)
	if err != nil {
		return err
	}
	inBTF := map[string]bool{}
	for i := range spec.Types {
		if t := &spec.Types[i]; t.Kind() == btf.KindFunc {
			inBTF[spec.Name(t)] = true
		}
	}
	d, err := dwarf.Scan(f.ELF, f.Data, dwarf.Options{})
	if err != nil {
		return err
	}
	ex := newExplainer(f, d)

	type tally struct {
		total, notInBTF, removed int
		byRule, kept             map[string]int
		keptNames                map[string][]string
	}
	tallies := map[string]*tally{}
	var names []string
	for n := range skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	agree, judged, unexplained := 0, 0, 0
	for _, n := range names {
		c := ""
		for _, p := range precedence {
			if skipped[n][p] {
				c = p
			}
		}
		if c == "ambiguous address" || skipped[n]["ambiguous address"] {
			c = "ambiguous address"
		}
		t := tallies[c]
		if t == nil {
			t = &tally{byRule: map[string]int{}, kept: map[string]int{}, keptNames: map[string][]string{}}
			tallies[c] = t
		}
		t.total++
		switch rule, ok := removed[n]; {
		case !inBTF[n]:
			t.notInBTF++
		case ok:
			t.removed++
			t.byRule[rule]++
			agree++
			judged++
		default:
			judged++
			why := ex.explain(n, c)
			if why == "unexplained" {
				unexplained++
			}
			t.kept[why]++
			t.keptNames[why] = append(t.keptNames[why], n)
		}
	}
	fmt.Printf("pahole skips %d functions for signature, consistency or ambiguity reasons\n", len(names))
	for _, c := range precedence {
		t := tallies[c]
		if t == nil {
			continue
		}
		fmt.Printf("\n%s: %d skipped by pahole, %d not in the input BTF (its older pahole skipped them too), %d removed by btffilter %v\n",
			c, t.total, t.notInBTF, t.removed, t.byRule)
		var whys []string
		for w := range t.kept {
			whys = append(whys, w)
		}
		sort.Strings(whys)
		for _, w := range whys {
			fmt.Printf("  kept by btffilter, %d: %s\n    %s\n", t.kept[w], w, strings.Join(t.keptNames[w], " "))
		}
	}
	extra := 0
	for n := range removed {
		if skipped[n] == nil {
			extra++
		}
	}
	fmt.Printf("\nagreement: btffilter removes %d of the %d such functions present in the input BTF (%.1f%%)\n",
		agree, judged, 100*float64(agree)/float64(max(judged, 1)))
	fmt.Printf("of the %d kept, %d have no explanation above\n", judged-agree, unexplained)
	fmt.Printf("btffilter removes %d function names pahole keeps\n", extra)
	return nil
}

// explainer finds why btffilter keeps a function pahole skips. Its causes
// are the ones the rules once left to pahole on purpose (the attached code
// is fine); the default rules now remove these too, so a function kept for
// one of them means a rule no longer covers pahole's decision.
type explainer struct {
	d      *dwarf.Data
	byName map[string][]*dwarf.Func
	syms   map[uint64][]string // symbol names by address
}

func newExplainer(f *elfio.File, d *dwarf.Data) *explainer {
	e := &explainer{d: d, byName: map[string][]*dwarf.Func{}, syms: map[uint64][]string{}}
	for i := range d.Funcs {
		fn := &d.Funcs[i]
		if fn.HasPC && !fn.Declaration {
			e.byName[fn.Name] = append(e.byName[fn.Name], fn)
		}
	}
	if syms, err := f.Symbols(); err == nil {
		for _, s := range syms {
			e.syms[s.Value] = append(e.syms[s.Value], s.Name)
		}
	}
	return e
}

func (e *explainer) explain(name, class string) string {
	code := e.byName[name]
	switch class {
	case "inconsistent prototype":
		if len(code) == 1 {
			return "one function of that name has code; the namesakes pahole compares it with are inlined everywhere (no code to attach to), and the BTF prototype matches the one with code"
		}
	case "unexpected register":
		for _, fn := range code {
			r := fn
			if o, ok := e.d.FuncAt(fn.Origin); fn.Origin != 0 && ok {
				r = o
			}
			if t := r.Return; t != nil && (t.Kind == dwarf.KindStruct || t.Kind == dwarf.KindUnion) && t.Size > 16 {
				return "returns an aggregate in memory: the psABI passes its address as a hidden first argument (rdi), so the declared parameters start at rsi, where DWARF finds them; pahole does not model the hidden argument (and the kernel refuses aggregate returns for trampolines anyway)"
			}
		}
	case "reordered parameters":
		var where []string
		inOrder := true
		for _, fn := range code {
			at := strings.Join(e.syms[fn.LowPC], "/")
			if at == "" {
				at = fmt.Sprintf("%#x", fn.LowPC)
			}
			if !e.inOrder(fn) {
				where = append(where, at)
				if at == name {
					inOrder = false
				}
			}
		}
		if inOrder && len(where) > 0 {
			return "parameters are out of order only in a fragment or clone (NAME.part.N); the code at the plain symbol the kernel attaches to takes them in declared order"
		}
	}
	return "unexplained"
}

// inOrder reports whether an out-of-line instance lists its parameters in
// the declared order.
func (e *explainer) inOrder(fn *dwarf.Func) bool {
	root, ok := e.d.FuncAt(fn.Origin)
	if fn.Origin == 0 || !ok {
		return true
	}
	pos := map[uint64]int{}
	for i, p := range root.Params {
		pos[p.Offset] = i
	}
	last := -1
	for _, p := range fn.Params {
		j, ok := pos[p.Origin]
		if !ok {
			continue
		}
		if j < last {
			return false
		}
		last = j
	}
	return true
}
