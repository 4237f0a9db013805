package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPipeline runs the whole command on a mutated small module (split on
// the fixture vmlinux): it must never panic, and a file it fails on must
// keep its bytes.
func FuzzPipeline(f *testing.F) {
	for _, p := range []string{fixtureModule, fixtureModule + ".gz", fixtureModule + ".zst"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(0))
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		path := filepath.Join(dir, "m.ko")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"-B", fixtureBase, "--drop", "mod_*"}
		if mode&1 != 0 {
			args = append(args, "-n")
		}
		if mode&2 != 0 {
			args = append(args, "--strip-signature")
		}
		code := run(append(args, path), io.Discard, io.Discard)
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 && !bytes.Equal(after, data) {
			t.Fatal("a failed file was changed")
		}
	})
}
