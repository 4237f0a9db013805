package dwarf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
)

// relocObject is a relocatable ELF64 of machine m: .debug_info holding
// info, a symbol table with one symbol defined in it at value symValue, and
// .rela.debug_info holding one relocation of type typ at offset off against
// that symbol with addend addend.
func relocObject(m elf.Machine, bo binary.ByteOrder, info []byte, typ uint32, off uint64, symValue uint64, addend int64) []byte {
	// Elf64_Sym: name, info, other, shndx, value, size.
	sym := make([]byte, 48)
	sym[24+4] = byte(elf.ST_INFO(elf.STB_GLOBAL, elf.STT_OBJECT))
	bo.PutUint16(sym[24+6:], 1) // defined in section 1, .debug_info
	bo.PutUint64(sym[24+8:], symValue)
	bo.PutUint32(sym[24:], 1) // name "s"
	rela := make([]byte, 24)
	bo.PutUint64(rela, off)
	bo.PutUint64(rela[8:], uint64(1)<<32|uint64(typ))
	bo.PutUint64(rela[16:], uint64(addend))
	return elftest.BuildMachine(elf.ELFCLASS64, bo, elf.ET_REL, m, []elftest.Section{
		{Name: ".debug_info", Type: elf.SHT_PROGBITS, Align: 1, Data: info},
		{Name: ".symtab", Type: elf.SHT_SYMTAB, Align: 8, Link: 3, Info: 1, Entsize: 24, Data: sym},
		{Name: ".strtab", Type: elf.SHT_STRTAB, Align: 1, Data: []byte("\x00s\x00")},
		{Name: ".rela.debug_info", Type: elf.SHT_RELA, Align: 8, Link: 2, Info: 1, Entsize: 24, Data: rela},
	})
}

// applyOne relocates .debug_info of a relocObject and returns it. It
// relocates it twice, whole and as the scanner relocates a unit of a
// module read in place (checked first, then its part of the section from
// offset 1 on), and fails the test when the two differ.
func applyOne(t *testing.T, image []byte) ([]byte, error) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Sections[1].Data()
	if err != nil {
		t.Fatal(err)
	}
	src := bytes.Clone(data)
	syms := func() *symtab { return loadSymtab(f, image) }
	r, err := findRelocs(f, 1, uint64(len(data)), image, syms)
	if err != nil {
		return nil, err
	}
	if err := r.apply(data, 0); err != nil {
		return nil, err
	}
	if err := r.check(src); err != nil {
		t.Fatalf("relocated whole, but the check says %v", err)
	}
	part := bytes.Clone(src[1:])
	if err := r.apply(part, 1); err != nil {
		t.Fatalf("relocated whole, but not from offset 1: %v", err)
	}
	if !bytes.Equal(part, data[1:]) {
		t.Fatalf("relocated from offset 1: % x, whole: % x", part, data[1:])
	}
	return data, nil
}

// TestRelocations applies each relocation type the scanner knows to a few
// bytes, with the arithmetic of the architecture's ELF supplement: width,
// byte order, in-place addition and subtraction, 6-bit fields and ULEB128
// numbers that keep their length. S is 0x1000 and the addend 0x234 unless
// a case says otherwise.
func TestRelocations(t *testing.T) {
	le, be := binary.ByteOrder(binary.LittleEndian), binary.ByteOrder(binary.BigEndian)
	tests := []struct {
		name   string
		m      elf.Machine
		bo     binary.ByteOrder
		typ    uint32
		in     []byte // .debug_info before; the relocation is at offset 1
		addend int64
		want   []byte
	}{
		// s390x, big-endian.
		{"R_390_8", elf.EM_S390, be, uint32(elf.R_390_8), []byte{0xee, 0, 0xee}, 0x12, []byte{0xee, 0x12, 0xee}},
		{"R_390_16", elf.EM_S390, be, uint32(elf.R_390_16), []byte{0xee, 0, 0, 0xee}, 0x234, []byte{0xee, 0x12, 0x34, 0xee}},
		{"R_390_32", elf.EM_S390, be, uint32(elf.R_390_32), []byte{0xee, 9, 9, 9, 9, 0xee}, 0x234, []byte{0xee, 0, 0, 0x12, 0x34, 0xee}},
		{"R_390_64", elf.EM_S390, be, uint32(elf.R_390_64), append([]byte{0xee}, make([]byte, 8)...), 0x234,
			[]byte{0xee, 0, 0, 0, 0, 0, 0, 0x12, 0x34}},
		{"R_390_NONE", elf.EM_S390, be, uint32(elf.R_390_NONE), []byte{0xee, 7, 0xee}, 0x234, []byte{0xee, 7, 0xee}},
		// ppc64, little-endian (ppc64el) and big-endian.
		{"R_PPC64_ADDR32 le", elf.EM_PPC64, le, uint32(elf.R_PPC64_ADDR32), []byte{0xee, 9, 9, 9, 9}, 0x234, []byte{0xee, 0x34, 0x12, 0, 0}},
		{"R_PPC64_ADDR32 be", elf.EM_PPC64, be, uint32(elf.R_PPC64_ADDR32), []byte{0xee, 9, 9, 9, 9}, 0x234, []byte{0xee, 0, 0, 0x12, 0x34}},
		{"R_PPC64_ADDR64", elf.EM_PPC64, le, uint32(elf.R_PPC64_ADDR64), append([]byte{0xee}, make([]byte, 8)...), -0x1000 + 0x7f,
			[]byte{0xee, 0x7f, 0, 0, 0, 0, 0, 0, 0}},
		{"R_PPC64_ADDR16", elf.EM_PPC64, le, uint32(elf.R_PPC64_ADDR16), []byte{0xee, 0, 0}, 0x234, []byte{0xee, 0x34, 0x12}},
		{"R_PPC64_UADDR16", elf.EM_PPC64, le, uint32(elf.R_PPC64_UADDR16), []byte{0xee, 0, 0}, 0x234, []byte{0xee, 0x34, 0x12}},
		{"R_PPC64_UADDR32", elf.EM_PPC64, le, uint32(elf.R_PPC64_UADDR32), []byte{0xee, 0, 0, 0, 0}, 0x234, []byte{0xee, 0x34, 0x12, 0, 0}},
		{"R_PPC64_UADDR64", elf.EM_PPC64, be, uint32(elf.R_PPC64_UADDR64), append([]byte{0xee}, make([]byte, 8)...), 0x234,
			[]byte{0xee, 0, 0, 0, 0, 0, 0, 0x12, 0x34}},
		// loongarch64, little-endian.
		{"R_LARCH_32", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_32), []byte{0xee, 9, 9, 9, 9}, 0x234, []byte{0xee, 0x34, 0x12, 0, 0}},
		{"R_LARCH_64", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_64), append([]byte{0xee}, make([]byte, 8)...), 0x234,
			[]byte{0xee, 0x34, 0x12, 0, 0, 0, 0, 0, 0}},
		{"R_LARCH_ADD8", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD8), []byte{0xee, 0x05}, -0x1000 + 0x10, []byte{0xee, 0x15}},
		{"R_LARCH_ADD16", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD16), []byte{0xee, 0x01, 0x01}, 0x234, []byte{0xee, 0x35, 0x13}},
		{"R_LARCH_ADD24", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD24), []byte{0xee, 0x01, 0x00, 0x01, 0xee}, 0x234,
			[]byte{0xee, 0x35, 0x12, 0x01, 0xee}},
		{"R_LARCH_ADD32", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD32), []byte{0xee, 1, 0, 0, 0}, 0x234, []byte{0xee, 0x35, 0x12, 0, 0}},
		{"R_LARCH_ADD64", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD64), []byte{0xee, 1, 0, 0, 0, 0, 0, 0, 1}, 0x234,
			[]byte{0xee, 0x35, 0x12, 0, 0, 0, 0, 0, 1}},
		{"R_LARCH_SUB8", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB8), []byte{0xee, 0x20}, -0x1000 + 0x10, []byte{0xee, 0x10}},
		{"R_LARCH_SUB16", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB16), []byte{0xee, 0x00, 0x20}, 0x234, []byte{0xee, 0xcc, 0x0d}},
		{"R_LARCH_SUB24", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB24), []byte{0xee, 0, 0, 0x01}, 0x234, []byte{0xee, 0xcc, 0xed, 0x00}},
		{"R_LARCH_SUB32 wraps", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB32), []byte{0xee, 0, 0, 0, 0}, 0x234, []byte{0xee, 0xcc, 0xed, 0xff, 0xff}},
		{"R_LARCH_SUB64", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB64), []byte{0xee, 0, 0, 1, 0, 0, 0, 0, 0}, 0x234,
			[]byte{0xee, 0xcc, 0xed, 0, 0, 0, 0, 0, 0}},
		{"R_LARCH_ADD6 keeps the top bits", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD6), []byte{0xee, 0xc0 | 0x3e}, -0x1000 + 3, []byte{0xee, 0xc0 | 0x01}},
		{"R_LARCH_SUB6 keeps the top bits", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB6), []byte{0xee, 0x40 | 0x02}, -0x1000 + 3, []byte{0xee, 0x40 | 0x3f}},
		{"R_LARCH_ADD_ULEB128 one byte", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD_ULEB128), []byte{0xee, 0x05, 0xee}, -0x1000 + 0x10, []byte{0xee, 0x15, 0xee}},
		{"R_LARCH_ADD_ULEB128 keeps its length", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_ADD_ULEB128),
			[]byte{0xee, 0x81, 0x80, 0x00, 0xee}, 0x234, []byte{0xee, 0xb5, 0xa4, 0x00, 0xee}},
		{"R_LARCH_SUB_ULEB128", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB_ULEB128), []byte{0xee, 0xff, 0x7f}, -0x1000 + 0x7f, []byte{0xee, 0x80, 0x7f}},
		{"R_LARCH_SUB_ULEB128 drops what does not fit", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_SUB_ULEB128),
			[]byte{0xee, 0x00}, -0x1000 + 1, []byte{0xee, 0x7f}},
		{"R_LARCH_RELAX", elf.EM_LOONGARCH, le, uint32(elf.R_LARCH_RELAX), []byte{0xee, 0x05}, 0x234, []byte{0xee, 0x05}},
		// The older machines, for comparison.
		{"R_RISCV_SUB6", elf.EM_RISCV, le, uint32(elf.R_RISCV_SUB6), []byte{0xee, 0x40 | 0x02}, -0x1000 + 3, []byte{0xee, 0x40 | 0x3f}},
		{"R_AARCH64_ABS32", elf.EM_AARCH64, le, uint32(elf.R_AARCH64_ABS32), []byte{0xee, 0, 0, 0, 0}, 0x234, []byte{0xee, 0x34, 0x12, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applyOne(t, relocObject(tc.m, tc.bo, tc.in, tc.typ, 1, 0x1000, tc.addend))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got % x, want % x", got, tc.want)
			}
		})
	}
}

// TestRelocationErrors: a type the scanner does not know, a relocation past
// the section and a ULEB128 number that never ends are each one error
// naming the relocation section, the entry and the problem.
func TestRelocationErrors(t *testing.T) {
	be := binary.BigEndian
	tests := []struct {
		name  string
		image []byte
		want  string
	}{
		{"unknown s390x type", relocObject(elf.EM_S390, be, make([]byte, 8), uint32(elf.R_390_PC32), 0, 0, 0),
			".rela.debug_info at 0x0: relocation type 5 (R_390_PC32) unsupported for EM_S390"},
		{"unknown ppc64 type", relocObject(elf.EM_PPC64, binary.LittleEndian, make([]byte, 8), uint32(elf.R_PPC64_REL32), 0, 0, 0),
			"relocation type 26 (R_PPC64_REL32) unsupported for EM_PPC64"},
		{"unknown loongarch type", relocObject(elf.EM_LOONGARCH, binary.LittleEndian, make([]byte, 8), uint32(elf.R_LARCH_32_PCREL), 0, 0, 0),
			"relocation type 99 (R_LARCH_32_PCREL) unsupported for EM_LOONGARCH"},
		{"past the section", relocObject(elf.EM_S390, be, make([]byte, 6), uint32(elf.R_390_64), 0, 0, 0),
			"offset 0x0 outside .debug_info (0x6 bytes)"},
		{"ULEB128 without its last byte", relocObject(elf.EM_LOONGARCH, binary.LittleEndian, []byte{0, 0x80, 0x80}, uint32(elf.R_LARCH_ADD_ULEB128), 1, 0, 0),
			"no ULEB128 number at offset 0x1 of .debug_info"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyOne(t, tc.image)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestRelocationsByPart: relocating a section part by part, as the scanner
// relocates the units of a module read in place, gives the bytes of the
// section relocated whole: with thousands of relocations (more than one
// sample of the table apart), riscv64 ADD/SUB pairs at one offset, and the
// table in offset order or not.
func TestRelocationsByPart(t *testing.T) {
	le := binary.LittleEndian
	const n = 3000
	info := make([]byte, 8*n)
	for i := range info {
		info[i] = byte(i * 7)
	}
	type rel struct {
		off    uint64
		typ    elf.R_RISCV
		addend int64
	}
	var rels []rel
	for i := range n {
		off := uint64(8 * i)
		switch i % 3 {
		case 0:
			rels = append(rels, rel{off, elf.R_RISCV_64, int64(i)})
		case 1:
			rels = append(rels, rel{off, elf.R_RISCV_ADD32, int64(3 * i)}, rel{off, elf.R_RISCV_SUB32, int64(i)})
		default:
			rels = append(rels, rel{off + 4, elf.R_RISCV_32, int64(i << 8)})
		}
	}
	for _, shuffled := range []bool{false, true} {
		t.Run(map[bool]string{false: "sorted", true: "shuffled"}[shuffled], func(t *testing.T) {
			rs := slices.Clone(rels)
			if shuffled {
				// Reverse the pairs' order as a whole, keeping each pair's.
				slices.Reverse(rs)
				for i := 1; i < len(rs); i++ {
					if rs[i].off == rs[i-1].off {
						rs[i], rs[i-1] = rs[i-1], rs[i]
					}
				}
			}
			raw := make([]byte, 24*len(rs))
			for i, r := range rs {
				le.PutUint64(raw[24*i:], r.off)
				le.PutUint64(raw[24*i+8:], uint64(1)<<32|uint64(r.typ))
				le.PutUint64(raw[24*i+16:], uint64(r.addend))
			}
			image := relocObjectRaw(elf.EM_RISCV, le, info, raw)
			f, err := elf.NewFile(bytes.NewReader(image))
			if err != nil {
				t.Fatal(err)
			}
			src, err := f.Sections[1].Data()
			if err != nil {
				t.Fatal(err)
			}
			r, err := findRelocs(f, 1, uint64(len(src)), image, func() *symtab { return loadSymtab(f, image) })
			if err != nil {
				t.Fatal(err)
			}
			whole := bytes.Clone(src)
			if err := r.apply(whole, 0); err != nil {
				t.Fatal(err)
			}
			if err := r.check(src); err != nil {
				t.Fatal(err)
			}
			if r.tabs[0].sorted == shuffled {
				t.Fatalf("sorted = %v", r.tabs[0].sorted)
			}
			got := make([]byte, len(src))
			for lo, k := 0, 1; lo < len(src); k++ {
				hi := min(lo+8*(k*37%301+1), len(src))
				part := got[lo:hi]
				copy(part, src[lo:hi])
				if err := r.apply(part, uint64(lo)); err != nil {
					t.Fatalf("part [0x%x, 0x%x): %v", lo, hi, err)
				}
				lo = hi
			}
			if !bytes.Equal(got, whole) {
				t.Fatal("relocated by parts, the section differs from the one relocated whole")
			}
			// A part that ends inside a relocated field is refused.
			part := bytes.Clone(src[:8+2]) // the ADD32/SUB32 pair at 8
			if err := r.apply(part, 0); err == nil || !strings.Contains(err.Error(), "reaches past its unit") {
				t.Fatalf("a part cutting a relocation: error %v", err)
			}
		})
	}
}

// relocObjectRaw is relocObject with the RELA entries raw (against symbol
// 1, defined in .debug_info at 0x1000).
func relocObjectRaw(m elf.Machine, bo binary.ByteOrder, info, raw []byte) []byte {
	sym := make([]byte, 48)
	sym[24+4] = byte(elf.ST_INFO(elf.STB_GLOBAL, elf.STT_OBJECT))
	bo.PutUint16(sym[24+6:], 1)
	bo.PutUint64(sym[24+8:], 0x1000)
	bo.PutUint32(sym[24:], 1)
	return elftest.BuildMachine(elf.ELFCLASS64, bo, elf.ET_REL, m, []elftest.Section{
		{Name: ".debug_info", Type: elf.SHT_PROGBITS, Align: 1, Data: info},
		{Name: ".symtab", Type: elf.SHT_SYMTAB, Align: 8, Link: 3, Info: 1, Entsize: 24, Data: sym},
		{Name: ".strtab", Type: elf.SHT_STRTAB, Align: 1, Data: []byte("\x00s\x00")},
		{Name: ".rela.debug_info", Type: elf.SHT_RELA, Align: 8, Link: 2, Info: 1, Entsize: 24, Data: raw},
	})
}

// TestLazyRelocation: each layout fixture (a relocatable object) scanned
// from its image, .debug_info relocated unit by unit, decodes as from
// private copies of its sections relocated whole, pointer targets' names
// included.
func TestLazyRelocation(t *testing.T) {
	for _, p := range layoutObjects(t) {
		t.Run(p, func(t *testing.T) {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			lazy, err := Scan(f, raw, Options{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			whole, err := Scan(f, nil, Options{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			info := f.Section(".debug_info")
			want := f.Section(".rela.debug_info") != nil && info.Flags&elf.SHF_COMPRESSED == 0
			if lazy.sec.lazy != nil != want || whole.sec.lazy != nil {
				t.Fatalf("relocated by unit: from the image %v (want %v), from copies %v", lazy.sec.lazy != nil, want, whole.sec.lazy != nil)
			}
			if !reflect.DeepEqual(lazy.Funcs, whole.Funcs) || !reflect.DeepEqual(lazy.Units, whole.Units) {
				t.Fatal("the scans differ")
			}
			for _, fn := range whole.Funcs {
				for _, prm := range fn.Params {
					if prm.Type == nil || prm.Type.Kind != KindPointer {
						continue
					}
					a, errA := lazy.TypeName(prm.Type.Target)
					b, errB := whole.TypeName(prm.Type.Target)
					if a != b || fmt.Sprint(errA) != fmt.Sprint(errB) {
						t.Errorf("%s: target of %s: %q %v, relocated whole %q %v", fn.Name, prm.Name, a, errA, b, errB)
					}
				}
			}
		})
	}
}
