package dedup

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/btffilter/btffilter/filter/btf"
)

// dedupStrings rewrites every string offset of the kept own types to an
// offset in a new string table holding each referenced string once, in the
// order the types first refer to them (name, then member, value or
// parameter names). The empty string at offset 0 stays; an own string the
// base also holds takes the base's offset. Offsets into the base stay too,
// unless the spec moves onto a new base (Options.BaseMap): a base string is
// then found again by content in the new base, or carried in the new table
// when the new base lost it. From here on two names are equal exactly when
// their offsets are.
func (d *state) dedupStrings(s *btf.Spec) ([]byte, error) {
	strBase := s.StrBase()
	newStrBase := strBase
	if d.baseMap != nil {
		newStrBase = d.base.spec.StrBase() + uint32(len(d.base.spec.Strings))
	}
	old := s.Strings
	if d.inPlace {
		s.Strings = nil // consumed: old goes when this pass is done
	}
	// Real BTF refers to each string a few times over: a table for a
	// quarter of the references rarely grows.
	refs := 0
	for i := range d.own {
		refs += 1 + len(d.own[i].Extra)/3
	}
	tab := btf.NewStringTable(refs/4, len(old))
	if s.Base == nil {
		tab.Add(nil)
	}
	var err error
	// intern gives str an offset in the result: the base's, else the new
	// table's.
	intern := func(str []byte) uint32 {
		if d.base != nil {
			if n, ok := d.base.findString(str); ok {
				return n
			}
		}
		return newStrBase + tab.Add(str)
	}
	rewrite := func(p *uint32, id uint32) {
		off := *p
		switch {
		case off == 0:
			return
		case off < strBase:
			if d.baseMap == nil {
				return // the base stays as it is
			}
			str, e := s.Base.StrBytes(off)
			if e != nil && err == nil {
				err = fmt.Errorf("dedup: type [%d]: %w", id, e)
			}
			*p = intern(str)
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
		*p = intern(str)
	}
	// With Options.Beside the walk only reads the input while Beside
	// runs: each field's new value goes into plan, in walk order, and is
	// written once Beside is done.
	var plan []uint32
	planning := d.beside != nil
	if planning {
		plan = make([]uint32, 0, refs)
		var wg sync.WaitGroup
		var besideErr error
		wg.Go(func() { besideErr = d.beside() })
		d.eachOwnString(func(p *uint32, id uint32) bool {
			v := *p
			rewrite(&v, id)
			plan = append(plan, v)
			return err == nil
		})
		wg.Wait()
		d.beside = nil
		if besideErr != nil {
			return nil, besideErr
		}
	} else {
		d.eachOwnString(func(p *uint32, id uint32) bool {
			rewrite(p, id)
			return err == nil
		})
	}
	if err != nil {
		return nil, err
	}
	if planning {
		k := 0
		d.eachOwnString(func(p *uint32, _ uint32) bool {
			*p = plan[k]
			k++
			return true
		})
	}
	return tab.Bytes(), nil
}

// eachOwnString calls f with each string field of the kept own types, in
// type order and, within a type, the name first, then its members', values'
// or parameters' names; id is the type's input ID. It stops after the type
// at which f returned false.
func (d *state) eachOwnString(f func(p *uint32, id uint32) bool) {
	for i := range d.own {
		if d.removed(d.first + uint32(i)) {
			continue
		}
		t := &d.own[i]
		id := d.inFirst + uint32(i)
		ok := f(&t.NameOff, id)
		switch t.Kind() {
		case btf.KindStruct, btf.KindUnion, btf.KindEnum64:
			for j := 0; j+2 < len(t.Extra); j += 3 {
				ok = f(&t.Extra[j], id) && ok
			}
		case btf.KindEnum, btf.KindFuncProto:
			for j := 0; j+1 < len(t.Extra); j += 2 {
				ok = f(&t.Extra[j], id) && ok
			}
		}
		if !ok {
			return
		}
	}
}
