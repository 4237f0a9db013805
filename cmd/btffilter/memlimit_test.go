package main

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestMemoryPressure judges the whole 6.1 vmlinux under a tight GOMEMLIMIT:
// the collector works harder, the decisions must not change.
func TestMemoryPressure(t *testing.T) {
	k := realKernel(t, "6.1-amd64")
	bin := buildCommand(t)
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
