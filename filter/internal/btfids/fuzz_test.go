package btfids

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// symbolSpec writes symbols as the fuzz target reads them: "name offset" lines.
func symbolSpec(syms []Symbol) string {
	var sb strings.Builder
	for _, s := range syms {
		fmt.Fprintf(&sb, "%s %d\n", s.Name, s.Offset)
	}
	return sb.String()
}

// parseSymbolSpec reads "name offset" lines, skipping lines it cannot read.
func parseSymbolSpec(spec string) []Symbol {
	var syms []Symbol
	for _, line := range strings.Split(spec, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		off, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		syms = append(syms, Symbol{Name: f[0], Offset: off})
	}
	return syms
}

func FuzzParseRemap(f *testing.F) {
	seeds := []func(b *builder){
		func(b *builder) { b.label("l").id("struct", "sk_buff", 7).unused().id("func", "f", 9) },
		func(b *builder) { b.set("s", 3).id("func", "a", 9).raw(0).id("func", "c", 4) },
		func(b *builder) { b.set("s", 2).id("func", "a", 1).id("func", "b", 2) },
		func(b *builder) {
			b.set8("k", 3, 1).idFlags("func", "a", 30, 1).idFlags("func", "b", 10, 2).idFlags("func", "c", 20, 3)
		},
		func(b *builder) {
			b.id("struct", "x", 1)
			b.set8("k", 2, 0).idFlags("func", "a", 5, 9).idFlags("func", "b", 6, 8)
			b.set("s", 1).id("func", "c", 3)
		},
	}
	for _, seed := range seeds {
		for _, order := range byteOrders {
			b := newBuilder(order)
			seed(b)
			f.Add(b.bytes(), symbolSpec(b.syms), order == binary.BigEndian)
		}
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, "__BTF_ID__set8__k 0\n", false)
	f.Add([]byte{1, 0, 0, 0, 2, 0, 0, 0}, "__BTF_ID__func__f__1 2\n", false)

	f.Fuzz(func(t *testing.T, data []byte, spec string, big bool) {
		var order binary.ByteOrder = binary.LittleEndian
		if big {
			order = binary.BigEndian
		}
		syms := parseSymbolSpec(spec)
		in := bytes.Clone(data)
		s, err := Parse(data, order, syms)
		if err != nil {
			return
		}
		for _, r := range s.Refs() {
			if r.Offset+4 > uint64(len(data)) || r.Offset%4 != 0 {
				t.Fatalf("Ref %+v outside a %d-byte section or unaligned", r, len(data))
			}
		}
		_ = s.FuncNames()

		out, err := s.Remap(func(old uint32) (uint32, bool) { return old, true })
		if err != nil {
			t.Fatalf("identity Remap: %v", err)
		}
		if !bytes.Equal(data, in) {
			t.Fatalf("Parse or Remap changed the input")
		}
		if len(out) != len(data) {
			t.Fatalf("Remap changed the size from %d to %d", len(data), len(out))
		}
		if setsSorted(s, data) && !bytes.Equal(out, data) {
			t.Fatalf("identity Remap changed a section whose sets were sorted")
		}
		if !setsSorted(s, out) {
			t.Fatalf("identity Remap left a set unsorted")
		}

		// A map that reorders IDs still gives a valid, sorted section.
		out, err = s.Remap(func(old uint32) (uint32, bool) { return old ^ 0x5a5a, true })
		if err != nil {
			t.Fatalf("Remap: %v", err)
		}
		s2, err := Parse(out, order, syms)
		if err != nil {
			t.Fatalf("Parse of Remap output: %v", err)
		}
		if !setsSorted(s2, out) {
			t.Fatalf("Remap left a set unsorted")
		}

		// Removing every ID fails exactly when the section holds one.
		_, err = s.Remap(func(uint32) (uint32, bool) { return 0, false })
		if hasIDs := len(s.IDs()) > 0; hasIDs != (err != nil) || (err != nil && !errors.Is(err, ErrRemovedID)) {
			t.Fatalf("Remap removing everything: err %v with %d IDs", err, len(s.IDs()))
		}
	})
}
