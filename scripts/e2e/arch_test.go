package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/btffilter/btffilter/filter"
)

// otherArchBoots are the kernels of the other 64-bit architectures that
// TestBootOtherArches boots, and whether they have fentry at all: Debian
// builds its s390x kernel for z10 (-march=z10), and the s390x BPF JIT, which
// the trampoline is part of, needs z196 (HAVE_EBPF_JIT is not set), so no
// fentry program loads there (observed: ENOMEM, "cannot allocate memory",
// for a function the BTF has). The same holds for the ABI probe, which runs
// where fentry does.
var otherArchBoots = []struct {
	tag    string
	fentry bool
}{
	{"7.2-riscv64", true},
	{"7.2-s390x", false},
}

// TestBootOtherArches boots the filtered 7.2 riscv64 (virt machine,
// OpenSBI) and s390x (s390-ccw-virtio) kernels: btffilter runs the default
// rules on the vmlinux and 20 of its modules (DWARF from the -dbg package)
// and drops tcp_v4_connect and one traceable function of each module, in
// one run; the rewritten kernel boots, every rewritten module loads with its
// BTF, the dropped functions and one a rule removed from vmlinux are no
// longer found by fentry, and kept ones attach where the kernel has fentry.
// Where it has fentry, the ABI probe module (testdata/abiprobe, built for
// the kernel) is loaded too: unfiltered into the unmodified kernel, and
// rewritten in the same btffilter run into the filtered one, and the abi
// rule must agree with the trampoline on every probe function as in
// TestBootDefaultRules (checkABIProbe).
func TestBootOtherArches(t *testing.T) {
	if testing.Short() {
		t.Skip("boots real kernels under QEMU; skipped with -short")
	}
	tool := buildTool(t, t.TempDir())
	for _, tt := range otherArchBoots {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel() // see TestBootUnmodified
			k, base, files := loadKernel(t, tt.tag)
			// PickModules decompresses every file it is given; these
			// kernels ship 2,200 to 3,200 modules, so it is given an even
			// sample of about 300.
			step := max(1, len(files)/300)
			var sample []string
			for i := 0; i < len(files); i += step {
				sample = append(sample, files[i])
			}
			cands, err := PickModules(sample, 2*filteredModules)
			if err != nil {
				t.Fatal(err)
			}
			usable, fns := withTraceable(t, cands, base)
			// Where the kernel has no fentry, the control boot tries it on
			// do_sys_openat2: the filtered kernel must fail the kept
			// targets with that same error. (Under TCG an attach takes
			// seconds; where fentry works the filtered boot's own attaches
			// say enough.)
			var ctrlTargets []string
			if !tt.fentry {
				ctrlTargets = []string{"do_sys_openat2"}
			}
			// The ABI probe, where there is fentry: the unmodified
			// kernel's trampoline reads the unfiltered module.
			orig := side{vmlinux: k.Vmlinux, base: base}
			var probeFuncs []ABIFunc
			var probeFiles map[string][]byte
			var probeArgs []string
			ctrlModules := usable
			if tt.fentry {
				var list []byte
				orig.probe, probeFuncs, list = abiProbeFor(t, tt.tag, base)
				probeFiles = map[string][]byte{abiListFile: list}
				probeArgs = abiProbeArgs
				ctrlModules = append(slices.Clip(usable), orig.probe)
			}
			control, err := Run(bootContext(t), Boot{
				Arch:           k.Arch,
				Vmlinux:        k.Vmlinux,
				Vmlinuz:        k.Vmlinuz,
				Modules:        ctrlModules,
				Fentry:         ctrlTargets,
				WorkDir:        t.TempDir(),
				StripSignature: true,
				Files:          probeFiles,
				ProbeArgs:      probeArgs,
			})
			if err != nil {
				t.Fatalf("control boot: %v", err)
			}
			t.Logf("control boot of %s: /init after %v, done after %v", control.Release, control.BootTime.Round(time.Millisecond), control.Total.Round(time.Millisecond))
			mods, drops, keep := chooseDrops(t, control, usable, fns)
			dir := t.TempDir()
			vmlinux := filepath.Join(dir, "vmlinux")
			copyTo(t, k.Vmlinux, vmlinux)
			args := []string{"-j", "--strip-signature", "--rules", "default", "--debuginfo", filepath.Join(k.Dir, "dbg"),
				"--drop", "tcp_v4_connect"}
			var out []string
			for i, m := range mods {
				args = append(args, "--drop", drops[i])
				dst := filepath.Join(dir, filepath.Base(m))
				copyTo(t, m, dst)
				out = append(out, dst)
			}
			args = append(append(args, vmlinux), out...)
			filt := side{vmlinux: vmlinux}
			if orig.probe != "" {
				filt.probe = filepath.Join(dir, "abiprobe.ko")
				copyTo(t, orig.probe, filt.probe)
				args = append(args, filt.probe)
			}
			start := time.Now()
			cmd := exec.Command(tool, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			res, err := cmd.Output()
			if err != nil {
				t.Fatalf("btffilter: %v\n%s", err, stderr.String())
			}
			var rep filter.Report
			if err := json.Unmarshal(res, &rep); err != nil {
				t.Fatalf("btffilter report: %v", err)
			}
			// A vmlinux function a judging rule removed: fentry must not
			// find it either.
			ruleRemoved, perRule := "", map[string]int{}
			for _, f := range rep.Files {
				if f.Error != "" {
					t.Errorf("%s: %s", f.Path, f.Error)
				}
				for _, r := range f.Removed {
					perRule[r.Rule]++
					if f.Path == vmlinux && r.Rule != "drop" && ruleRemoved == "" {
						ruleRemoved = r.Name
						t.Logf("vmlinux: %s removed by %s: %s", r.Name, r.Rule, r.Reason)
					}
				}
			}
			t.Logf("btffilter on vmlinux + %d modules: %v, removed per rule %v", len(out), time.Since(start).Round(time.Millisecond), perRule)
			if perRule["drop"] < 1+len(out) || ruleRemoved == "" {
				t.Fatalf("removed per rule %v: want at least %d drops and a rule's removal from vmlinux", perRule, 1+len(out))
			}
			dropped := mustModuleName(t, mods[len(mods)-1]) + ":" + drops[len(drops)-1]
			targets := []string{"tcp_v4_connect", ruleRemoved, "do_sys_openat2", keep, dropped}
			boot := Boot{
				Arch:    k.Arch,
				Vmlinux: vmlinux,
				Vmlinuz: k.Vmlinuz,
				Modules: out,
				Fentry:  targets,
				WorkDir: t.TempDir(),
			}
			if filt.probe != "" {
				boot.Modules = append(slices.Clip(boot.Modules), filt.probe)
				boot.Files, boot.ProbeArgs = probeFiles, probeArgs
			}
			got, err := Run(bootContext(t), boot)
			if err != nil {
				t.Fatalf("boot: %v", err)
			}
			t.Logf("%s: booted %s, /init after %v, done after %v", tt.tag, got.Release, got.BootTime.Round(time.Millisecond), got.Total.Round(time.Millisecond))
			if got.Release != k.Release {
				t.Errorf("guest runs %q, want %q", got.Release, k.Release)
			}
			for _, m := range mods {
				name := mustModuleName(t, m)
				if r := got.Insmod[name]; r != "ok" {
					t.Errorf("insmod %s: %q", name, r)
				}
				if !got.ModuleBTF[name] {
					t.Errorf("/sys/kernel/btf/%s missing", name)
				}
			}
			if len(got.BTFErrors) > 0 {
				t.Errorf("kernel log has BTF errors:\n%s", strings.Join(got.BTFErrors, "\n"))
			}
			if !tt.fentry && control.Fentry["do_sys_openat2"] == "ok" {
				t.Errorf("fentry do_sys_openat2 attached to the unmodified kernel, which was taken to have no fentry")
			}
			for _, target := range targets {
				r := got.Fentry[target]
				t.Logf("fentry %s: %s", target, r)
				kept := target == "do_sys_openat2" || target == keep
				switch {
				case kept && tt.fentry && r != "ok":
					t.Errorf("fentry %s: %q, want ok", target, r)
				case kept && !tt.fentry && (r == "ok" || r != control.Fentry["do_sys_openat2"]):
					t.Errorf("fentry %s: %q; on do_sys_openat2 the unmodified kernel, which has no fentry, said %q", target, r, control.Fentry["do_sys_openat2"])
				case !kept && (r == "ok" || !(strings.Contains(r, "not found") || strings.Contains(r, "no FUNC"))):
					t.Errorf("fentry %s: %q, want a not-found error", target, r)
				}
			}
			if filt.probe != "" {
				if filt.base, err = btf.LoadSpec(vmlinux); err != nil {
					t.Fatal(err)
				}
				orig.res, filt.res = control, got
				checkABIProbe(t, tt.tag, &rep, probeFuncs, orig, filt)
			}
		})
	}
}
