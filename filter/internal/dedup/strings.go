package dedup

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"unsafe"

	"github.com/btffilter/btffilter/filter/btf"
)

// dedupStrings rewrites every string offset of the own types to an offset
// in a new string table holding each referenced string once, in the order
// the types first refer to them (name, then member, value or parameter
// names). Offsets into the base, and the empty string at offset 0, stay; an
// own string the base also holds takes the base's offset. From here on two
// names are equal exactly when their offsets are.
func (d *state) dedupStrings(s *btf.Spec) ([]byte, error) {
	strBase := s.StrBase()
	old := s.Strings
	out := make([]byte, 0, len(old))
	if s.Base == nil {
		out = append(out, 0)
	}
	// Real BTF refers to each string a few times over: a table for a
	// quarter of the references rarely grows.
	refs := 0
	for i := range d.own {
		refs += 1 + len(d.own[i].Extra)/3
	}
	tab := newStrTable(refs / 4)
	var err error
	rewrite := func(p *uint32, id uint32) {
		off := *p
		if off == 0 || off < strBase {
			return
		}
		rel := off - strBase
		if uint64(rel) >= uint64(len(old)) {
			if err == nil {
				err = fmt.Errorf("dedup: type [%d]: string offset %d is past the string section (%d bytes from %d)", id, off, len(old), strBase)
			}
			return
		}
		end := bytes.IndexByte(old[rel:], 0)
		if end < 0 {
			if err == nil {
				err = fmt.Errorf("dedup: type [%d]: string at offset %d is not NUL-terminated", id, off)
			}
			return
		}
		str := old[rel : int(rel)+end]
		if len(str) == 0 && s.Base == nil {
			*p = 0
			return
		}
		if d.base != nil {
			if n, ok := d.base.strs[unsafe.String(unsafe.SliceData(str), len(str))]; ok {
				*p = n
				return
			}
		}
		var n uint32
		out, n = tab.intern(out, str)
		*p = strBase + n
	}
	for i := range d.own {
		t := &d.own[i]
		id := d.first + uint32(i)
		rewrite(&t.NameOff, id)
		switch t.Kind() {
		case btf.KindStruct, btf.KindUnion, btf.KindEnum64:
			for j := 0; j+2 < len(t.Extra); j += 3 {
				rewrite(&t.Extra[j], id)
			}
		case btf.KindEnum, btf.KindFuncProto:
			for j := 0; j+1 < len(t.Extra); j += 2 {
				rewrite(&t.Extra[j], id)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// strTable finds strings already in the new string table by content. Its
// slots hold offsets into that table, plus one so that 0 marks an empty
// slot: four bytes a string, and the strings themselves are not copied.
type strTable struct {
	slots []uint32
	count int
	seed  maphash.Seed
}

func newStrTable(hint int) *strTable {
	n := 16
	for n < 2*hint {
		n *= 2
	}
	return &strTable{slots: make([]uint32, n), seed: maphash.MakeSeed()}
}

// intern returns the offset of str in out, appending str and its NUL to
// out when out does not hold it yet.
func (t *strTable) intern(out, str []byte) ([]byte, uint32) {
	mask := uint64(len(t.slots) - 1)
	for i := maphash.Bytes(t.seed, str) & mask; ; i = (i + 1) & mask {
		v := t.slots[i]
		if v == 0 {
			n := uint32(len(out))
			out = append(append(out, str...), 0)
			t.slots[i] = n + 1
			t.count++
			if 2*t.count > len(t.slots) {
				t.grow(out)
			}
			return out, n
		}
		at := int(v - 1)
		if at+len(str) < len(out) && out[at+len(str)] == 0 && bytes.Equal(out[at:at+len(str)], str) {
			return out, v - 1
		}
	}
}

// grow doubles the slots; the strings are found again in out.
func (t *strTable) grow(out []byte) {
	old := t.slots
	t.slots = make([]uint32, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		at := int(v - 1)
		end := at + bytes.IndexByte(out[at:], 0)
		i := maphash.Bytes(t.seed, out[at:end]) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = v
	}
}
