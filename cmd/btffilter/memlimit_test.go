package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"btffilter/scripts/kernels"
)

// TestMemoryPressure judges the whole 6.1 vmlinux under a tight GOMEMLIMIT:
// the collector works harder, the decisions must not change.
func TestMemoryPressure(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "btffilter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(limit string) []byte {
		cmd := exec.Command(bin, "-n", "-j", k.Vmlinux)
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+limit)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOMEMLIMIT=%s: %v", limit, err)
		}
		return out
	}
	normal, tight := run("off"), run("256MiB")
	if !bytes.Equal(normal, tight) {
		t.Fatal("the report changed under memory pressure")
	}
}
