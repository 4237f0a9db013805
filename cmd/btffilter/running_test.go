package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestRunningKernelBase: a module encoded against this machine's own
// kernel (its BTF in /sys/kernel/btf/vmlinux) is filtered against it with
// -B, and without -B when its vermagic names the running kernel; --check
// predicts it loads.
func TestRunningKernelBase(t *testing.T) {
	if testing.Short() {
		t.Skip("the running kernel is not read in -short mode")
	}
	const sysBTF = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(sysBTF); err != nil || runtime.GOARCH != "amd64" {
		t.Fatalf("needs an x86-64 kernel with %s: %v", sysBTF, err)
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := utsRelease(u.Release[:])
	dir := t.TempDir()
	mod := copyFile(t, "../../testdata/x86_64/gcc/module.o", dir)
	// The fixture module's own vermagic, then its BTF encoded by pahole
	// against the running kernel's.
	info := filepath.Join(dir, "modinfo")
	if err := os.WriteFile(info, []byte("license=GPL\x00name=module\x00vermagic="+release+" SMP mod_unload \x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{
		{"objcopy", "--update-section", ".modinfo=" + info, mod},
		{"pahole", "-J", "--btf_base", sysBTF, mod},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	for _, args := range [][]string{{"-B", sysBTF}, nil} {
		rep := jsonReport(t, append(append([]string{"-n", "--drop", "mod_flush"}, args...), mod)...)
		f := rep.Files[0]
		if f.Error != "" || len(f.Removed) != 1 || !strings.HasPrefix(f.Base, sysBTF) {
			t.Errorf("%v: error %q, removed %v, base %q", args, f.Error, f.Removed, f.Base)
		}
	}
	if stdout, stderr, code := runCLI(t, "--check", mod); code != 0 || !strings.Contains(stdout, ": ok") {
		t.Errorf("--check: exit %d\n%s%s", code, stdout, stderr)
	}
}

func utsRelease(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
