package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// The choice of modules and FUNCs for TestBootDefaultRules (docs/testing.md,
// "Default rules on real kernels").
const (
	// defaultModules are chosen by PickRich, defaultStructModules of them
	// for their struct-by-value arguments; their dependencies come too.
	defaultModules       = 40
	defaultStructModules = 10
	// sampleVmlinux and sampleModules kept FUNCs are tried (Sample).
	sampleVmlinux = 200
	sampleModules = 200
)

// TestBootDefaultRules is the acceptance test of the default rules on real
// kernels, and of the abi rule against real trampolines. For each kernel,
// btffilter with the default rules rewrites a copy of the vmlinux, 40
// modules chosen by PickRich with their dependencies, and the ABI probe
// module (testdata/abiprobe, built for that kernel); the unfiltered and the
// filtered kernel each boot once under QEMU and load their modules in
// dependency order. Inside, the probe tries fentry on a fixed sample of kept
// FUNCs and on every removed FUNC, and runs the ABI probe. It passes when
// the filtered kernel accepts every module's BTF with no BTF error in its
// log, the same sampled FUNCs attach on both kernels, no removed FUNC is
// left in the filtered kernel's BTF or can be attached to by name, and the
// abi rule removes exactly the probe functions whose arguments the
// unfiltered kernel's trampoline misreads (or whose traced function it hands
// clobbered arguments), keeping the ones it reads correctly. Arm64 6.1 has
// no fentry on kernel functions: only the modules and the probe's refusals
// are checked there.
func TestBootDefaultRules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds modules and boots real kernels under QEMU; skipped with -short")
	}
	tool := buildTool(t, t.TempDir())
	for _, tc := range []struct {
		tag    string
		fentry bool
	}{
		{"6.1-amd64", true},
		{"7.2-amd64", true},
		{"7.2-arm64", true},
		{"6.1-arm64", false},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			start := time.Now()
			defaultRulesBoot(t, tool, tc.tag, tc.fentry)
			t.Logf("%s: %v", tc.tag, time.Since(start).Round(time.Second))
		})
	}
}

// side is one of the two kernels of a differential boot.
type side struct {
	vmlinux string
	modules []string // insmod order; the ABI probe module last
	probe   string
	base    *btf.Spec
	res     *Result
}

func defaultRulesBoot(t *testing.T, tool, tag string, fentry bool) {
	k, err := kernels.Load(tag)
	if err != nil {
		t.Fatal(err)
	}
	orig := side{vmlinux: k.Vmlinux}
	if orig.base, err = btf.LoadSpec(k.Vmlinux); err != nil {
		t.Fatal(err)
	}
	files, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	infos, err := ScanModules(files, orig.base)
	if err != nil {
		t.Fatal(err)
	}
	chosen, load, err := PickRich(infos, defaultModules, defaultStructModules)
	if err != nil {
		t.Fatal(err)
	}
	var probeFuncs []ABIFunc
	var abiList []byte
	orig.probe, probeFuncs, abiList = abiProbeFor(t, tag, orig.base)
	for _, m := range load {
		orig.modules = append(orig.modules, m.Path)
	}
	orig.modules = append(orig.modules, orig.probe)

	// One btffilter run with the default rules over copies of everything.
	dir := t.TempDir()
	filt := side{vmlinux: filepath.Join(dir, "vmlinux"), probe: filepath.Join(dir, "abiprobe.ko")}
	copyTo(t, k.Vmlinux, filt.vmlinux)
	for _, m := range orig.modules {
		dst := filt.probe
		if m != orig.probe {
			// Under lib/modules/RELEASE/..., as installed: --debuginfo
			// finds a module's DWARF by that path.
			i := strings.LastIndex(m, "lib/modules/")
			if i < 0 {
				t.Fatalf("%s is not under lib/modules/", m)
			}
			dst = filepath.Join(dir, m[i:])
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		copyTo(t, m, dst)
		filt.modules = append(filt.modules, dst)
	}
	report := runDefaultRules(t, tool, k, filt.vmlinux, filt.modules)
	if filt.base, err = btf.LoadSpec(filt.vmlinux); err != nil {
		t.Fatal(err)
	}
	removed, err := removedTargets(report, filt.vmlinux)
	if err != nil {
		t.Fatal(err)
	}

	var sample []string
	if fentry {
		if sample, err = keptSample(k.Vmlinux, orig.base, orig.modules[:len(load)], removed); err != nil {
			t.Fatal(err)
		}
	}
	lists := map[string][]byte{
		"fentry.txt": []byte(strings.Join(sample, "\n")),
		"gone.txt":   []byte(strings.Join(removed, "\n")),
		abiListFile:  abiList,
	}
	// Both kernels boot at once (two cores); -keep: see the probe.
	args := append([]string{"-fentry-list", "/fentry.txt", "-gone-list", "/gone.txt"}, abiProbeArgs...)
	if !fentry {
		// Every attach would fail as unsupported: BTF lookups only.
		args = append(args, "-gone-no-attach")
	}
	sides := []*side{&orig, &filt}
	errs := make([]error, len(sides))
	var wg sync.WaitGroup
	for i, s := range sides {
		work := t.TempDir()
		wg.Go(func() {
			s.res, errs[i] = Run(bootContext(t), Boot{
				Arch:      k.Arch,
				Vmlinux:   s.vmlinux,
				Modules:   s.modules,
				WorkDir:   work,
				Files:     lists,
				ProbeArgs: args,
				MemoryMB:  2048,
			})
		})
	}
	wg.Wait()
	for i, s := range sides {
		if errs[i] != nil {
			t.Fatalf("boot %s: %v", s.vmlinux, errs[i])
		}
		var phases []string
		for _, n := range s.res.Notes {
			if p, ok := strings.CutPrefix(n, "phase "); ok {
				phases = append(phases, p)
			}
		}
		t.Logf("boot %s: /init after %v, done after %v; guest uptime at the end of each phase: %s", s.vmlinux,
			s.res.BootTime.Round(time.Second), s.res.Total.Round(time.Second), strings.Join(phases, ", "))
		if s.res.Release != k.Release {
			t.Errorf("guest runs %q, want %q", s.res.Release, k.Release)
		}
	}

	nRemoved := 0
	for _, f := range report.Files {
		nRemoved += len(f.Removed)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "default rules on %s (%s): %d modules chosen, %d with their dependencies, and the ABI probe module;\n", tag, k.Release, len(chosen), len(load))
	fmt.Fprintf(&table, "btffilter removed %d FUNCs, %d names (FUNC in vmlinux, MODULE:FUNC); %d kept FUNCs sampled\n", nRemoved, len(removed), len(sample))
	fmt.Fprintf(&table, "  %-34s %12s %12s\n", "", "unfiltered", "filtered")
	checkModules(t, &table, orig.modules, orig.res, filt.res)
	if fentry {
		checkSample(t, &table, sample, orig.res, filt.res)
	}
	checkRemoved(t, &table, removed, orig.res, filt)
	t.Log("\n" + table.String())
	checkABIProbe(t, tag, report, probeFuncs, orig, filt)
}

// runDefaultRules runs btffilter with the default rules on the vmlinux and
// the modules (DWARF from the kernel's -dbg package) and returns its report.
func runDefaultRules(t *testing.T, tool string, k *kernels.Kernel, vmlinux string, mods []string) *filter.Report {
	t.Helper()
	args := append([]string{"-j", "--strip-signature", "--debuginfo", filepath.Join(k.Dir, "dbg"), vmlinux}, mods...)
	start := time.Now()
	cmd := exec.Command(tool, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r filter.Report
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		t.Fatalf("btffilter: %v, report: %v\n%s", err, jerr, stderr.String())
	}
	n := 0
	for _, f := range r.Files {
		if f.Error != "" {
			t.Errorf("btffilter: %s", f.Error)
		}
		// Every file is judged with its DWARF: without, the default rules
		// would be only "ambiguous" (docs/rules.md §3).
		for _, w := range f.Warnings {
			if strings.Contains(w, "not applied") {
				t.Errorf("btffilter: %s: %s", f.Path, w)
			}
		}
		n += len(f.Removed)
	}
	if err != nil || t.Failed() {
		t.Fatalf("btffilter: %v", err)
	}
	t.Logf("btffilter, default rules, on the vmlinux and %d modules: %d FUNCs removed in %v", len(mods), n, time.Since(start).Round(time.Second))
	return &r
}

// removedTargets names every FUNC the run removed as the probe's targets:
// FUNC for the vmlinux, MODULE:FUNC for modules, sorted.
func removedTargets(r *filter.Report, vmlinux string) ([]string, error) {
	var out []string
	for _, f := range r.Files {
		prefix := ""
		if f.Path != vmlinux {
			name, err := ModuleName(f.Path)
			if err != nil {
				return nil, err
			}
			prefix = name + ":"
		}
		for _, rm := range f.Removed {
			out = append(out, prefix+rm.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// keptSample is the fixed sample of kept FUNCs to try fentry on (Sample):
// sampleVmlinux vmlinux FUNCs that are alone of their name in its BTF and
// have a function symbol in .text, and sampleModules MODULE:FUNC among the
// modules' FUNCs that TraceableFuncs finds and that no other of the loaded
// modules also names; none of them removed.
func keptSample(vmlinux string, base *btf.Spec, mods []string, removed []string) ([]string, error) {
	gone := map[string]bool{}
	for _, r := range removed {
		gone[r] = true
	}
	text, err := textFuncs(vmlinux)
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for typ, err := range base.All() {
		if err != nil {
			return nil, err
		}
		if fn, ok := typ.(*btf.Func); ok {
			count[fn.Name]++
		}
	}
	var vml []string
	for name, n := range count {
		if n == 1 && text[name] && !gone[name] {
			vml = append(vml, name)
		}
	}
	owners := map[string]int{}
	traceable := map[string][]string{}
	for _, m := range mods {
		name, err := ModuleName(m)
		if err != nil {
			return nil, err
		}
		all, err := moduleFuncNames(m, base)
		if err != nil {
			return nil, err
		}
		for _, f := range all {
			owners[f]++
		}
		if traceable[name], err = TraceableFuncs(m, base); err != nil {
			return nil, err
		}
	}
	var mod []string
	for _, name := range slices.Sorted(maps.Keys(traceable)) {
		for _, f := range traceable[name] {
			if t := name + ":" + f; owners[f] == 1 && !gone[t] {
				mod = append(mod, t)
			}
		}
	}
	return append(Sample(vml, sampleVmlinux), Sample(mod, sampleModules)...), nil
}

// moduleFuncNames returns the names of the FUNCs of a module's own BTF.
func moduleFuncNames(path string, base *btf.Spec) ([]string, error) {
	spec, err := moduleBTF(path, base)
	if err != nil {
		return nil, err
	}
	var out []string
	for typ, err := range spec.All() {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if fn, ok := typ.(*btf.Func); ok {
			out = append(out, fn.Name)
		}
	}
	return out, nil
}

// checkModules: every module loads on the filtered kernel as it does on the
// unfiltered one, and the filtered kernel accepts the BTF of every module
// that loads, with no BTF error in its log.
func checkModules(t *testing.T, table *strings.Builder, mods []string, before, after *Result) {
	t.Helper()
	loaded := [2]int{}
	withBTF := [2]int{}
	for _, m := range mods {
		name := mustModuleName(t, m)
		for i, r := range []*Result{before, after} {
			if r.Insmod[name] == "ok" {
				loaded[i]++
				if r.ModuleBTF[name] {
					withBTF[i]++
				}
			}
		}
		if b, a := before.Insmod[name], after.Insmod[name]; a != b {
			t.Errorf("insmod %s: %q on the unfiltered kernel, %q on the filtered one", name, b, a)
		}
		if after.Insmod[name] == "ok" && !after.ModuleBTF[name] {
			t.Errorf("%s loaded on the filtered kernel without its BTF (/sys/kernel/btf/%s missing)", name, name)
		}
		if before.Insmod[name] != "ok" {
			t.Logf("%s does not load on the unfiltered kernel either: %s", name, before.Insmod[name])
		}
	}
	if loaded[1] < defaultModules {
		t.Errorf("%d modules loaded on the filtered kernel, want at least %d", loaded[1], defaultModules)
	}
	if len(after.BTFErrors) > 0 {
		t.Errorf("the filtered kernel's log has BTF errors:\n%s", strings.Join(after.BTFErrors, "\n"))
	}
	fmt.Fprintf(table, "  %-34s %12s %12s\n", "modules loaded", frac(loaded[0], len(mods)), frac(loaded[1], len(mods)))
	fmt.Fprintf(table, "  %-34s %12s %12s\n", "module BTF accepted", frac(withBTF[0], loaded[0]), frac(withBTF[1], loaded[1]))
	fmt.Fprintf(table, "  %-34s %12d %12d\n", "BTF errors in the kernel log", len(before.BTFErrors), len(after.BTFErrors))
}

// checkSample: the same sampled kept FUNCs attach on both kernels.
func checkSample(t *testing.T, table *strings.Builder, sample []string, before, after *Result) {
	t.Helper()
	ok := [2]int{}
	for _, f := range sample {
		b, a := before.Fentry[f], after.Fentry[f]
		if b == "ok" {
			ok[0]++
		}
		if a == "ok" {
			ok[1]++
		}
		switch {
		case b == "" || a == "":
			t.Errorf("fentry %s: no result (unfiltered %q, filtered %q)", f, b, a)
		case (b == "ok") != (a == "ok"):
			t.Errorf("fentry %s: %q on the unfiltered kernel, %q on the filtered one", f, b, a)
		}
	}
	if ok[0] == 0 {
		t.Errorf("no sampled FUNC attached on the unfiltered kernel: the sample shows nothing")
	}
	fmt.Fprintf(table, "  %-34s %12s %12s\n", "sampled kept FUNCs attached", frac(ok[0], len(sample)), frac(ok[1], len(sample)))
}

// checkRemoved: no removed FUNC is left in its object's BTF on the filtered
// kernel, nor can fentry attach to it by name, unless another object of the
// filtered kernel has a FUNC of that name (a vmlinux function removed as
// ambiguous, say, whose name a module's own function also has): attaching by
// name then reaches that one.
func checkRemoved(t *testing.T, table *strings.Builder, removed []string, before *Result, filt side) {
	t.Helper()
	owners := map[string][]string{} // FUNC name -> objects of the filtered kernel that have one
	for typ, err := range filt.base.All() {
		if err != nil {
			t.Fatal(err)
		}
		if fn, ok := typ.(*btf.Func); ok {
			owners[fn.Name] = append(owners[fn.Name], "vmlinux")
		}
	}
	for _, m := range filt.modules {
		names, err := moduleFuncNames(m, filt.base)
		if err != nil {
			t.Fatal(err)
		}
		mod := mustModuleName(t, m)
		for _, n := range names {
			owners[n] = append(owners[n], mod)
		}
	}
	present := [2]int{}
	attached := [2]int{}
	elsewhere := 0
	for _, target := range removed {
		obj, fn, isMod := strings.Cut(target, ":")
		if !isMod {
			obj, fn = "vmlinux", target
		}
		namesake := slices.ContainsFunc(owners[fn], func(o string) bool { return o != obj })
		for i, r := range []*Result{before, filt.res} {
			state, attach, _ := strings.Cut(r.Gone[target], " ")
			if state == "present" {
				present[i]++
			}
			if attach == "ok" {
				attached[i]++
			}
			if i == 0 {
				continue
			}
			switch {
			case r.Gone[target] == "":
				t.Errorf("removed %s: no result on the filtered kernel", target)
			case state != "absent":
				t.Errorf("removed %s: %s in its BTF on the filtered kernel", target, state)
			case attach == "ok" && namesake:
				elsewhere++
			case attach == "ok":
				t.Errorf("removed %s: fentry attaches by name on the filtered kernel, and no other object has a FUNC %s", target, fn)
			}
		}
	}
	fmt.Fprintf(table, "  %-34s %12s %12s\n", "removed names found in their BTF", frac(present[0], len(removed)), frac(present[1], len(removed)))
	fmt.Fprintf(table, "  %-34s %12s %12s\n", "removed names attached by name", frac(attached[0], len(removed)), frac(attached[1], len(removed)))
	fmt.Fprintf(table, "  %-34s %12s %12d\n", "  of which to a namesake elsewhere", "", elsewhere)
}

// The ABI probe's list of functions in the guest's initramfs, and the probe
// arguments that run it and keep every program attached to the end (see
// the probe's -keep).
const abiListFile = "abi.txt"

var abiProbeArgs = []string{"-abi-list", "/" + abiListFile, "-keep"}

// abiProbeFor builds the ABI probe module for the kernel tag (cached) and
// returns it, its probe functions, and their names one a line for the
// guest's abiListFile.
func abiProbeFor(t *testing.T, tag string, base *btf.Spec) (string, []ABIFunc, []byte) {
	t.Helper()
	ko, err := BuildABIProbe(bootContext(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	funcs, err := ABIFuncs(ko, base)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range funcs {
		names = append(names, f.Name)
	}
	return ko, funcs, []byte(strings.Join(names, "\n"))
}

// checkABIProbe compares the abi rule's decisions on the probe module with
// what the unfiltered kernel's trampoline did, then checks the filtered
// module on the filtered kernel: removed functions are gone, kept ones read
// as before.
func checkABIProbe(t *testing.T, tag string, r *filter.Report, funcs []ABIFunc, orig, filt side) {
	t.Helper()
	var decided *filter.FileReport
	for _, f := range r.Files {
		if f.Path == filt.probe {
			decided = f
		}
	}
	if decided == nil {
		t.Fatalf("no report on %s", filt.probe)
	}
	removed := map[string]filter.Removed{}
	for _, rm := range decided.Removed {
		removed[rm.Name] = rm
	}
	after, err := ABIFuncs(filt.probe, filt.base)
	if err != nil {
		t.Fatal(err)
	}
	afterByName := map[string]ABIFunc{}
	for _, f := range after {
		afterByName[f.Name] = f
	}
	var table strings.Builder
	fmt.Fprintf(&table, "ABI probe on %s: function, the trampoline of the unfiltered kernel, btffilter, detail\n", tag)
	counts := map[string]int{}
	for _, fn := range funcs {
		line, ok := orig.res.ABI[fn.Name]
		if !ok {
			t.Errorf("%s on %s: no ABI probe result", fn.Name, tag)
			continue
		}
		res, err := JudgeABI(fn, line)
		if err != nil {
			t.Errorf("%s on %s: %v", fn.Name, tag, err)
			continue
		}
		counts[res.Verdict]++
		rm, isRemoved := removed[fn.Name]
		decision := "kept"
		if isRemoved {
			decision = "removed (" + rm.Rule + ")"
		}
		fmt.Fprintf(&table, "  %-22s %-8s %-18s %s\n", fn.Name, res.Verdict, decision, res.Detail())
		switch {
		case res.Verdict == ABIMisread && !isRemoved:
			t.Errorf("%s on %s: the trampoline misreads it (%s), but btffilter keeps it", fn.Name, tag, res.Detail())
		case res.Verdict == ABICorrect && isRemoved:
			t.Errorf("%s on %s: the trampoline reads it correctly (%s), but btffilter removes it: %s: %s", fn.Name, tag, res.Detail(), rm.Rule, rm.Reason)
		}
		// The filtered module on the filtered kernel.
		af := afterByName[fn.Name]
		again, err := JudgeABI(af, filt.res.ABI[fn.Name])
		switch {
		case err != nil:
			t.Errorf("%s on %s, filtered: %v", fn.Name, tag, err)
		case isRemoved && again.Verdict != ABIAbsent:
			t.Errorf("%s on %s: removed, but on the filtered kernel it is %s (%s)", fn.Name, tag, again.Verdict, again.Detail())
		case !isRemoved && fn.InBTF && again.Verdict != res.Verdict:
			t.Errorf("%s on %s: %s on the unfiltered kernel, %s (%s) with the filtered module", fn.Name, tag, res.Verdict, again.Verdict, again.Detail())
		}
	}
	fmt.Fprintf(&table, "  %d functions: %d correct, %d misread, %d refused, %d absent from the module's BTF; btffilter removed %d\n",
		len(funcs), counts[ABICorrect], counts[ABIMisread], counts[ABIRefused], counts[ABIAbsent], len(removed))
	t.Log("\n" + table.String())
}

func frac(n, of int) string { return fmt.Sprintf("%d/%d", n, of) }
