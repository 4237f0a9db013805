package e2e

import (
	"bytes"
	"debug/elf"
	"errors"
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
	"github.com/cilium/ebpf/btf"
)

// dkmsBoot is the proof of the modules users build with dkms: Debian's
// DKMS packages, built by dkms against the 7.2 amd64 headers in the sid
// chroot (scripts/build-dkms.sh: stripped and signed with dkms's own key,
// the unstripped builds kept as a debug tree), filtered as a whole tree
// without -B and with --debuginfo; a dry run first, which must decide what
// the real run does. btffilter --check predicts every filtered module
// accepted by the 7.2 kernel, and the guest loads them all with their
// dependencies: each loads with its BTF, kept functions attach, removed
// ones are not found. The guest also loads the module dkms builds with the
// recipe of docs/packaging.md (dkmsHook).
func dkmsBoot(t *testing.T, tool string) {
	_, self, _, _ := runtime.Caller(0)
	build := exec.CommandContext(bootContext(t), "bash", filepath.Join(filepath.Dir(self), "..", "build-dkms.sh"), "7.2-amd64")
	var stderr strings.Builder
	build.Stderr = &stderr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("build-dkms.sh: %v\n%s", err, stderr.String())
	}
	built := strings.TrimSpace(string(out))
	record, err := os.ReadFile(filepath.Join(built, "BUILD"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DKMS build (%s):\n%s", built, record)
	k, base, debianFiles := loadKernel(t, "7.2-amd64")

	tree := filepath.Join(t.TempDir(), "lib", "modules", k.Release, "updates", "dkms")
	dry := filepath.Join(t.TempDir(), "dry")
	for _, dst := range []string{tree, dry} {
		if err := linkTree(filepath.Join(built, "modules"), dst); err != nil {
			t.Fatal(err)
		}
	}
	files := treeFiles(t, tree)
	if len(files) < 60 {
		t.Fatalf("%d DKMS modules in %s, want the 64 of acpi-call, lttng-modules and xtables-addons", len(files), built)
	}
	for _, f := range files {
		if !hasSection(t, f, ".BTF.base") {
			t.Errorf("%s has no .BTF.base: not what a 7.2 external build makes", f)
		}
	}
	debug := filepath.Join(built, "debug")
	dryRun := filterJSON(t, tool, "-n", "--debuginfo", debug, dry)
	real := filterJSON(t, tool, "--strip-signature", "--debuginfo", debug, tree)
	if len(real.Files) != len(files) || len(dryRun.Files) != len(files) {
		t.Fatalf("reports on %d and %d files, want %d", len(dryRun.Files), len(real.Files), len(files))
	}
	removed := func(f *filter.FileReport) []string {
		var names []string
		for _, rm := range f.Removed {
			names = append(names, rm.Name)
		}
		return names
	}
	var gone []string
	nRewritten := 0
	for i, f := range real.Files {
		d := dryRun.Files[i]
		rel, _ := filepath.Rel(tree, f.Path)
		if drel, _ := filepath.Rel(dry, d.Path); drel != rel || !slices.Equal(removed(d), removed(f)) {
			t.Errorf("%s: the dry run removes %v, the real run %v", rel, removed(d), removed(f))
		}
		if !strings.Contains(f.Base, "distilled") {
			t.Errorf("%s: judged on %q, not its distilled base", rel, f.Base)
		}
		if f.Written {
			nRewritten++
			if ko, err := os.ReadFile(f.Path); err != nil {
				t.Fatal(err)
			} else if _, signed, err := stripSignature(f.Path, ko); err != nil || signed {
				t.Errorf("%s: rewritten and still signed (%v)", rel, err)
			}
		}
		name := mustModuleName(t, f.Path)
		for _, rm := range removed(f) {
			gone = append(gone, name+":"+rm)
		}
	}
	if len(gone) == 0 {
		t.Fatalf("the default rules removed no function from the %d DKMS modules: nothing to look for on the kernel", len(files))
	}

	preds := predictAll(t, tool, k.Vmlinux, files)
	refused := 0
	for _, f := range files {
		if p := preds[f]; p.verdict != "ok" {
			refused++
			t.Errorf("%s: btffilter --check says %s: %s", f, p.verdict, p.reason)
		}
	}

	hook, hookGone := dkmsHook(t, tool, base)

	// The guest loads every DKMS module, each after its dependencies (from
	// the DKMS tree or Debian's), and the module dkms built with the
	// filter in its MAKE line.
	idx := newModIndex(append(slices.Clone(files), debianFiles...))
	var names []string
	traceable := map[string][]string{}
	seen := map[string]int{} // function name -> modules with it traceable
	for _, f := range files {
		name := mustModuleName(t, f)
		names = append(names, name)
		fns, err := TraceableFuncs(f, base)
		if err != nil {
			t.Fatal(err)
		}
		traceable[name] = fns
		for _, fn := range fns {
			seen[fn]++
		}
	}
	load, err := idx.loadOrder(names)
	if err != nil {
		t.Fatal(err)
	}
	// One kept function of each module to attach to, of a name no other
	// DKMS module has (attach by name takes the first BTF that has it).
	var fentry []string
	for _, name := range names {
		for _, fn := range traceable[name] {
			if seen[fn] == 1 {
				fentry = append(fentry, name+":"+fn)
				break
			}
		}
	}
	deps := len(load) - len(files) // Debian's modules the DKMS ones need
	load = append(load, ModuleInfo{Path: hook, Name: mustModuleName(t, hook), Loadable: true})
	hookFns, err := TraceableFuncs(hook, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(hookFns) == 0 {
		t.Fatalf("%s: no traceable function kept", hook)
	}
	fentry = append(fentry, "btffilter_kbuild:"+hookFns[0])
	filtered := fmt.Sprintf("DKMS: %d modules filtered without -B (%d rewritten; removed: %s), the dry run deciding the same; --check: %d ok, %d refused",
		len(files), nRewritten, strings.Join(gone, " "), len(files)-refused, refused)
	gone = append(gone, hookGone...)
	var paths []string
	for _, m := range load {
		paths = append(paths, m.Path)
	}
	res, err := Run(bootContext(t), Boot{
		Arch:    k.Arch,
		Vmlinux: k.Vmlinux,
		Modules: paths,
		WorkDir: t.TempDir(),
		Files: map[string][]byte{
			"fentry.txt": []byte(strings.Join(fentry, "\n")),
			"gone.txt":   []byte(strings.Join(gone, "\n")),
		},
		ProbeArgs: []string{"-fentry-list", "/fentry.txt", "-gone-list", "/gone.txt", "-keep"},
		MemoryMB:  2048,
	})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	if res.Release != k.Release {
		t.Errorf("guest runs %q, want %q", res.Release, k.Release)
	}
	loaded, noDevice := 0, []string{}
	for _, m := range load {
		switch kv, _ := kernelVerdict(res, m.Name); {
		case kv == "accepted":
			loaded++
		case strings.HasPrefix(kv, "insmod: ") && (strings.HasSuffix(kv, "No such device or address") || strings.HasSuffix(kv, "No such device")):
			// Its init failed for want of something the guest lacks
			// (xt_pknock has request_module load "hmac(sha256)", and
			// the guest has no modprobe): the kernel took its BTF
			// before init ran, and no BTF error line names it.
			noDevice = append(noDevice, m.Name)
		default:
			t.Errorf("%s: %s", m.Name, kv)
		}
	}
	if loaded < len(load)-3 {
		t.Errorf("%d of %d modules loaded with their BTF, want all but at most 3 whose init fails in the guest", loaded, len(load))
	}
	for _, l := range res.BTFErrors {
		// The module of testdata/kbuild/module prints its BTF IDs.
		if !strings.HasPrefix(l, "btffilter_kbuild: loaded, BTF IDs ") {
			t.Errorf("BTF error in the kernel log: %s", l)
		}
	}
	attached := 0
	for _, f := range fentry {
		mod, _, _ := strings.Cut(f, ":")
		switch got := res.Fentry[f]; {
		case got == "ok":
			attached++
		case slices.Contains(noDevice, mod):
		default:
			t.Errorf("fentry %s (kept): %q, want ok", f, got)
		}
	}
	absent := checkGone(t, res, gone)
	t.Log(filtered)
	t.Logf("DKMS boot: %d of %d modules (the DKMS ones, %d of Debian's they need, the one dkms built with the filter in MAKE) loaded with their BTF, init failing without a device: %v; %d of %d kept functions attached, %d of %d removed ones not found; /init after %v, done after %v",
		loaded, len(load), deps, noDevice, attached, len(fentry), absent, len(gone), res.BootTime.Round(time.Second), res.Total.Round(time.Second))
}

// dkmsHook runs the DKMS recipe of docs/packaging.md with the real dkms
// (scripts/dkms-hook.sh): testdata/kbuild/module packaged with the
// document's MAKE line and script, built by dkms against the 7.2 amd64
// headers. It checks that the filter ran inside the build (its report line
// in dkms's make.log) and that dkms then stripped and signed what it wrote,
// and returns the module and the functions the filter removed from it
// (MODULE:FUNC): those of its function symbols that its BTF lacks.
func dkmsHook(t *testing.T, tool string, vmlinux *btf.Spec) (string, []string) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	out := t.TempDir()
	cmd := exec.CommandContext(bootContext(t), "bash", filepath.Join(filepath.Dir(self), "..", "dkms-hook.sh"), tool, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dkms-hook.sh: %v\n%s", err, b)
	}
	makeLog, err := os.ReadFile(filepath.Join(out, "make.log"))
	if err != nil {
		t.Fatal(err)
	}
	var report string
	for l := range strings.Lines(string(makeLog)) {
		if strings.HasPrefix(l, "btffilter_kbuild.ko: module ") {
			report = strings.TrimSpace(l)
		}
	}
	if !strings.Contains(report, "functions removed") || strings.Contains(report, " 0 functions removed") {
		t.Fatalf("dkms make.log has no btffilter report removing functions from btffilter_kbuild.ko (%q):\n%s", report, makeLog)
	}
	ko := filepath.Join(out, "btffilter_kbuild.ko")
	raw, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	if _, signed, err := stripSignature(ko, raw); err != nil || !signed {
		t.Errorf("%s: not signed by dkms after the filter (%v)", ko, err)
	}
	if hasSection(t, ko, ".debug_info") || !hasSection(t, ko, ".BTF.base") {
		t.Errorf("%s: want it stripped by dkms, with its distilled base", ko)
	}
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := moduleSpec(ko, f, vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || !strings.HasPrefix(s.Name, "btffilter_kbuild_") {
			continue
		}
		var fn *btf.Func
		if err := spec.TypeByName(s.Name, &fn); errors.Is(err, btf.ErrNotFound) {
			gone = append(gone, "btffilter_kbuild:"+s.Name)
		}
	}
	if len(gone) == 0 {
		t.Fatalf("%s: every btffilter_kbuild_ function is in its BTF, yet the report says %q", ko, report)
	}
	t.Logf("dkms with the filter in MAKE[0]: %s; signed and stripped by dkms afterwards", report)
	return ko, gone
}
