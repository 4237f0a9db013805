package dwarf

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
)

// TestTypeCycle points a parameter's typedef at itself, as a malformed or
// hostile file could: the scan must end with an error naming the DIE,
// rather than hang, overflow the stack or judge functions by a type that
// cannot exist.
func TestTypeCycle(t *testing.T) {
	image, err := os.ReadFile("../../../testdata/x86_64/vmlinux-like")
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
	var cycleAt dwarf.Offset
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
				patched, cycleAt = true, e.Offset
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
	_, err = Scan(f2, image, Options{Workers: 2})
	if err == nil || !strings.Contains(err.Error(), "contains itself") || !strings.Contains(err.Error(), fmt.Sprintf("DIE at 0x%x", cycleAt)) {
		t.Fatalf("want an error naming the DIE at 0x%x that contains itself, got %v", cycleAt, err)
	}
	t.Log(err)
}

// TestTypedefChains scans hand-made units whose parameter type is a chain of
// typedefs: a long but finite chain is read through; one past the depth
// bound, and one that loops back on itself, end the scan with an error naming
// where the walk stopped.
func TestTypedefChains(t *testing.T) {
	for _, tc := range []struct {
		links int
		loop  bool
		want  string
	}{
		{links: 1},
		{links: 200},
		{links: maxTypeDepth - 1},
		{links: maxTypeDepth + 1, want: fmt.Sprintf("types nested more than %d deep", maxTypeDepth)},
		{links: 100000, want: "nested more than"},
		{links: 1, loop: true, want: "contains itself"},
		{links: 500, loop: true, want: "contains itself"},
	} {
		t.Run(fmt.Sprintf("%d/loop=%v", tc.links, tc.loop), func(t *testing.T) {
			image := elftest.DebugFile(elftest.TypedefChain("chained", tc.links, tc.loop))
			ef, err := elf.NewFile(bytes.NewReader(image))
			if err != nil {
				t.Fatal(err)
			}
			data, err := Scan(ef, image, Options{Workers: 1})
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "DIE at 0x") {
					t.Fatalf("want an error naming a DIE and saying %q, got %v", tc.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(data.Funcs) != 1 || len(data.Funcs[0].Params) != 1 {
				t.Fatalf("want one function with one parameter, got %+v", data.Funcs)
			}
			p := data.Funcs[0].Params[0]
			if p.Type == nil || p.Type.Kind != KindInt || p.Type.Size != 4 || p.Type.Typedef != "chain_t" {
				t.Fatalf("parameter type %+v, want int of 4 bytes through chain_t", p.Type)
			}
		})
	}
}

// TestCompressedSectionBomb: a compressed .debug_info whose header claims
// 3 GiB is refused before anything is inflated.
func TestCompressedSectionBomb(t *testing.T) {
	abbrev, _ := elftest.TypedefChain("f", 1, false)
	info := elftest.CompressedClaim(3 << 30)
	image := elftest.Build(elf.ELFCLASS64, binary.LittleEndian, elf.ET_EXEC, []elftest.Section{
		{Name: ".debug_abbrev", Type: elf.SHT_PROGBITS, Align: 1, Data: abbrev},
		{Name: ".debug_info", Type: elf.SHT_PROGBITS, Flags: elf.SHF_COMPRESSED, Align: 8, Data: info},
	})
	ef, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(ef, image, Options{Workers: 1}); err == nil || !strings.Contains(err.Error(), ".debug_info: claims 3221225472 bytes") {
		t.Fatalf("want the section refused for its claimed size, got %v", err)
	}
}
