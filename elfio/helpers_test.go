package elfio

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// fixture reads a committed fixture from testdata/. A missing one fails the
// test with the command that makes it.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture %s missing (%v): run sh elfio/testdata/gen.sh", name, err)
	}
	return b
}

// elfFixtures are the committed ELF fixtures: both classes, both byte orders,
// relocatable and linked.
var elfFixtures = []string{
	"rel-bpfel.o", "rel-bpfeb.o", "rel-i686.o", "rel-mips.o", "rel-zdebug.o",
	"exec-x86_64", "exec-mips",
}

// mustParse parses b as the file name and fails the test on error.
func mustParse(t testing.TB, name string, b []byte) *File {
	t.Helper()
	f, err := parse(name, b)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

// pattern returns n bytes that differ from any fixture's contents and from
// zero, so a test can tell new bytes from old and from cleared ones.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7) | 1
	}
	return b
}

// checkRewrite verifies every promise of Rewrite for one result: out parses;
// each replaced section reads back as its new contents, sits in place if it
// did not grow and after the old end of file (aligned) if it did; every other
// section header field is unchanged; every byte outside the old extents of
// the replaced sections, the section header table and the appended tail is
// identical to the original; and the parts of old extents no longer used are
// zero. It returns a description of the first violation, or "".
func checkRewrite(orig *File, out []byte, repl map[string][]byte) string {
	ef, err := elf.NewFile(bytes.NewReader(out))
	if err != nil {
		return "result does not parse: " + err.Error()
	}
	// Open's own checks, except signature stripping: new contents may end
	// in bytes that look like a signature trailer.
	if err := checkExtents(ef, int64(len(out))); err != nil {
		return "result fails Open's checks: " + err.Error()
	}
	if len(ef.Sections) != len(orig.ELF.Sections) {
		return "section count changed"
	}
	t, err := orig.readShdrTable()
	if err != nil {
		return "original section header table: " + err.Error()
	}
	n := uint64(len(orig.Data))
	changeable := make([]bool, n)
	for i := t.off; i < t.off+t.entSize*uint64(t.count); i++ {
		changeable[i] = true
	}
	// Section headers are compared as raw bytes: debug/elf reports some
	// fields of an SHF_COMPRESSED section from the compression header in
	// the section's contents, which a neighbour's rewrite may legitimately
	// zero when the two overlap (a NOBITS section at another's offset).
	nt, err := (&File{Data: out, ELF: ef}).readShdrTable()
	if err != nil {
		return "result's section header table: " + err.Error()
	}
	if nt.entSize != t.entSize {
		return "section header size changed"
	}
	for i, o := range orig.ELF.Sections {
		ns := ef.Sections[i]
		oh := orig.Data[t.off+uint64(i)*t.entSize:][:t.entSize]
		nh := out[nt.off+uint64(i)*nt.entSize:][:nt.entSize]
		_, replaced := repl[o.Name]
		for j := range oh {
			movable := uint64(j) >= t.offField && uint64(j) < t.offField+t.fieldLen ||
				uint64(j) >= t.sizeField && uint64(j) < t.sizeField+t.fieldLen
			if oh[j] != nh[j] && !(replaced && movable) {
				return "header of section " + o.Name + " changed beyond sh_offset/sh_size"
			}
		}
		nb, ok := repl[o.Name]
		if !ok {
			if ns.Offset != o.Offset || ns.FileSize != o.FileSize {
				return "untouched section " + o.Name + " moved or resized"
			}
			continue
		}
		got, err := ns.Data()
		if err != nil || !bytes.Equal(got, nb) {
			return "section " + o.Name + " does not read back as its new contents"
		}
		for j := o.Offset; j < o.Offset+o.FileSize; j++ {
			changeable[j] = true
		}
		if uint64(len(nb)) <= o.FileSize {
			if ns.Offset != o.Offset {
				return "section " + o.Name + " moved although it did not grow"
			}
			if !allZero(out[o.Offset+uint64(len(nb)) : o.Offset+o.FileSize]) {
				return "tail of shrunk section " + o.Name + " not zeroed"
			}
		} else {
			if ns.Offset < n || (o.Addralign > 1 && ns.Offset%o.Addralign != 0) {
				return "grown section " + o.Name + " not appended at an aligned offset past the old end"
			}
			if !allZero(out[o.Offset : o.Offset+o.FileSize]) {
				return "old extent of moved section " + o.Name + " not zeroed"
			}
		}
	}
	if uint64(len(out)) < n {
		return "result is shorter than the original"
	}
	for i := uint64(0); i < n; i++ {
		if !changeable[i] && out[i] != orig.Data[i] {
			return "byte outside the replaced extents and section headers changed"
		}
	}
	// The appended tail holds only moved sections and zero padding.
	tail := make([]bool, uint64(len(out))-n)
	for i, o := range orig.ELF.Sections {
		if nb, ok := repl[o.Name]; ok && uint64(len(nb)) > o.FileSize {
			ns := ef.Sections[i]
			for j := ns.Offset; j < ns.Offset+ns.FileSize; j++ {
				tail[j-n] = true
			}
		}
	}
	for i, used := range tail {
		if !used && out[n+uint64(i)] != 0 {
			return "padding in the appended tail is not zero"
		}
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
