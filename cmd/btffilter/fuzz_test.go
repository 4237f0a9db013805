package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FuzzPipeline runs the whole command on a mutated small module (split on
// the fixture vmlinux): it must never panic, and a file it fails on must
// keep its bytes. The mode's bits pick a dry run, --strip-signature, and the
// default rules (which read the module's DWARF, relocations applied) instead
// of a removal by name.
func FuzzPipeline(f *testing.F) {
	for _, p := range []string{fixtureModule, fixtureModule + ".gz", fixtureModule + ".zst"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(4))
	}
	// The module with its debug sections compressed, as
	// CONFIG_DEBUG_INFO_COMPRESSED leaves them.
	zdebug := filepath.Join(f.TempDir(), "zdebug.ko")
	if out, err := exec.Command("objcopy", "--compress-debug-sections=zlib", fixtureModule, zdebug).CombinedOutput(); err != nil {
		f.Fatalf("objcopy: %v\n%s", err, out)
	}
	b, err := os.ReadFile(zdebug)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, uint8(4))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		path := filepath.Join(dir, "m.ko")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"-B", fixtureBase, "--drop", "mod_*"}
		if mode&4 != 0 {
			args = []string{"-B", fixtureBase}
		}
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
