package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// filteredModules is how many modules are rewritten with the vmlinux and
// loaded into the filtered kernel.
const filteredModules = 20

// buildTool builds the btffilter command into dir.
func buildTool(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "btffilter")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/btffilter/btffilter/cmd/btffilter").CombinedOutput()
	if err != nil {
		t.Fatalf("go build btffilter: %v\n%s", err, out)
	}
	return bin
}

// TestBootFiltered is the kernel test of the rewrite path: btffilter drops
// tcp_v4_connect from a real vmlinux and one function from each of 20 of its
// modules in one run; the filtered kernel boots under QEMU, every rewritten
// module loads with its BTF, the dropped functions can no longer be traced,
// and the kept ones still can.
func TestBootFiltered(t *testing.T) {
	if testing.Short() {
		t.Skip("boots real kernels under QEMU; skipped with -short")
	}
	tool := buildTool(t, t.TempDir())
	for _, tag := range []string{"6.1-amd64", "7.2-amd64", "7.2-arm64"} {
		t.Run(tag, func(t *testing.T) {
			t.Parallel() // see TestBootUnmodified
			k, base, files := loadKernel(t, tag)
			// Modules that load in the unmodified kernel under QEMU (some
			// refuse for want of hardware) and have a traceable function
			// of their own: the filtered kernel must load these too.
			cands, err := PickModules(files, 2*filteredModules)
			if err != nil {
				t.Fatal(err)
			}
			usable, fns := withTraceable(t, cands, base)
			control, err := Run(bootContext(t), Boot{
				Arch:           k.Arch,
				Vmlinux:        k.Vmlinux,
				Modules:        usable,
				WorkDir:        t.TempDir(),
				StripSignature: true,
			})
			if err != nil {
				t.Fatalf("control boot: %v", err)
			}
			// Each module: one traceable function to drop; the first
			// module with two also gives the one that must still attach.
			mods, drops, keep := chooseDrops(t, control, usable, fns)
			dir := t.TempDir()
			vmlinux := filepath.Join(dir, "vmlinux")
			copyTo(t, k.Vmlinux, vmlinux)
			args := []string{"--strip-signature", "-v", "--drop", "tcp_v4_connect"}
			var out []string
			for i, m := range mods {
				args = append(args, "--drop", drops[i])
				dst := filepath.Join(dir, filepath.Base(m))
				copyTo(t, m, dst)
				out = append(out, dst)
			}
			args = append(append(args, vmlinux), out...)
			start := time.Now()
			res, err := exec.Command(tool, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("btffilter: %v\n%s", err, res)
			}
			t.Logf("btffilter on vmlinux + %d modules: %v", len(out), time.Since(start).Round(time.Millisecond))
			if n := strings.Count(string(res), "skipping BTF encoding of function"); n < 1+len(out) {
				t.Fatalf("btffilter removed %d functions, want at least %d:\n%s", n, 1+len(out), res)
			}
			// Rewritten compressed modules must still be what kbuild makes:
			// xz with CRC32 checks, which the kernel's decompressor needs.
			for _, m := range out {
				if !strings.HasSuffix(m, ".xz") {
					continue
				}
				list, err := exec.Command("xz", "--robot", "--list", m).Output()
				if err != nil || !strings.Contains(string(list), "CRC32") {
					t.Errorf("%s: xz --list: %v\n%s", m, err, list)
				}
			}
			dropped := mustModuleName(t, mods[len(mods)-1]) + ":" + drops[len(drops)-1]
			targets := []string{"tcp_v4_connect", "do_sys_openat2", keep, dropped}
			boot, err := Run(bootContext(t), Boot{
				Arch:    k.Arch,
				Vmlinux: vmlinux,
				Modules: out,
				Fentry:  targets,
				WorkDir: t.TempDir(),
			})
			if err != nil {
				t.Fatalf("boot: %v", err)
			}
			t.Logf("%s: booted %s, /init after %v", tag, boot.Release, boot.BootTime.Round(time.Millisecond))
			for _, m := range mods {
				name := mustModuleName(t, m)
				if got := boot.Insmod[name]; got != "ok" {
					t.Errorf("insmod %s: %q", name, got)
				}
				if !boot.ModuleBTF[name] {
					t.Errorf("/sys/kernel/btf/%s missing", name)
				}
			}
			if len(boot.BTFErrors) > 0 {
				t.Errorf("kernel log has BTF errors:\n%s", strings.Join(boot.BTFErrors, "\n"))
			}
			for _, target := range targets {
				got := boot.Fentry[target]
				t.Logf("fentry %s: %s", target, got)
				wantOK := target == "do_sys_openat2" || target == keep
				switch {
				case wantOK && got != "ok":
					t.Errorf("fentry %s: %q, want ok", target, got)
				case !wantOK && (got == "ok" || !(strings.Contains(got, "not found") || strings.Contains(got, "no FUNC"))):
					t.Errorf("fentry %s: %q, want a not-found error", target, got)
				}
			}
		})
	}
}

func mustModuleName(t *testing.T, path string) string {
	t.Helper()
	n, err := ModuleName(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// chooseDrops picks, among the usable modules that loaded with their BTF in
// the control boot, filteredModules to rewrite: each gives its last
// traceable function to drop, and the first with two gives the one that
// must still attach (keep, "module:function").
func chooseDrops(t *testing.T, control *Result, usable []string, fns map[string][]string) (mods, drops []string, keep string) {
	t.Helper()
	for _, m := range usable {
		name := mustModuleName(t, m)
		if control.Insmod[name] != "ok" || !control.ModuleBTF[name] || len(mods) == filteredModules {
			continue
		}
		if keep == "" && len(fns[m]) >= 2 {
			keep = name + ":" + fns[m][0]
		}
		mods = append(mods, m)
		drops = append(drops, fns[m][len(fns[m])-1])
	}
	if len(mods) < filteredModules || keep == "" {
		t.Fatalf("%d of %d candidate modules load in the unmodified kernel (want %d), module function %q", len(mods), len(usable), filteredModules, keep)
	}
	return mods, drops, keep
}

// loadKernel loads the cached kernel tag, its vmlinux BTF and the list of
// its shipped module files.
func loadKernel(t *testing.T, tag string) (*kernels.Kernel, *btf.Spec, []string) {
	t.Helper()
	k, err := kernels.Load(tag)
	if err != nil {
		t.Fatal(err)
	}
	base, err := btf.LoadSpec(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	files, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	return k, base, files
}

// withTraceable keeps the candidate modules that have a traceable function
// of their own on base, in order, with those functions.
func withTraceable(t *testing.T, cands []string, base *btf.Spec) ([]string, map[string][]string) {
	t.Helper()
	fns := map[string][]string{}
	var usable []string
	for _, m := range cands {
		f, err := TraceableFuncs(m, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) > 0 {
			fns[m] = f
			usable = append(usable, m)
		}
	}
	return usable, fns
}
