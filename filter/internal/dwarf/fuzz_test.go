package dwarf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
)

// fuzzBase loads the sections of a small DWARF 5 object (clang: str_offsets,
// addr, loclists and rnglists indexes) with relocations applied.
func fuzzBase(t testing.TB, variant string) (*Data, *sections) {
	t.Helper()
	raw, err := os.ReadFile(layoutPath(variant))
	if err != nil {
		t.Fatalf("%v (run testdata/dwarf/build.sh)", err)
	}
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := loadSections(f, nil, nil) // copies, relocated whole
	if err != nil {
		t.Fatal(err)
	}
	return &Data{Machine: uint16(f.Machine), ByteOrder: f.ByteOrder, AddrSize: 8}, sec
}

// FuzzScan mutates .debug_info and .debug_abbrev of a real object: the scan
// may fail, but must not panic or hang.
func FuzzScan(f *testing.F) {
	for _, v := range []string{"x86_64-clang", "x86_64-gcc-dwarf4"} {
		_, sec := fuzzBase(f, v)
		f.Add(sec.info, sec.abbrev, v == "x86_64-gcc-dwarf4")
		f.Add(sec.info[:len(sec.info)/2], sec.abbrev, v == "x86_64-gcc-dwarf4")
	}
	// Hand-made DWARF 4 type chains, finite and looping.
	for _, loop := range []bool{false, true} {
		abbrev, info := elftest.TypedefChain("chained", 5, loop)
		f.Add(info, abbrev, true)
	}
	clang, cs := fuzzBase(f, "x86_64-clang")
	gcc4, gs := fuzzBase(f, "x86_64-gcc-dwarf4")
	f.Fuzz(func(t *testing.T, info, abbrev []byte, dwarf4 bool) {
		d, base := *clang, *cs
		if dwarf4 {
			d, base = *gcc4, *gs
		}
		base.info, base.abbrev = info, abbrev
		if _, err := scanSections(&d, &base, Options{Workers: 2}); err != nil {
			return
		}
		for i := range d.Funcs {
			for _, p := range d.Funcs[i].Params {
				_ = p.Type.Is128()
			}
		}
	})
}

// TestMalformed checks that damaged inputs give errors naming the section,
// the unit and the DIE.
func TestMalformed(t *testing.T) {
	d0, sec := fuzzBase(t, "x86_64-clang")
	clone := func(b []byte) []byte { return append([]byte(nil), b...) }
	cases := []struct {
		name   string
		mutate func(s *sections)
		want   string
	}{
		{"truncated header", func(s *sections) { s.info = s.info[:3] }, ".debug_info: unit at 0x0: truncated length"},
		{"unit too long", func(s *sections) {
			s.info = clone(s.info)
			binary.LittleEndian.PutUint32(s.info, uint32(len(s.info)))
		}, "runs past the section"},
		{"bad version", func(s *sections) {
			s.info = clone(s.info)
			binary.LittleEndian.PutUint16(s.info[4:], 9)
		}, "unsupported version 9"},
		{"unknown abbreviation", func(s *sections) {
			s.info = clone(s.info)
			s.info[12] = 0x7f // the unit DIE's code
		}, "unit at 0x0, DIE at 0xc: abbreviation code 127 not in the table"},
		{"abbrev table past the end", func(s *sections) { s.abbrev = s.abbrev[:0] }, ".debug_abbrev: table offset 0x0 beyond the section"},
		{"unit cut short", func(s *sections) {
			s.info = clone(s.info[:40])
			binary.LittleEndian.PutUint32(s.info, 36)
		}, "unit at 0x0, DIE at 0x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, s := *d0, *sec
			c.mutate(&s)
			_, err := scanSections(&d, &s, Options{})
			if err == nil {
				t.Fatalf("no error, want one containing %q", c.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}
