package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMemoryPressure rewrites the whole 6.1 vmlinux (default rules) under a
// tight GOMEMLIMIT: the collector works harder, the report and the written
// bytes must not change, and the input keeps its bytes.
func TestMemoryPressure(t *testing.T) {
	k := realKernel(t, "6.1-amd64")
	bin := buildCommand(t)
	in := hashFile(t, k.Vmlinux)
	dir := t.TempDir()
	run := func(limit string) ([]byte, [32]byte) {
		out := filepath.Join(dir, "vmlinux-"+limit)
		cmd := exec.Command(bin, "-j", "-o", out, k.Vmlinux)
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+limit)
		report, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOMEMLIMIT=%s: %v", limit, err)
		}
		h := hashFile(t, out)
		os.Remove(out)
		return report, h
	}
	normalReport, normalOut := run("off")
	tightReport, tightOut := run("256MiB")
	if !bytes.Equal(normalReport, tightReport) {
		t.Fatal("the report changed under memory pressure")
	}
	if normalOut != tightOut {
		t.Fatal("the written vmlinux changed under memory pressure")
	}
	if hashFile(t, k.Vmlinux) != in {
		t.Fatal("the input changed")
	}
}
