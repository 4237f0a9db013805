package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// noSuchFunction is a name no kernel has; fentry on it must fail.
const noSuchFunction = "btffilter_no_such_function"

// bootContext bounds a boot by the test deadline, leaving time to report
// the console before go test gives up on the whole binary.
func bootContext(t *testing.T) context.Context {
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// TestBootUnmodified boots each cached kernel as shipped, with three
// dependency-free modules, and checks that the harness sees what is known
// to be true of them: the modules load with their BTF, fentry attaches to a
// vmlinux function and to a module function where the kernel supports
// fentry, and fails on a name that does not exist.
func TestBootUnmodified(t *testing.T) {
	if testing.Short() {
		t.Skip("boots real kernels under QEMU; skipped with -short")
	}
	tests := []struct {
		tag string
		// fentry is false where the kernel has no fentry support at all
		// (arm64 before 6.4): every attach must then fail as unsupported.
		fentry bool
	}{
		{"6.1-amd64", true},
		{"7.2-amd64", true},
		{"6.1-arm64", false},
		{"7.2-arm64", true},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			// Each kernel boots on its own: two boots share the machine's
			// two cores (go test -parallel is GOMAXPROCS).
			t.Parallel()
			k, err := kernels.Load(tt.tag)
			if err != nil {
				t.Fatal(err)
			}
			mods, modFunc := pickForBoot(t, k)
			t.Logf("modules %v, module function %s", mods, modFunc)
			targets := []string{"do_sys_openat2", modFunc, noSuchFunction}
			res, err := Run(bootContext(t), Boot{
				Arch:    k.Arch,
				Vmlinux: k.Vmlinux,
				Modules: mods,
				Fentry:  targets,
				WorkDir: t.TempDir(),
			})
			if err != nil {
				t.Fatalf("boot %s: %v", tt.tag, err)
			}
			t.Logf("%s (%s): /init after %v, done after %v", tt.tag, res.Release, res.BootTime.Round(time.Millisecond), res.Total.Round(time.Millisecond))
			if res.Release != k.Release {
				t.Errorf("guest runs %q, want %q", res.Release, k.Release)
			}
			for _, m := range mods {
				name, err := ModuleName(m)
				if err != nil {
					t.Fatal(err)
				}
				if got := res.Insmod[name]; got != "ok" {
					t.Errorf("insmod %s: %q", name, got)
				}
				if !res.ModuleBTF[name] {
					t.Errorf("/sys/kernel/btf/%s missing after insmod", name)
				}
			}
			if len(res.BTFErrors) > 0 {
				t.Errorf("kernel log has BTF errors:\n%s", strings.Join(res.BTFErrors, "\n"))
			}
			for _, target := range targets {
				got, ok := res.Fentry[target]
				switch {
				case !ok:
					t.Errorf("fentry %s: no result", target)
				case target == noSuchFunction:
					// The probe finds no such FUNC in vmlinux BTF, and the
					// load fails before anything reaches the kernel's
					// attach code.
					if !strings.HasPrefix(got, "not found:") || !strings.Contains(got, "load:") {
						t.Errorf("fentry %s: %q, want not found and a load error", target, got)
					}
				case tt.fentry && got != "ok":
					t.Errorf("fentry %s: %s", target, got)
				case !tt.fentry && !strings.Contains(got, "not supported"):
					t.Errorf("fentry %s: %q, want \"not supported\" (no fentry on this kernel)", target, got)
				}
				t.Logf("fentry %s: %s", target, got)
			}
		})
	}
}

// TestBootCorruptBTF proves that the harness notices a module whose BTF the
// kernel rejects: one FUNC name in the module's string table is made an
// invalid identifier, which the kernel's BTF checks refuse. Without
// stripping the signature, the edited module is refused before its BTF is
// looked at.
func TestBootCorruptBTF(t *testing.T) {
	if testing.Short() {
		t.Skip("boots real kernels under QEMU; skipped with -short")
	}
	tests := []struct {
		tag   string
		strip bool
		// insmod is a substring of insmod's expected result.
		insmod string
	}{
		// 6.1 reports the bad BTF and still loads the module.
		{"6.1-amd64", true, "ok"},
		// 7.2 refuses the module.
		{"7.2-arm64", true, "Invalid argument"},
		// A stale signature is fatal even though signing is not enforced.
		{"6.1-amd64", false, "Key was rejected by service"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/strip=%v", tt.tag, tt.strip), func(t *testing.T) {
			t.Parallel()
			k, err := kernels.Load(tt.tag)
			if err != nil {
				t.Fatal(err)
			}
			mods, modFunc := pickForBoot(t, k)
			mod, fn, _ := strings.Cut(modFunc, ":")
			var src string
			for _, m := range mods {
				if n, err := ModuleName(m); err == nil && n == mod {
					src = m
				}
			}
			ko, err := readModule(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := breakBTFName(ko, fn); err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			dir := t.TempDir()
			broken := filepath.Join(dir, mod+".ko")
			if err := os.WriteFile(broken, ko, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := Run(bootContext(t), Boot{
				Arch:           k.Arch,
				Vmlinux:        k.Vmlinux,
				Modules:        []string{broken},
				Fentry:         []string{modFunc},
				WorkDir:        dir,
				StripSignature: tt.strip,
			})
			if err != nil {
				t.Fatalf("boot %s: %v", tt.tag, err)
			}
			t.Logf("insmod %s: %s; BTF errors: %q; fentry: %s", mod, res.Insmod[mod], res.BTFErrors, res.Fentry[modFunc])
			if got := res.Insmod[mod]; !strings.Contains(got, tt.insmod) {
				t.Errorf("insmod %s: %q, want %q", mod, got, tt.insmod)
			}
			if res.ModuleBTF[mod] {
				t.Errorf("/sys/kernel/btf/%s exists: the corrupt BTF was accepted", mod)
			}
			if res.Fentry[modFunc] == "ok" {
				t.Errorf("fentry %s attached without module BTF", modFunc)
			}
			if !tt.strip {
				return
			}
			found := false
			for _, l := range res.BTFErrors {
				found = found || strings.Contains(l, "["+mod+"]")
			}
			if !found {
				t.Errorf("no kernel log line about the BTF of %s in %q", mod, res.BTFErrors)
			}
		})
	}
}

// breakBTFName replaces the first byte of the string name in the string
// section of the module's .BTF with '-', so that every BTF entry named
// name has an invalid name.
func breakBTFName(ko []byte, name string) error {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return err
	}
	sec := f.Section(".BTF")
	if sec == nil || sec.Offset+sec.Size > uint64(len(ko)) {
		return fmt.Errorf("no usable .BTF section")
	}
	b := ko[sec.Offset : sec.Offset+sec.Size]
	if len(b) < 24 {
		return fmt.Errorf(".BTF: %d bytes, shorter than its header", len(b))
	}
	le := binary.LittleEndian // both arches here are little-endian
	hdrLen, strOff, strLen := le.Uint32(b[4:]), le.Uint32(b[16:]), le.Uint32(b[20:])
	start := uint64(hdrLen) + uint64(strOff)
	if start+uint64(strLen) > uint64(len(b)) {
		return fmt.Errorf(".BTF: string section [%d,+%d) outside %d bytes", start, strLen, len(b))
	}
	strs := b[start : start+uint64(strLen)]
	i := bytes.Index(strs, []byte("\x00"+name+"\x00"))
	if i < 0 {
		return fmt.Errorf(".BTF: string %q not found", name)
	}
	strs[i+1] = '-'
	return nil
}

// pickForBoot picks three modules of the kernel and a module function to
// trace: the first traceable FUNC of the first picked module that has one.
func pickForBoot(t *testing.T, k *kernels.Kernel) (mods []string, modFunc string) {
	t.Helper()
	files, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	mods, err = PickModules(files, 3)
	if err != nil {
		t.Fatal(err)
	}
	base, err := btf.LoadSpec(k.Vmlinux)
	if err != nil {
		t.Fatalf("vmlinux BTF: %v", err)
	}
	for _, m := range mods {
		fns, err := TraceableFuncs(m, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(fns) > 0 {
			name, err := ModuleName(m)
			if err != nil {
				t.Fatal(err)
			}
			return mods, name + ":" + fns[0]
		}
	}
	t.Fatalf("none of the picked modules %v has a traceable function", mods)
	return nil, ""
}
