package btf

import "fmt"

// CheckBaseFit reports whether split spec s plausibly belongs to its base.
// Split BTF made against another kernel decodes without error, because its
// base references are plain numbers; it shows when those numbers are read
// against the wrong base: a name that starts in the middle of a base string,
// or a reference to a base type of a kind nothing can refer to that way.
func (s *Spec) CheckBaseFit() error {
	if s.Base == nil {
		return nil
	}
	strBase := s.StrBase()
	first := s.FirstID()
	for i := range s.Types {
		t := &s.Types[i]
		id := first + TypeID(i)
		var err error
		t.VisitStrings(func(p *uint32) {
			if err != nil || *p >= strBase || *p == 0 {
				return
			}
			if e := s.Base.strStart(*p); e != nil {
				err = typeError(id, t.Kind(), -1, fmt.Errorf("name offset %d: %w", *p, e))
			}
		})
		if err != nil {
			return err
		}
		k := t.Kind()
		t.VisitTypeIDs(func(p *uint32) {
			ref := TypeID(*p)
			if err != nil || ref == 0 || ref >= first {
				return
			}
			bt, e := s.Base.Type(ref)
			if e != nil {
				err = typeError(id, k, -1, fmt.Errorf("refers to base type %d: %w", ref, e))
				return
			}
			bk := bt.Kind()
			ok := true
			switch bk {
			case KindFunc:
				ok = k == KindDeclTag
			case KindVar:
				ok = k == KindDatasec || k == KindDeclTag
			case KindDatasec, KindDeclTag:
				ok = false
			case KindFuncProto:
				ok = k == KindFunc || k == KindPtr || k == KindTypedef || k == KindConst ||
					k == KindVolatile || k == KindTypeTag || k == KindRestrict
			}
			if k == KindFunc && bk != KindFuncProto {
				ok = false
			}
			if !ok {
				err = typeError(id, k, -1, fmt.Errorf("refers to base type [%d], a %v", ref, bk))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// strStart checks that off is the first byte of a string of s or its bases.
func (s *Spec) strStart(off uint32) error {
	base := s.StrBase()
	if off < base {
		return s.Base.strStart(off)
	}
	rel := off - base
	if uint64(rel) >= uint64(len(s.Strings)) {
		return fmt.Errorf("past the base string section (%d bytes)", len(s.Strings))
	}
	if rel > 0 && s.Strings[rel-1] != 0 {
		return fmt.Errorf("points into the middle of base string %q", s.Strings[lastNUL(s.Strings[:rel])+1:rel])
	}
	return nil
}

func lastNUL(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == 0 {
			return i
		}
	}
	return -1
}

// EncodedLen is the length of s.Encode().
func (s *Spec) EncodedLen() int {
	_, n := s.sectionLayout()
	return n
}
