package kbuild

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btffilter/btffilter/scripts/e2e"
)

// extModule is the out-of-tree module of testdata/kbuild/module, as the
// variants keep it.
const extModule = "extmod/btffilter_kbuild.ko"

// expect says, per kernel series, which functions of the external module the
// default rules must remove and which must stay (testdata/abi's verdicts
// for the same argument lists, docs/facts.md §2). protected stays although
// the abi rule would remove it: BTF_ID names it.
var expect = map[string]struct{ removed, kept []string }{
	"6.1": {
		removed: []string{"btffilter_kbuild_packed", "btffilter_kbuild_i128"},
		kept:    []string{"btffilter_kbuild_add", "btffilter_kbuild_ptr", "btffilter_kbuild_protected", "btffilter_kbuild_kfunc"},
	},
	"7.2": {
		removed: []string{"btffilter_kbuild_packed", "btffilter_kbuild_i128_stack", "btffilter_kbuild_al16_stack"},
		kept:    []string{"btffilter_kbuild_add", "btffilter_kbuild_ptr", "btffilter_kbuild_i128", "btffilter_kbuild_protected", "btffilter_kbuild_kfunc"},
	},
}

// boots are the builds whose kernels boot: with the wrapper, and, where
// true, plain too, for contrast (the removed functions attach there). The
// 6.1 plain kernel built with pahole 1.32 has no contrast of its own to
// give: its vmlinux is the wrapper build's, byte for byte.
var boots = map[string]bool{"6.1-bookworm": true, "6.1-sid-pahole": false, "7.2-sid": true}

// tools builds the wrapper and the command reproducibly (-trimpath, no VCS
// stamp): the same sources give the same wrapper hash, which keys the
// wrapper builds in the cache.
func tools(t *testing.T) (wrapper, btffilter string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"btffilter-pahole", "btffilter"} {
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", filepath.Join(dir, name), "github.com/btffilter/btffilter/cmd/"+name)
		// Static: the wrapper also runs inside the sid chroot.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return filepath.Join(dir, "btffilter-pahole"), filepath.Join(dir, "btffilter")
}

// TestKbuild builds each kernel plain and with the wrapper (or finds both
// in the cache) and checks the wrapper build against the plain one and
// against the same work done by hand, then boots both.
func TestKbuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and boots real kernels (root, network, many minutes); skipped with -short")
	}
	if os.Getuid() != 0 {
		t.Fatal("needs root (the sid chroot, apt): run scripts/test.sh as root")
	}
	wrapper, btffilter := tools(t)
	for _, build := range Builds {
		t.Run(build, func(t *testing.T) {
			series := build[:3]
			log := &testLog{t: t}
			start := time.Now()
			plain, err := Build(t.Context(), build, "", log)
			if err != nil {
				t.Fatal(err)
			}
			wrap, err := Build(t.Context(), build, wrapper, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: builds ready in %v", build, time.Since(start).Round(time.Second))
			for _, v := range []*Variant{plain, wrap} {
				t.Logf("  %s (%s, %s): configure %ds (%ds CPU), make vmlinux modules %ds (%ds CPU), external module %ds (%ds CPU)",
					filepath.Base(v.Dir), v.Info["cc"], v.Info["pahole"], v.Seconds("configure"), v.Seconds("configure_cpu"),
					v.Seconds("build"), v.Seconds("build_cpu"), v.Seconds("extmod"), v.Seconds("extmod_cpu"))
			}
			t.Run("report", func(t *testing.T) { checkReport(t, wrap) })
			t.Run("objects reused", func(t *testing.T) { checkReused(t, wrap) })
			t.Run("resolve_btfids", func(t *testing.T) { checkResolveBTFIDs(t, plain, wrap) })
			t.Run("plain vs wrapper", func(t *testing.T) { checkDiff(t, plain, wrap) })
			t.Run("by hand", func(t *testing.T) { checkByHand(t, wrap, btffilter) })
			t.Run("module functions", func(t *testing.T) { checkModuleFuncs(t, series, plain, wrap) })
			if series == "7.2" {
				t.Run("sorted", func(t *testing.T) { checkSorted(t, wrap) })
			}
			t.Run("docs", func(t *testing.T) {
				docMake(t, wrap)
				lines, err := LogLines(wrap.Log, func(l string) bool { return strings.HasPrefix(l, WrapperPrefix) })
				if err != nil {
					t.Fatal(err)
				}
				docGrep(t, wrap, len(lines))
				if series == "7.2" {
					// run-command, which the check uses, is 6.9's.
					docMakeflags(t, wrap)
				}
			})
			if plainToo, ok := boots[build]; ok {
				t.Run("boot", func(t *testing.T) { checkBoot(t, series, plain, wrap, plainToo) })
			}
		})
	}
}

// testLog sends the build script's progress lines to the test log.
type testLog struct {
	t   *testing.T
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line)
			break
		}
		l.t.Log(strings.TrimRight(line, "\n"))
	}
	return len(p), nil
}

// reportFor finds the wrapper's report on a file by its base name (the
// report names it as the build did: relative to the object tree, or by the
// external module's directory), or on the detached file made from it.
func reportFor(files map[string]*FileReport, name string) *FileReport {
	base := filepath.Base(name)
	var found *FileReport
	for p, r := range files {
		if filepath.Base(p) == base || filepath.Base(p) == base+".BTF.1" {
			found = r
		}
	}
	return found
}

// checkReport: the wrapper reported on the vmlinux BTF and on every module,
// removed functions from the vmlinux, and printed no error.
func checkReport(t *testing.T, wrap *Variant) {
	files, other, err := WrapperReport(wrap.Log)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range other {
		t.Errorf("wrapper line that is no report: %s", l)
	}
	tmp := reportFor(files, filepath.Base(wrap.Tmp))
	if tmp == nil || tmp.Summary == "" {
		t.Fatalf("no summary line for %s; the wrapper's lines: %v", filepath.Base(wrap.Tmp), SortedKeys(files))
	}
	t.Logf("vmlinux: %s", tmp.Summary)
	if len(tmp.Removed) != tmp.RemovedCount {
		t.Errorf("vmlinux: %d functions removed, %d -v lines", tmp.RemovedCount, len(tmp.Removed))
	}
	// pahole 1.24 encodes every function; the default rules have work
	// there. pahole 1.32 skips on its own much of what they remove.
	if tmp.RemovedCount == 0 && wrap.Info["pahole"] == "v1.24" {
		t.Errorf("vmlinux: no function removed from pahole 1.24's BTF")
	}
	total := 0
	for _, m := range wrap.ModuleNames() {
		r := reportFor(files, m)
		if r == nil || r.Summary == "" {
			t.Errorf("%s: no summary line", m)
			continue
		}
		total += r.RemovedCount
		t.Logf("%s: %s", m, r.Summary)
		for _, w := range r.Warnings {
			t.Logf("  warning: %s", w)
		}
	}
	t.Logf("FUNCs removed: vmlinux %d, %d modules %d", tmp.RemovedCount, len(wrap.Modules), total)
}

// checkReused: the wrapper build compiled no C file: the objects of the
// plain build were reused and only the link, BTF and module-final steps
// ran.
func checkReused(t *testing.T, wrap *Variant) {
	steps := map[string]int{}
	var compiled []string
	_, err := LogLines(wrap.Log, func(l string) bool {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasPrefix(l, "  ") {
			return false
		}
		steps[f[0]]++
		if f[0] == "CC" {
			compiled = append(compiled, strings.Join(f[1:], " "))
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, k := range SortedKeys(steps) {
		s = append(s, fmt.Sprintf("%s x%d", k, steps[k]))
	}
	t.Logf("kbuild steps of the wrapper build: %s", strings.Join(s, ", "))
	for _, c := range compiled {
		if !strings.HasPrefix(c, "init/version-timestamp.o") && !strings.HasSuffix(c, ".mod.o") {
			t.Errorf("the wrapper build compiled %s", c)
		}
	}
}

// checkResolveBTFIDs: resolve_btfids found every name of the wrapper build
// (no "unresolved symbol" warning) and failed nowhere.
func checkResolveBTFIDs(t *testing.T, plain, wrap *Variant) {
	match := func(l string) bool {
		return strings.Contains(l, "resolve_btfids") || strings.Contains(l, "BTFIDS") || strings.Contains(l, "unresolved symbol")
	}
	for _, v := range []*Variant{plain, wrap} {
		lines, err := LogLines(v.Log, match)
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		for _, l := range lines {
			if strings.Contains(l, "WARN") || strings.Contains(l, "FAILED") || strings.Contains(l, "unresolved") || strings.Contains(l, "ERROR") {
				bad = append(bad, l)
			}
		}
		t.Logf("%s: %d resolve_btfids lines, %d warnings or errors", filepath.Base(v.Dir), len(lines), len(bad))
		if v == wrap {
			for _, l := range bad {
				t.Errorf("wrapper build: %s", l)
			}
		}
	}
}

// checkDiff compares the plain and the wrapper vmlinux and modules.
func checkDiff(t *testing.T, plain, wrap *Variant) {
	pairs := [][2]string{{plain.Vmlinux, wrap.Vmlinux}}
	for _, m := range plain.ModuleNames() {
		w, ok := wrap.Modules[m]
		if !ok {
			t.Errorf("%s: missing in the wrapper build", m)
			continue
		}
		pairs = append(pairs, [2]string{plain.Modules[m], w})
	}
	for _, p := range pairs {
		d, err := DiffELF(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p[0], plain.Dir+"/")
		t.Logf("%s differs in:\n%s", name, d)
		if err := d.Clean(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		var secs []string
		for _, s := range d.Sections {
			if s.Bytes > 0 && !btfSections[s.Name] {
				secs = append(secs, s.Name)
			}
		}
		if len(secs) > 0 {
			t.Logf("%s: contents outside the BTF sections differ only by moved symbols: %s", name, strings.Join(secs, " "))
		}
	}
}

// checkModuleFuncs: the external module lost exactly the functions the
// rules remove and kept the controls and the BTF_ID-protected one.
func checkModuleFuncs(t *testing.T, series string, plain, wrap *Variant) {
	vp, err := LoadBTF(plain.Vmlinux, nil)
	if err != nil {
		t.Fatal(err)
	}
	vw, err := LoadBTF(wrap.Vmlinux, nil)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := LoadBTF(plain.Modules[extModule], vp)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := LoadBTF(wrap.Modules[extModule], vw)
	if err != nil {
		t.Fatal(err)
	}
	inPlain, inWrap := FuncNames(mp), FuncNames(mw)
	for _, f := range expect[series].removed {
		if inWrap[f] {
			t.Errorf("%s is still in the wrapper build's module BTF", f)
		}
		t.Logf("removed %s (in the plain build: %v)", f, inPlain[f])
	}
	for _, f := range expect[series].kept {
		if !inWrap[f] {
			t.Errorf("%s is missing from the wrapper build's module BTF", f)
		}
	}
}

// checkSorted: resolve_btfids sorted the BTF the wrapper handed it: the
// vmlinux and every module of the wrapper build.
func checkSorted(t *testing.T, wrap *Variant) {
	base, err := LoadBTF(wrap.Vmlinux, nil)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := CheckSorted(base)
	if err != nil {
		t.Fatalf("vmlinux: %v", err)
	}
	t.Logf("vmlinux: %d types sorted by name, %d anonymous first", len(base.Types), anon)
	for _, m := range wrap.ModuleNames() {
		if m == extModule {
			// resolve_btfids --distill_base: its own small base.
			continue
		}
		s, err := LoadBTF(wrap.Modules[m], base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckSorted(s); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

// checkByHand redoes the wrapper's work on the copies of pahole's outputs
// and compares: 6.1 (in place), the whole .tmp_vmlinux.btf and each
// module's .BTF; 7.2 (detached), the raw files, through resolve_btfids, to
// what the build linked and embedded.
func checkByHand(t *testing.T, wrap *Variant, btffilter string) {
	if wrap.Records == "" {
		t.Fatal("no records of pahole's outputs")
	}
	ents, err := os.ReadDir(wrap.Records)
	if err != nil {
		t.Fatal(err)
	}
	var filterTime time.Duration
	n := 0
	for _, e := range ents {
		name := e.Name()
		if name == "pahole.log" || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".elf") {
			continue
		}
		dir := t.TempDir()
		hand := filepath.Join(dir, name)
		copyFile(t, filepath.Join(wrap.Records, name), hand)
		args := []string{"-v"}
		var module string
		for _, m := range wrap.ModuleNames() {
			if filepath.Base(m) == strings.TrimSuffix(name, ".BTF.1") {
				module = m
			}
		}
		if module != "" {
			args = append(args, "-B", wrap.Vmlinux)
		}
		if strings.HasSuffix(name, ".BTF.1") {
			// The ELF as pahole read it, the DWARF the wrapper judged with.
			args = append(args, "--debuginfo", filepath.Join(wrap.Records, name+".elf"))
		}
		start := time.Now()
		out, err := exec.Command(btffilter, append(args, hand)...).CombinedOutput()
		filterTime += time.Since(start)
		if err != nil {
			t.Errorf("btffilter %v: %v\n%s", args, err, out)
			continue
		}
		n++
		switch {
		case name == ".tmp_vmlinux.btf":
			if !bytes.Equal(readFile(t, hand), readFile(t, wrap.Tmp)) {
				t.Errorf("%s: btffilter by hand differs from the wrapper's", name)
			}
		case strings.HasSuffix(name, ".ko"):
			if !bytes.Equal(section(t, hand, ".BTF"), section(t, wrap.Modules[module], ".BTF")) {
				t.Errorf("%s: .BTF by hand differs from the wrapper build's", module)
			}
		case strings.HasSuffix(name, ".BTF.1"):
			checkResolved(t, wrap, hand, module)
		default:
			t.Errorf("unexpected record %s", name)
		}
	}
	if n < 1+len(wrap.Modules) {
		t.Errorf("%d records compared, want the vmlinux and %d modules", n, len(wrap.Modules))
	}
	t.Logf("btffilter by hand on %d files: %v", n, filterTime.Round(time.Millisecond))
	logPaholeTime(t, wrap)
}

// logPaholeTime sums pahole's own time from the recorder's log.
func logPaholeTime(t *testing.T, wrap *Variant) {
	data, err := os.ReadFile(filepath.Join(wrap.Records, "pahole.log"))
	if err != nil {
		t.Fatal(err)
	}
	var total, vmlinux float64
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var name string
		var a, b float64
		if _, err := fmt.Sscanf(l, "%s %f %f", &name, &a, &b); err != nil {
			t.Fatalf("pahole.log: %q: %v", l, err)
		}
		total += b - a
		if strings.HasPrefix(name, ".tmp_vmlinux") {
			vmlinux += b - a
		}
	}
	t.Logf("pahole itself: %.1fs (vmlinux %.1fs)", total, vmlinux)
}

// checkResolved runs the tree's resolve_btfids on a raw file btffilter
// filtered by hand, as scripts/gen-btf.sh does, and compares its outputs
// with the sections of the wrapper build.
func checkResolved(t *testing.T, wrap *Variant, raw, module string) {
	tree := wrap.Info["tree"]
	rb := filepath.Join(tree, "obj", "tools", "bpf", "resolve_btfids", "resolve_btfids")
	dir := filepath.Dir(raw)
	elfFile := filepath.Join(dir, "elf")
	args := []string{}
	if module != "" {
		args = append(args, "--btf_base", wrap.Vmlinux)
		if module == extModule {
			args = append(args, "--distill_base")
		}
	}
	// resolve_btfids patches the ELF pahole read, as the build did.
	copyFile(t, filepath.Join(wrap.Records, filepath.Base(raw)+".elf"), elfFile)
	args = append(args, "--btf", raw, elfFile)
	cmd := exec.Command("bash", append([]string{sidChroot(t), "run", rb}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("resolve_btfids %v: %v\n%s", args, err, out)
		return
	}
	final := wrap.Vmlinux
	if module != "" {
		final = wrap.Modules[module]
	}
	outs := map[string]string{".BTF": elfFile + ".BTF", ".BTF_ids": elfFile + ".BTF_ids", ".BTF.base": elfFile + ".BTF.base"}
	for sec, p := range outs {
		got, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			if s := sectionOrNil(t, final, sec); s != nil && sec != ".BTF_ids" {
				t.Errorf("%s: resolve_btfids wrote no %s by hand, the build has one", filepath.Base(final), sec)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want := sectionOrNil(t, final, sec)
		if want == nil {
			t.Errorf("%s: no section %s, resolve_btfids by hand wrote %d bytes", filepath.Base(final), sec, len(got))
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s by hand (%d bytes) differs from the build's (%d bytes)", filepath.Base(final), sec, len(got), len(want))
		}
	}
}

// sidChroot is scripts/sid-chroot.sh.
func sidChroot(t *testing.T) string {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "scripts", "sid-chroot.sh")
}

// checkBoot boots the wrapper kernel (and the plain one, with plainToo) with
// every module and tries fentry on a vmlinux function, a vmlinux function
// the wrapper removed, and the external module's functions.
func checkBoot(t *testing.T, series string, plain, wrap *Variant, plainToo bool) {
	files, _, err := WrapperReport(wrap.Log)
	if err != nil {
		t.Fatal(err)
	}
	vp, err := LoadBTF(plain.Vmlinux, nil)
	if err != nil {
		t.Fatal(err)
	}
	vw, err := LoadBTF(wrap.Vmlinux, nil)
	if err != nil {
		t.Fatal(err)
	}
	inPlain, inWrap := FuncCounts(vp), FuncNames(vw)
	// A removed vmlinux function the plain kernel can attach to: one FUNC
	// of that name in the plain BTF, one function symbol, with an ftrace
	// call site in .text (fentry attaches by name, and refuses a name that
	// is ambiguous).
	traceable, err := ftraced(plain.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	removedVmlinux := ""
	tmp := reportFor(files, filepath.Base(wrap.Tmp))
	if tmp == nil {
		t.Fatal("no wrapper report for the vmlinux")
	}
	for _, f := range tmp.Removed {
		if inPlain[f] == 1 && !inWrap[f] && traceable[f] {
			removedVmlinux = f
			break
		}
	}
	const kept = "do_sys_openat2"
	if !inWrap[kept] {
		t.Fatalf("%s is not in the wrapper build's BTF", kept)
	}
	mod := "btffilter_kbuild"
	targets := []string{kept}
	want := map[string]bool{kept: true}
	switch {
	case removedVmlinux != "":
		targets = append(targets, removedVmlinux)
		want[removedVmlinux] = false
	case wrap.Info["pahole"] == "v1.24":
		t.Fatalf("none of the %d functions removed from pahole 1.24's vmlinux BTF is traceable in the plain kernel", len(tmp.Removed))
	default:
		// pahole 1.32 skips most of what the rules remove; what is left
		// may have no code of its own name (a clone) to attach to.
		t.Logf("no function the wrapper removed from the vmlinux (%d: %s) is attachable in the plain kernel: the removed functions tried are the module's", len(tmp.Removed), strings.Join(tmp.Removed, " "))
	}
	for _, f := range expect[series].kept {
		if f == "btffilter_kbuild_kfunc" {
			continue // a kfunc's attach is the verifier's business
		}
		targets = append(targets, mod+":"+f)
		want[mod+":"+f] = true
	}
	for _, f := range expect[series].removed {
		targets = append(targets, mod+":"+f)
		want[mod+":"+f] = false
	}
	kernels := []*Variant{wrap}
	if plainToo {
		kernels = []*Variant{plain, wrap}
	}
	for _, v := range kernels {
		var mods []string
		for _, m := range v.ModuleNames() {
			mods = append(mods, v.Modules[m])
		}
		res, err := e2e.Run(bootContext(t), e2e.Boot{
			Arch:    "amd64",
			Vmlinux: v.Vmlinux,
			Modules: mods,
			Fentry:  targets,
			WorkDir: t.TempDir(),
			// The config has no ACPI: poweroff would only halt.
			Reboot: true,
		})
		kind := "wrapper"
		if v == plain {
			kind = "plain"
		}
		if err != nil {
			t.Fatalf("%s boot: %v", kind, err)
		}
		t.Logf("%s kernel %s: /init after %v, done after %v", kind, res.Release, res.BootTime.Round(time.Millisecond), res.Total.Round(time.Millisecond))
		var loaded []string
		for _, m := range SortedKeys(res.Insmod) {
			if res.Insmod[m] != "ok" {
				t.Errorf("%s: insmod %s: %s", kind, m, res.Insmod[m])
			}
			if !res.ModuleBTF[m] {
				t.Errorf("%s: /sys/kernel/btf/%s missing", kind, m)
			}
			loaded = append(loaded, m)
		}
		if len(loaded) != len(mods) {
			t.Errorf("%s: %d modules loaded of %d", kind, len(loaded), len(mods))
		}
		t.Logf("%s: modules loaded with BTF: %s", kind, strings.Join(loaded, " "))
		resolved := ""
		for _, l := range res.BTFErrors {
			// The external module's init says it found its BTF IDs
			// resolved (it fails to load otherwise).
			if strings.HasPrefix(l, "btffilter_kbuild: loaded, BTF IDs ") {
				resolved = l
				continue
			}
			// The probe collects every line that mentions "btf", which
			// the names of this build (btffilter@kbuild, the module)
			// do too.
			rest := strings.ReplaceAll(strings.ToLower(l), "btffilter", "")
			if strings.Contains(rest, "btf") || strings.Contains(rest, "failed to validate") {
				t.Errorf("%s: kernel log: %s", kind, l)
			}
		}
		if resolved == "" {
			t.Errorf("%s: the external module did not report its resolved BTF IDs", kind)
		}
		t.Logf("%s: %s", kind, resolved)
		for _, target := range targets {
			got := res.Fentry[target]
			t.Logf("%s: fentry %s: %s", kind, target, got)
			if v == plain {
				continue
			}
			switch ok := got == "ok"; {
			case want[target] && !ok:
				t.Errorf("fentry %s: %q, want ok", target, got)
			case !want[target] && (ok || !(strings.Contains(got, "not found") || strings.Contains(got, "no FUNC"))):
				t.Errorf("fentry %s: %q, want a not-found error", target, got)
			}
		}
		if v == plain && removedVmlinux != "" {
			// The contrast: what the wrapper removed attaches here.
			if got := res.Fentry[removedVmlinux]; got != "ok" {
				t.Errorf("plain: fentry %s: %q, want ok", removedVmlinux, got)
			}
		}
	}
}

// ftraced returns the functions of a vmlinux that have an ftrace call site
// and are the only function symbol of their name:
// a function whose address is in the mcount table, which the linker script
// puts between __start_mcount_loc and __stop_mcount_loc (inside an init
// data section).
func ftraced(path string) (map[string]bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	var start, stop uint64
	for _, s := range syms {
		switch s.Name {
		case "__start_mcount_loc":
			start = s.Value
		case "__stop_mcount_loc":
			stop = s.Value
		}
	}
	if start == 0 || stop <= start {
		return nil, fmt.Errorf("%s: no __start_mcount_loc/__stop_mcount_loc", path)
	}
	var data []byte
	for _, sec := range f.Sections {
		if sec.Type == elf.SHT_PROGBITS && start >= sec.Addr && stop <= sec.Addr+sec.Size {
			all, err := sec.Data()
			if err != nil {
				return nil, err
			}
			data = all[start-sec.Addr : stop-sec.Addr]
		}
	}
	if data == nil {
		return nil, fmt.Errorf("%s: no section holds the mcount table", path)
	}
	sites := map[uint64]bool{}
	for off := 0; off+8 <= len(data); off += 8 {
		sites[f.ByteOrder.Uint64(data[off:])] = true
	}
	count := map[string]int{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			count[s.Name]++
		}
	}
	out := map[string]bool{}
	for _, s := range syms {
		// One symbol of the name, in .text: .init.text is freed once the
		// kernel has booted.
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 || count[s.Name] != 1 || int(s.Section) >= len(f.Sections) || f.Sections[s.Section].Name != ".text" {
			continue
		}
		// The call site is the first instruction (x86 -mfentry), or the
		// one after an endbr64.
		for _, d := range []uint64{0, 4} {
			if sites[s.Value+d] {
				out[s.Name] = true
			}
		}
	}
	return out, nil
}

// bootContext bounds a boot by the test deadline, leaving time to report.
func bootContext(t *testing.T) context.Context {
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.WriteFile(dst, readFile(t, src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func section(t *testing.T, path, name string) []byte {
	t.Helper()
	s := sectionOrNil(t, path, name)
	if s == nil {
		t.Fatalf("%s: no section %s", path, name)
	}
	return s
}

func sectionOrNil(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(name)
	if s == nil {
		return nil
	}
	data, err := s.Data()
	if err != nil {
		t.Fatalf("%s: %s: %v", path, name, err)
	}
	return data
}
