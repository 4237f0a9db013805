package dwarf

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"os"
	"testing"
)

// TestTypeCycle points a parameter's typedef at itself, as a malformed or
// hostile file could: the scan must finish, and the parameter's type must
// come out as unknown rather than hang or overflow the stack.
func TestTypeCycle(t *testing.T) {
	image, err := os.ReadFile("../../testdata/x86_64/vmlinux-like")
	if err != nil {
		t.Fatalf("%v (run scripts/build-fixtures.sh)", err)
	}
	ef, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	dd, err := ef.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	info := ef.Section(".debug_info")
	if info == nil || info.Flags&elf.SHF_COMPRESSED != 0 {
		t.Fatal("fixture has no plain .debug_info")
	}
	// Find a typedef whose DW_AT_type is its last attribute, encoded as a
	// 4-byte unit-relative reference ending where the next DIE starts.
	r := dd.Reader()
	var unitOff dwarf.Offset
	patched := false
	for !patched {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit {
			unitOff = e.Offset
			continue
		}
		if e.Tag != dwarf.TagTypedef || len(e.Field) == 0 || e.Field[len(e.Field)-1].Attr != dwarf.AttrType {
			continue
		}
		target := e.Field[len(e.Field)-1].Val.(dwarf.Offset)
		next, err := r.Next()
		if err != nil || next == nil {
			break
		}
		// References are relative to the unit header, 11 bytes before
		// the unit's DIE in DWARF 4, 12 in DWARF 5 (32-bit format).
		at := info.Offset + uint64(next.Offset) - 4
		for _, hdr := range []dwarf.Offset{12, 11} {
			start := unitOff - hdr
			if ef.ByteOrder.Uint32(image[at:]) == uint32(target-start) {
				ef.ByteOrder.PutUint32(image[at:], uint32(e.Offset-start))
				patched = true
				break
			}
		}
	}
	if !patched {
		t.Fatal("no typedef with a trailing ref4 DW_AT_type in the fixture")
	}
	f2, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	data, err := Scan(f2, image, Options{Workers: 2})
	if err != nil {
		t.Logf("scan refused the file: %v", err)
		return
	}
	unknown := 0
	for _, fn := range data.Funcs {
		for _, p := range fn.Params {
			if p.Type != nil && p.Type.Kind == KindUnknown {
				unknown++
			}
		}
	}
	if unknown == 0 {
		t.Fatal("no parameter reads as unknown: the cycle went unnoticed")
	}
	t.Logf("%d functions scanned, %d parameters of unknown type", len(data.Funcs), unknown)
}
