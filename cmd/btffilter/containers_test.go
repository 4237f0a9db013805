package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// TestContainers runs a base and its split module through one run in every
// container the fixtures have: ELF64 and ELF32 objects, raw blobs (split via
// -B), and a big-endian raw blob (as s390x kernels carry).
func TestContainers(t *testing.T) {
	bigEndian := func(t *testing.T, dir, name string) string {
		data, err := os.ReadFile("../../testdata/x86_64/gcc/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var base *btf.Spec
		if name == "module.btf" {
			base = decodeRawFixture(t, "base.btf", binary.BigEndian)
		}
		s, err := btf.Decode(data, reorder(base, binary.LittleEndian))
		if err != nil {
			t.Fatal(err)
		}
		s.Order, s.Base = binary.BigEndian, base
		p := filepath.Join(dir, "be-"+name)
		if err := os.WriteFile(p, s.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, dir := range []string{"x86_64/gcc", "x86_64/clang", "aarch64/gcc", "aarch64/clang", "i686/clang", "arm/gcc"} {
		for _, tc := range []struct {
			name         string
			base, module string
			raw          bool
		}{
			{dir + "/elf", "base.o", "module.o", false},
			{dir + "/raw", "base.btf", "module.btf", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tmp := t.TempDir()
				b := copyFile(t, "../../testdata/"+dir+"/"+tc.base, tmp)
				m := copyFile(t, "../../testdata/"+dir+"/"+tc.module, tmp)
				runPair(t, b, m, tc.raw)
			})
		}
	}
	t.Run("big-endian/raw", func(t *testing.T) {
		tmp := t.TempDir()
		b, m := bigEndian(t, tmp, "base.btf"), bigEndian(t, tmp, "module.btf")
		runPair(t, b, m, true)
		data, _ := os.ReadFile(b)
		if o, err := btf.ByteOrderOf(data); err != nil || o != binary.BigEndian {
			t.Fatalf("output byte order %v, %v", o, err)
		}
	})
}

// runPair drops one base and one module FUNC. ELF pairs go in one run, the
// module rebased on the filtered base. Raw blobs do not say whether they are
// split, so the raw module is filtered against the original base (-B) and the
// base afterwards on its own: this checks the containers, not a rebase.
func runPair(t *testing.T, base, module string, raw bool) {
	t.Helper()
	drops := []string{"--drop", "queue_push_front", "--drop", "mod_flush"}
	if raw {
		if _, stderr, code := runCLI(t, append(drops, "-B", base, module)...); code != 0 {
			t.Fatalf("module: exit %d: %s", code, stderr)
		}
		if _, stderr, code := runCLI(t, append(drops, base)...); code != 0 {
			t.Fatalf("base: exit %d: %s", code, stderr)
		}
		if names := funcNames(t, base, nil); names["queue_push_front"] || !names["queue_push"] {
			t.Fatalf("base FUNCs: %v", names)
		}
		return
	}
	if _, stderr, code := runCLI(t, append(drops, base, module)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b := btftest.Load(t, base, nil)
	if names := funcNames(t, module, b); names["mod_flush"] || len(names) == 0 {
		t.Fatalf("module FUNCs: %v", names)
	}
	if names := funcNames(t, base, nil); names["queue_push_front"] || !names["queue_push"] {
		t.Fatalf("base FUNCs: %v", names)
	}
}

func decodeRawFixture(t *testing.T, name string, order binary.ByteOrder) *btf.Spec {
	data, err := os.ReadFile("../../testdata/x86_64/gcc/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Order = order
	return s
}

// reorder returns a copy of s (nil stays nil) with the given byte order, for
// decoding a little-endian split blob against a base already turned around.
func reorder(s *btf.Spec, order binary.ByteOrder) *btf.Spec {
	if s == nil {
		return nil
	}
	c := *s
	c.Order = order
	return &c
}
