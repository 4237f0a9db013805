package dedup

import (
	"bytes"
	"fmt"
	"unsafe"

	"btffilter/filter/btf"
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
	// Strings are keyed by content; the keys alias old, which is not
	// modified while the map lives.
	intern := make(map[string]uint32, len(d.own)/2)
	if s.Base == nil {
		out = append(out, 0)
		intern[""] = 0
	}
	cache := newOffMap(len(d.own))
	var err error
	rewrite := func(p *uint32, id uint32) {
		off := *p
		if off == 0 || off < strBase {
			return
		}
		if n, ok := cache.get(off); ok {
			*p = n
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
		key := unsafe.String(unsafe.SliceData(str), len(str))
		if len(str) == 0 {
			key = ""
		}
		n, ok := uint32(0), false
		if d.base != nil {
			n, ok = d.base.strs[key]
		}
		if !ok {
			if n, ok = intern[key]; !ok {
				n = strBase + uint32(len(out))
				out = append(append(out, str...), 0)
				intern[key] = n
			}
		}
		cache.put(off, n)
		*p = n
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
