package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFsyncPolicy traces the process's sync calls: a rewrite in place
// without --fsync calls none (the replacement is still an atomic rename);
// with --fsync every rewritten file and its directory are synced before the
// rename is final, and a run that writes nothing syncs nothing either way.
func TestFsyncPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("strace is not run in -short mode")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is missing (scripts/setup.sh installs it)")
	}
	bin := buildCommand(t)
	for _, tc := range []struct {
		name  string
		args  []string
		syncs int  // at least this many; 0 means none at all
		write bool // the run rewrites the file
	}{
		{"default", nil, 0, true},
		{"--fsync", []string{"--fsync"}, 2, true},
		{"--fsync, nothing to write", []string{"--fsync", "-n"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			vml := copyFile(t, fixtureBase, dir)
			before := hashFile(t, vml)
			log := filepath.Join(t.TempDir(), "strace.log")
			args := append([]string{"-f", "-qq", "-e", "trace=fsync,fdatasync,syncfs,sync", "-o", log, bin, "--drop", "wide_middle"}, tc.args...)
			out, err := exec.Command(strace, append(args, vml)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if changed := hashFile(t, vml) != before; changed != tc.write {
				t.Fatalf("file changed: %v, want %v", changed, tc.write)
			}
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if strings.Contains(l, "sync") {
					calls = append(calls, l)
				}
			}
			switch {
			case tc.syncs == 0 && len(calls) > 0:
				t.Fatalf("%d sync calls, want none:\n%s", len(calls), strings.Join(calls, "\n"))
			case len(calls) < tc.syncs:
				t.Fatalf("%d sync calls, want at least %d (the file and its directory):\n%s", len(calls), tc.syncs, data)
			}
			t.Logf("%d sync calls", len(calls))
		})
	}
}
