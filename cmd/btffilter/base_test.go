package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// TestBaseMismatchReal gives a real module the base of another kernel: by
// release (vermagic against linux_banner) the error says which kernel the
// module is for; against a raw base, which carries no release, the split BTF
// itself shows it does not fit. Either way the command line contradicts
// the file (exit 2) and nothing is written. The module
// with its own kernel's vmlinux is the control.
func TestBaseMismatchReal(t *testing.T) {
	k61 := realKernel(t, "6.1-amd64")
	k72 := realKernel(t, "7.2-amd64")
	k61arm := realKernel(t, "6.1-arm64")
	mods72, err := k72.ModuleFiles()
	if err != nil || len(mods72) == 0 {
		t.Fatalf("7.2 modules: %d, %v", len(mods72), err)
	}
	mods61, err := k61.ModuleFiles()
	if err != nil || len(mods61) == 0 {
		t.Fatalf("6.1 modules: %d, %v", len(mods61), err)
	}
	raw61 := filepath.Join(t.TempDir(), "vmlinux-6.1.btf")
	f, err := elfio.Open(k61.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.BTF()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(raw61, data, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		k      *kernels.Kernel
		module string
		base   string
		want   string
	}{
		{"7.2 module, 6.1 vmlinux", k72, mods72[0], k61.Vmlinux,
			"!module is for kernel " + k72.Release + " but the base " + k61.Vmlinux + " is kernel " + k61.Release},
		{"6.1 amd64 module, 6.1 arm64 vmlinux", k61, mods61[0], k61arm.Vmlinux,
			"!module is for kernel " + k61.Release + " but the base " + k61arm.Vmlinux + " is kernel " + k61arm.Release},
		{"7.2 module, raw 6.1 base", k72, mods72[0], raw61, "!does not fit the base " + raw61 + " (the module is for kernel " + k72.Release + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := copyModule(t, tc.k, tc.module, t.TempDir())
			expectFailure(t, path, tc.want, "--strip-signature", "-B", tc.base)
		})
	}
	t.Run("control", func(t *testing.T) {
		path := copyModule(t, k72, mods72[0], t.TempDir())
		if _, stderr, code := runCLI(t, "-n", "--strip-signature", "-B", k72.Vmlinux, path); code != 0 {
			t.Fatalf("the module with its own vmlinux: exit %d: %s", code, stderr)
		}
	})
}
