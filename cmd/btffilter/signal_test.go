package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// TestInterruptedTreeRun kills (SIGINT, then SIGKILL) a run over a few
// hundred real modules part way: afterwards every file is either its old
// bytes or a complete new version, and no temporary file is left once a
// later run has passed over the directory.
func TestInterruptedTreeRun(t *testing.T) {
	k := realKernel(t, "6.1-amd64")
	base := btftest.Load(t, k.Vmlinux, nil)
	mods, funcs := pickModules(t, k, base, 200)
	bin := buildCommand(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			orig := map[string][]byte{}
			args := []string{"--jobs", "1", "--strip-signature", "-B", k.Vmlinux}
			for _, f := range funcs {
				args = append(args, "--drop", f)
			}
			for _, m := range mods {
				p := copyModule(t, k, m, dir)
				orig[p], _ = os.ReadFile(p)
				args = append(args, p)
			}
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once the first file (--jobs 1 goes in order) has
			// been rewritten.
			first := args[len(args)-len(mods)]
			deadline := time.Now().Add(2 * time.Minute)
			for !changed(first, orig[first]) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			rewritten := 0
			for p, old := range orig {
				now, _ := os.ReadFile(p)
				if bytes.Equal(now, old) {
					continue
				}
				rewritten++
				btftest.Load(t, p, base) // a complete, valid new version
			}
			t.Logf("%v: %d of %d files rewritten, exit %v", sig, rewritten, len(orig), err)
			if sig == syscall.SIGINT {
				if rewritten == len(orig) {
					t.Log("the run finished before the signal arrived")
				} else if !strings.Contains(stderr.String(), "interrupted before it was processed") {
					t.Errorf("interrupted run did not report the files it left:\n%s", stderr.String())
				}
			}
			// A second, complete run finishes the job and sweeps up what
			// a killed writer left behind.
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("second run: %v\n%s", err, out)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
			for p := range orig {
				s := btftest.Load(t, p, base)
				for i := range s.Types {
					if s.Types[i].Kind() == btf.KindFunc && s.Name(&s.Types[i]) == funcs[0] {
						t.Fatalf("%s still has %s after the second run", p, funcs[0])
					}
				}
			}
		})
	}
}

func changed(path string, old []byte) bool {
	now, err := os.ReadFile(path)
	return err == nil && !bytes.Equal(now, old)
}
