package e2e

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// distilledPerSet is how many Debian modules with a distilled base each of
// the two filtered sets (--drop, default rules) must load with their BTF.
const distilledPerSet = 20

// TestBootAcceptance is the proof of the modules that travel alone
// (docs/testing.md, "What the kernel accepts"): modules with a distilled
// base filtered without -B load into the unmodified 7.2 kernels, and
// btffilter --check predicts what a booted kernel does with every module
// it is given. Four boots, two at a time: 7.2 amd64 and 7.2 arm64 load the
// ABI probe module as a 7.2 external build makes it (a distilled base,
// default rules, .BTF_ids whose kfunc a BPF program calls), Debian
// modules given a distilled base by pahole 1.32 (one set filtered with
// --drop, one with the default rules), a module
// whose .BTF only the kernel's verifier refuses and one whose distilled
// base names a type of another size than the vmlinux's; a second Debian
// 6.1 kernel (6.1.0-54) loads 6.1.0-53 modules, once as insmod does and
// once forced, and one of its own; and 7.2 amd64 loads modules of Debian's
// DKMS packages as dkms builds them (dkmsBoot).
func TestBootAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds modules and boots real kernels under QEMU; skipped with -short")
	}
	tool := buildTool(t, t.TempDir())
	slots := make(chan struct{}, 2) // two boots at once on two cores
	t.Run("boots", func(t *testing.T) {
		for _, tag := range []string{"7.2-amd64", "7.2-arm64", "6.1-amd64+6.1.0-54", "7.2-amd64+dkms"} {
			t.Run(tag, func(t *testing.T) {
				t.Parallel()
				slots <- struct{}{}
				defer func() { <-slots }()
				start := time.Now()
				switch tag {
				case "6.1-amd64+6.1.0-54":
					neighbourBoot(t, tool)
				case "7.2-amd64+dkms":
					dkmsBoot(t, tool)
				default:
					distilledBoot(t, tool, tag)
				}
				t.Logf("%s: %v", tag, time.Since(start).Round(time.Second))
			})
		}
	})
}

// prediction is what btffilter --check said of one module file.
type prediction struct {
	verdict, reason string
	// btf is the prediction for the module's BTF alone: the first BTF
	// check that failed, or "ok" (what a forced load meets).
	btf    string
	checks []filter.AcceptanceCheck
}

// predictAll runs btffilter --check -j -B base on the files.
func predictAll(t *testing.T, tool, base string, files []string) map[string]prediction {
	t.Helper()
	cmd := exec.Command(tool, append([]string{"--check", "-j", "-B", base}, files...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r filter.Report
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		t.Fatalf("btffilter --check: %v, report: %v\n%s", err, jerr, stderr.String())
	}
	preds := map[string]prediction{}
	for _, f := range r.Files {
		if f.Error != "" || f.Acceptance == nil {
			t.Fatalf("btffilter --check %s: %q", f.Path, f.Error)
		}
		p := prediction{verdict: f.Acceptance.Verdict, reason: f.Acceptance.Reason, btf: "ok", checks: f.Acceptance.Checks}
		for _, c := range f.Acceptance.Checks {
			if c.Name != "release" && c.Result != "ok" && !strings.HasPrefix(c.Result, "not checked") {
				p.btf = c.Name + ": " + c.Result
				break
			}
		}
		preds[f.Path] = p
	}
	return preds
}

// kernelVerdict is what the booted kernel did with a module: "accepted"
// (loaded, /sys/kernel/btf/NAME there, no BTF error about it), or why not.
// btfStage says whether the kernel went as far as the module's BTF.
func kernelVerdict(res *Result, name string) (verdict string, btfStage bool) {
	var line string
	for _, l := range res.BTFErrors {
		if strings.Contains(l, "["+name+"]") {
			line = strings.TrimSpace(l)
			break
		}
	}
	ins := res.Insmod[name]
	switch {
	case ins == "ok" && res.ModuleBTF[name] && line == "":
		return "accepted", true
	case line != "" && ins == "ok":
		return "loaded without its BTF: " + line, true
	case line != "":
		return "insmod: " + ins + "; " + line, true
	case ins == "ok":
		return "loaded without its BTF (no log line)", true
	default:
		return "insmod: " + ins, false
	}
}

// filterJSON runs btffilter -j with args and returns its report, failing on
// any file error.
func filterJSON(t *testing.T, tool string, args ...string) *filter.Report {
	t.Helper()
	cmd := exec.Command(tool, append([]string{"-j"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r filter.Report
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		t.Fatalf("btffilter %v: %v, report: %v\n%s", args, err, jerr, stderr.String())
	}
	for _, f := range r.Files {
		if f.Error != "" {
			t.Errorf("btffilter: %s", f.Error)
		}
		for _, w := range f.Warnings {
			if strings.Contains(w, "not applied") {
				t.Errorf("btffilter: %s: %s", f.Path, w)
			}
		}
	}
	if err != nil || t.Failed() {
		t.Fatalf("btffilter %v: %v\n%s", args, err, stderr.String())
	}
	return &r
}

// buildDistilled gives the modules (paths under k.Modules) a distilled base
// with scripts/build-distilled.sh (cached) and returns, for each, the file.
func buildDistilled(t *testing.T, k *kernels.Kernel, mods []string) map[string]string {
	t.Helper()
	var rels []string
	for _, m := range mods {
		rel, err := filepath.Rel(k.Modules, m)
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	_, self, _, _ := runtime.Caller(0)
	cmd := exec.CommandContext(bootContext(t), "bash", filepath.Join(filepath.Dir(self), "..", "build-distilled.sh"), k.Tag)
	cmd.Stdin = strings.NewReader(strings.Join(rels, "\n") + "\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build-distilled.sh %s: %v\n%s", k.Tag, err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	files := map[string]string{}
	for i, m := range mods {
		files[m] = filepath.Join(dir, strings.TrimSuffix(rels[i], ".xz"))
	}
	return files
}

// hasSection tells whether a module file has the section.
func hasSection(t *testing.T, path, name string) bool {
	t.Helper()
	ko, err := readModule(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Section(name) != nil
}

func distilledBoot(t *testing.T, tool, tag string) {
	k, base, files := loadKernel(t, tag)
	// Candidates: no dependencies, loadable in a plain guest, no .BTF_ids
	// (build-distilled.sh does not resolve them again), two traceable
	// FUNCs (one to drop, one to keep). Each set gets a margin of four for
	// modules whose init fails in the guest; two more are damaged.
	const want = 2*(distilledPerSet+4) + 2 + 4
	cands, err := PickModules(files, 3*want)
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	fns := map[string][]string{}
	for _, m := range cands {
		if len(mods) == want || hasSection(t, m, ".BTF_ids") {
			continue
		}
		f, err := TraceableFuncs(m, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) >= 2 {
			mods = append(mods, m)
			fns[m] = f
		}
	}
	if len(mods) < want {
		t.Fatalf("%d usable modules among %d candidates, want %d", len(mods), len(cands), want)
	}
	built := buildDistilled(t, k, mods)
	probe, err := BuildABIProbe(bootContext(t), tag)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	place := func(src, rel string) string {
		dst := filepath.Join(dir, "lib", "modules", k.Release, "kernel", rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		copyTo(t, src, dst)
		return dst
	}
	var dropSet, defSet []string
	var dropArgs []string
	kept := map[string]string{} // filtered file -> MODULE:FUNC expected to attach
	for i, m := range mods[:want-6] {
		rel, _ := filepath.Rel(k.Modules, m)
		dst := place(built[m], strings.TrimSuffix(rel, ".xz"))
		name := mustModuleName(t, dst)
		kept[dst] = name + ":" + fns[m][0]
		if i%2 == 0 {
			dropSet = append(dropSet, dst)
			dropArgs = append(dropArgs, "--drop", fns[m][len(fns[m])-1])
		} else {
			defSet = append(defSet, dst)
		}
	}
	// Every module is filtered without -B: its base travels with it.
	var reports []*filter.Report
	reports = append(reports, filterJSON(t, tool, append(dropArgs, dropSet...)...))
	reports = append(reports, filterJSON(t, tool, append([]string{"--debuginfo", filepath.Join(k.Dir, "dbg")}, defSet...)...))
	probeCopy := filepath.Join(dir, "abiprobe.ko")
	copyTo(t, probe, probeCopy)
	if !hasSection(t, probeCopy, ".BTF.base") {
		t.Fatalf("%s has no .BTF.base: not what a 7.2 external build makes", probe)
	}
	reports = append(reports, filterJSON(t, tool, probeCopy))
	var gone []string
	removedIn := map[string]int{}
	for _, r := range reports {
		for _, f := range r.Files {
			if !strings.Contains(f.Base, "distilled") {
				t.Errorf("%s: judged on %q, not its distilled base", f.Path, f.Base)
			}
			name := mustModuleName(t, f.Path)
			for _, rm := range f.Removed {
				gone = append(gone, name+":"+rm.Name)
			}
			removedIn[f.Path] = len(f.Removed)
			if slices.ContainsFunc(f.Removed, func(rm filter.Removed) bool { return name+":"+rm.Name == kept[f.Path] }) {
				delete(kept, f.Path) // the default rules removed it
			}
		}
	}
	for _, m := range dropSet {
		if removedIn[m] != 1 {
			t.Errorf("%s: --drop removed %d FUNCs, want 1", m, removedIn[m])
		}
	}
	// The damaged ones, from unfiltered copies of the remaining modules.
	verifier := place(built[mods[want-6]], "verifier/"+filepath.Base(built[mods[want-6]]))
	ko, err := os.ReadFile(verifier)
	if err != nil {
		t.Fatal(err)
	}
	if err := breakBTFName(ko, fns[mods[want-6]][0]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(verifier, ko, 0o644); err != nil {
		t.Fatal(err)
	}
	// resized: a base type held by value grows; resizedPtr: one held only
	// through pointers (the kernel matches it by name alone).
	var resized, resizedPtr, grown, grownPtr string
	for _, m := range mods[want-5:] {
		ko, err := os.ReadFile(built[m])
		if err != nil {
			t.Fatal(err)
		}
		for _, embedded := range []bool{true, false} {
			out := &resized
			if !embedded {
				out = &resizedPtr
			}
			if *out != "" {
				continue
			}
			c := slices.Clone(ko)
			name, err := growBaseStruct(c, embedded)
			if err != nil {
				continue
			}
			*out = filepath.Join(dir, "resized", fmt.Sprint(embedded), filepath.Base(built[m]))
			if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(*out, c, 0o644); err != nil {
				t.Fatal(err)
			}
			if embedded {
				grown = name
			} else {
				grownPtr = name
			}
			break
		}
	}
	if resized == "" || resizedPtr == "" {
		t.Fatalf("no module among %v has base structs held by value and by pointer only", mods[want-5:])
	}

	boot := append(append(append([]string{probeCopy}, dropSet...), defSet...), verifier, resized, resizedPtr)
	preds := predictAll(t, tool, k.Vmlinux, boot)
	// Kept FUNCs to attach: a few of the probe's (the first kept ones in
	// its order) and a sample of the modules'.
	var keptMods []string
	for _, f := range append(dropSet, defSet...) {
		if kept[f] != "" {
			keptMods = append(keptMods, kept[f])
		}
	}
	targets := Sample(keptMods, 6)
	funcs, err := ABIFuncs(probeCopy, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range funcs {
		if f.InBTF && len(targets) < 9 {
			targets = append(targets, "abiprobe:"+f.Name)
		}
	}
	slices.Sort(gone)
	res, err := Run(bootContext(t), Boot{
		Arch:    k.Arch,
		Vmlinux: k.Vmlinux,
		Modules: boot,
		WorkDir: t.TempDir(),
		Files: map[string][]byte{
			"fentry.txt": []byte(strings.Join(targets, "\n")),
			"gone.txt":   []byte(strings.Join(gone, "\n")),
			"kfunc.o":    buildKfuncCaller(t),
		},
		ProbeArgs: []string{"-kfunc-call", "/kfunc.o", "-fentry-list", "/fentry.txt", "-gone-list", "/gone.txt", "-keep"},
		MemoryMB:  2048,
	})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	if res.Release != k.Release {
		t.Errorf("guest runs %q, want %q", res.Release, k.Release)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "--check against %s, and the unmodified %s kernel (%s):\n", filepath.Base(k.Vmlinux), tag, k.Release)
	fmt.Fprintf(&table, "  %-28s %-34s %-60s %s\n", "case", "module", "btffilter --check", "the kernel")
	accepted := map[string]int{}
	for i, f := range boot {
		name := mustModuleName(t, f)
		p := preds[f]
		kv, _ := kernelVerdict(res, name)
		var kase string
		switch {
		case i == 0:
			kase = "(a)+2 ABI probe, default"
		case f == verifier:
			kase = "(c) verifier-only damage"
		case f == resized:
			kase = "(d) " + grown + " +8 (by value)"
		case f == resizedPtr:
			kase = "(d') " + grownPtr + " +8 (by ptr)"
		case slices.Contains(dropSet, f):
			kase = "(a)+3 distilled, --drop"
		default:
			kase = "(a)+3 distilled, default"
		}
		pv := p.verdict
		if p.reason != "" {
			pv += ": " + p.reason
		}
		notLoaded := strings.HasPrefix(kv, "insmod: ") && !strings.Contains(kv, "[")
		switch {
		case p.verdict == "ok" && kv == "accepted":
			accepted[kase]++
		case p.verdict == "ok" && notLoaded && f != probeCopy && f != verifier && f != resized && f != resizedPtr:
			// Its init failed in the guest (no device): nothing to
			// compare; the sets carry a margin for it.
			t.Logf("%s: %s (not counted)", name, kv)
			continue
		case p.verdict == "refused" && kv != "accepted" && !notLoaded:
		default:
			t.Errorf("%s (%s): btffilter --check says %q, the kernel: %s", name, kase, pv, kv)
		}
		if i == 0 || f == verifier || f == resized || f == resizedPtr || accepted[kase] <= 2 {
			fmt.Fprintf(&table, "  %-28s %-34s %-60.60s %s\n", kase, name, pv, kv)
		}
	}
	for _, kase := range []string{"(a)+3 distilled, --drop", "(a)+3 distilled, default"} {
		fmt.Fprintf(&table, "  %-28s %d modules ok and accepted\n", kase, accepted[kase])
		if accepted[kase] < distilledPerSet {
			t.Errorf("%s: %d modules predicted ok and accepted, want at least %d", kase, accepted[kase], distilledPerSet)
		}
	}
	if p := preds[verifier]; !strings.HasPrefix(p.reason, "kernel BTF rules: ") {
		t.Errorf("verifier case: refused for %q, want the kernel BTF rules (not a structural check)", p.reason)
	}
	if p := preds[resized]; !strings.HasPrefix(p.reason, "relocation onto ") {
		t.Errorf("resized case (%s grown by 8 bytes in .BTF.base): refused for %q, want the relocation", grown, p.reason)
	}
	// The probe's kfunc set (.BTF_ids, renumbered by the filter) registered
	// and names the FUNC that a BPF program calls by name.
	if got := res.Kfunc[kfuncCaller]; got != "ok 40002" {
		t.Errorf("%s calling abiprobe_kfunc_mix(40, 2): %q, want ok 40002", kfuncCaller, got)
	}
	fmt.Fprintf(&table, "  BPF program calling the probe's kfunc through its filtered .BTF_ids: %s\n", res.Kfunc[kfuncCaller])
	nAbsent, nAttached, nGone := 0, 0, 0
	for _, g := range gone {
		if mod, _, _ := strings.Cut(g, ":"); res.Insmod[mod] != "ok" {
			continue // its init failed in the guest: nothing to look up
		}
		nGone++
		state, attach, _ := strings.Cut(res.Gone[g], " ")
		if state == "absent" {
			nAbsent++
		} else {
			t.Errorf("removed %s: %q on the kernel, want absent", g, res.Gone[g])
		}
		if attach == "ok" {
			nAttached++
			t.Errorf("removed %s: fentry attaches by name", g)
		}
	}
	nKept := 0
	for _, target := range targets {
		if res.Fentry[target] == "ok" {
			nKept++
		} else {
			t.Errorf("kept %s: fentry %q, want ok", target, res.Fentry[target])
		}
	}
	fmt.Fprintf(&table, "  removed FUNCs absent from their module's BTF: %d/%d, attached by name: %d; kept FUNCs attached: %d/%d\n", nAbsent, nGone, nAttached, nKept, len(targets))
	for _, l := range res.BTFErrors {
		// The relocation's own line names the type, not the module.
		if !strings.Contains(l, "["+mustModuleName(t, verifier)+"]") && !strings.Contains(l, "["+mustModuleName(t, resized)+"]") && !strings.Contains(l, "'"+grown+"'") {
			t.Errorf("BTF error in the kernel log about another module: %s", l)
		}
	}
	t.Logf("boot: /init after %v, done after %v", res.BootTime.Round(time.Second), res.Total.Round(time.Second))
	t.Log("\n" + table.String())
}

// kfuncCaller is the program of testdata/abiprobe/kfunc.bpf.c.
const kfuncCaller = "abiprobe_call_mix"

// buildKfuncCaller compiles testdata/abiprobe/kfunc.bpf.c (little-endian
// BPF, for the amd64 and arm64 guests) and returns the object.
func buildKfuncCaller(t *testing.T) []byte {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "abiprobe", "kfunc.bpf.c")
	obj := filepath.Join(t.TempDir(), "kfunc.o")
	if out, err := exec.Command("clang", "-target", "bpfel", "-O2", "-g", "-c", src, "-o", obj).CombinedOutput(); err != nil {
		t.Fatalf("clang %s: %v\n%s", src, err, out)
	}
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// growBaseStruct makes a named struct of the module's .BTF.base 8 bytes
// larger, as if the module had been built against a vmlinux where it had
// that size, and returns its name: with embedded, one that a struct or
// union member or an array of the module's own BTF holds by value (the
// kernel's relocation matches those by size), else one it does not.
func growBaseStruct(ko []byte, embedded bool) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return "", err
	}
	sec := f.Section(".BTF.base")
	if sec == nil || sec.Offset+sec.Size > uint64(len(ko)) {
		return "", fmt.Errorf("no usable .BTF.base")
	}
	b := ko[sec.Offset : sec.Offset+sec.Size]
	le := binary.LittleEndian
	if len(b) < 24 {
		return "", fmt.Errorf(".BTF.base: %d bytes", len(b))
	}
	split := f.Section(".BTF")
	if split == nil || split.Offset+split.Size > uint64(len(ko)) {
		return "", fmt.Errorf("no usable .BTF")
	}
	baseTypes := rawTypes(b)
	// The base types the split BTF holds by value: member and array
	// element types, through the base's typedefs and modifiers.
	held := map[int]bool{}
	for _, ty := range rawTypes(ko[split.Offset : split.Offset+split.Size]) {
		var refs []uint32
		switch ty.kind {
		case 4, 5:
			for m := range ty.vlen {
				refs = append(refs, le.Uint32(ty.extra[12*m+4:]))
			}
		case 3:
			refs = append(refs, le.Uint32(ty.extra))
		}
		for _, id := range refs {
			for int(id) >= 1 && int(id) <= len(baseTypes) {
				bt := baseTypes[id-1]
				if k := bt.kind; k == 8 || k == 9 || k == 10 || k == 11 || k == 18 {
					id = le.Uint32(bt.raw[8:])
					continue
				}
				held[int(id)] = true
				break
			}
		}
	}
	for i, ty := range baseTypes {
		if ty.kind == 4 && ty.nameOff != 0 && le.Uint32(ty.raw[8:]) > 0 && held[i+1] == embedded {
			le.PutUint32(ty.raw[8:], le.Uint32(ty.raw[8:])+8)
			name, _, _ := bytes.Cut(b[le.Uint32(b[4:])+le.Uint32(b[16:])+ty.nameOff:], []byte{0})
			return string(name), nil
		}
	}
	return "", fmt.Errorf(".BTF.base has no named struct with a size that the module holds by value: %v", embedded)
}

// rawType is one type of a raw BTF blob: its 12 bytes and what follows.
type rawType struct {
	raw, extra    []byte
	kind, nameOff uint32
	vlen          int
}

// rawTypes splits the type section of a little-endian BTF blob.
func rawTypes(b []byte) []rawType {
	le := binary.LittleEndian
	hdr, typeOff, typeLen := le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])
	types := b[hdr+typeOff : hdr+typeOff+typeLen]
	var out []rawType
	for off := 0; off+12 <= len(types); {
		info := le.Uint32(types[off+4:])
		kind, vlen := info>>24&0x1f, int(info&0xffff)
		n := map[uint32]int{1: 4, 3: 12, 4: 12 * vlen, 5: 12 * vlen, 6: 8 * vlen, 13: 8 * vlen, 14: 4, 15: 12 * vlen, 17: 4, 19: 12 * vlen}[kind]
		if off+12+n > len(types) {
			break
		}
		out = append(out, rawType{raw: types[off : off+12], extra: types[off+12 : off+12+n], kind: kind, nameOff: le.Uint32(types[off:]), vlen: vlen})
		off += 12 + n
	}
	return out
}

// neighbourBoot: 6.1.0-53 modules against another Debian 6.1 build
// (6.1.0-54, scripts/fetch-neighbour.sh), booted: one loaded as insmod
// does, one forced past the release checks, and one of 6.1.0-54's own.
func neighbourBoot(t *testing.T, tool string) {
	_, self, _, _ := runtime.Caller(0)
	fetch := exec.CommandContext(bootContext(t), "bash", filepath.Join(filepath.Dir(self), "..", "fetch-neighbour.sh"))
	if out, err := fetch.CombinedOutput(); err != nil {
		t.Fatalf("fetch-neighbour.sh: %v\n%s", err, out)
	}
	ndir := filepath.Join(kernels.Cache(), "neighbour", "6.1-amd64")
	rel, err := os.ReadFile(filepath.Join(ndir, "release"))
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimSpace(string(rel))
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		t.Fatal(err)
	}
	files, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	picked, err := PickModules(files, 3)
	if err != nil {
		t.Fatal(err)
	}
	// The 6.1.0-54 build of the third module is its own control.
	r, err := filepath.Rel(k.Modules, picked[2])
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(ndir, "modules", r)
	mods := []string{picked[0], picked[1], own}
	names := []string{mustModuleName(t, picked[0]), mustModuleName(t, picked[1]), mustModuleName(t, own)}
	dir := t.TempDir()
	var copies []string
	for _, m := range mods {
		ko, err := readModule(m)
		if err != nil {
			t.Fatal(err)
		}
		if ko, _, err = stripSignature(m, ko); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%d-%s.ko", len(copies), mustModuleName(t, m)))
		if err := os.WriteFile(p, ko, 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, p)
	}
	vmlinux := filepath.Join(ndir, "vmlinux")
	preds := predictAll(t, tool, vmlinux, copies)
	res, err := Run(bootContext(t), Boot{
		Arch:    "amd64",
		Vmlinux: filepath.Join(ndir, "vmlinuz"),
		Modules: copies,
		Force:   []string{names[1]},
		WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	if res.Release != release {
		t.Errorf("guest runs %q, want %q", res.Release, release)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "--check against the vmlinux in %s's vmlinuz, and that kernel booted:\n", release)
	fmt.Fprintf(&table, "  %-34s %-22s %-70s %s\n", "case", "module", "btffilter --check", "the kernel")
	for i, c := range copies {
		p := preds[c]
		kv, btfStage := kernelVerdict(res, names[i])
		pv := p.verdict
		if p.reason != "" {
			pv += ": " + p.reason
		}
		var kase string
		switch i {
		case 0:
			kase = "(b) " + k.Release + ", insmod"
			// The kernel stops at the release (the symbol versions,
			// then the vermagic), before the BTF.
			why := logLine(res.Console, names[i]+": ", "version")
			if p.verdict != "refused" || !strings.HasPrefix(p.reason, "release: ") || btfStage || !strings.Contains(why, "version") {
				t.Errorf("%s: btffilter --check says %q, the kernel: %s (%s); want both refusing the release", names[i], pv, kv, why)
			}
			kv += " (" + why + ")"
		case 1:
			kase = "(b) " + k.Release + ", forced"
			pv = "BTF " + p.btf + " (" + pv + ")"
			if (p.btf == "ok") != (kv == "accepted") || !btfStage {
				t.Errorf("%s, forced: btffilter --check predicts the BTF %q, the kernel: %s", names[i], p.btf, kv)
			}
		case 2:
			kase = "(a) " + release + "'s own"
			if p.verdict != "ok" || kv != "accepted" {
				t.Errorf("%s: btffilter --check says %q, the kernel: %s", names[i], pv, kv)
			}
		}
		fmt.Fprintf(&table, "  %-34s %-22s %-70.70s %s\n", kase, names[i], pv, kv)
	}
	t.Logf("boot: /init after %v, done after %v", res.BootTime.Round(time.Second), res.Total.Round(time.Second))
	t.Log("\n" + table.String())
}

// logLine returns the first kernel log line on the console that contains
// s and also, in its message, word; trimmed of the timestamp.
func logLine(console, s, word string) string {
	for l := range strings.Lines(console) {
		if strings.Contains(l, s) && strings.Contains(l[strings.Index(l, s):], word) && !strings.Contains(l, "PROBE") {
			if _, rest, ok := strings.Cut(l, "] "); ok {
				l = rest
			}
			return strings.TrimSpace(l)
		}
	}
	return ""
}
