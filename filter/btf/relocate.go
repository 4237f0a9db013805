package btf

import "fmt"

// A module built outside the kernel's tree carries a distilled base
// (.BTF.base): the base types its BTF refers to, reduced to what
// identifies them (a name, a kind, a size), so that the kernel can relocate
// the module's BTF onto whatever vmlinux it is loaded into. The kernel
// (and libbpf, btf__relocate) maps each distilled type onto the one vmlinux
// type that matches it, and refuses the module when a distilled type
// matches none or several (docs/facts.md §6):
//
//   - INT: a vmlinux INT of the same name, size and encoding;
//   - FLOAT: a FLOAT of the same name and size;
//   - ENUM (ENUM64 is distilled as a sized ENUM too): an ENUM or ENUM64 of
//     the same name and size;
//   - FWD: a FWD of the same name and kind flag, or the STRUCT (kind flag
//     0) or UNION (1) of that name;
//   - STRUCT, UNION: the composite of that name; its size must match when
//     the vmlinux has several composites of that name, or when a composite
//     of the module embeds it (directly, or through typedefs, qualifiers
//     and arrays), since the module's layout depends on it.

// CheckRelocation reports whether split spec s, whose Base is a distilled
// base, relocates onto target (a vmlinux's BTF): every type of the
// distilled base must map onto exactly one type of target. The error names
// the first distilled type that does not.
func (s *Spec) CheckRelocation(target *Spec) error {
	dist := s.Base
	if dist == nil || dist.Base != nil {
		return fmt.Errorf("btf: relocation needs split BTF on a distilled base")
	}
	embedded := s.embeddedBase()
	// The target's named candidates by name, and how many composites
	// share each name.
	byName := map[string][]TypeID{}
	composites := map[string]int{}
	for i := range target.Types {
		t := &target.Types[i]
		name := target.Name(t)
		if name == "" {
			continue
		}
		byName[name] = append(byName[name], target.FirstID()+TypeID(i))
		if k := t.Kind(); k == KindStruct || k == KindUnion {
			composites[name]++
		}
	}
	for i := range dist.Types {
		d := &dist.Types[i]
		id := TypeID(i + 1)
		name := dist.Name(d)
		if name == "" {
			return typeError(id, d.Kind(), -1, fmt.Errorf("a distilled base type without a name cannot be relocated"))
		}
		var found []TypeID
		for _, c := range byName[name] {
			if relocatesTo(d, target.typeAt(c), embedded[id] || composites[name] > 1) {
				found = append(found, c)
			}
		}
		switch len(found) {
		case 1:
		case 0:
			return typeError(id, d.Kind(), -1, fmt.Errorf("distilled base type %q (size %d) matches no type of the target BTF", name, d.Size()))
		default:
			return typeError(id, d.Kind(), -1, fmt.Errorf("distilled base type %q (size %d) matches several types of the target BTF (%v)", name, d.Size(), found))
		}
	}
	return nil
}

// typeAt is the type with an ID of s itself.
func (s *Spec) typeAt(id TypeID) *Type { return &s.Types[id-s.FirstID()] }

// relocatesTo reports whether distilled type d may map onto target type t
// of the same name; sized says a composite must match in size too.
func relocatesTo(d, t *Type, sized bool) bool {
	dk, tk := d.Kind(), t.Kind()
	switch dk {
	case KindInt:
		return tk == KindInt && t.SizeType == d.SizeType && intEncoding(t) == intEncoding(d)
	case KindFloat:
		return tk == KindFloat && t.SizeType == d.SizeType
	case KindEnum:
		return (tk == KindEnum || tk == KindEnum64) && t.SizeType == d.SizeType
	case KindFwd:
		switch tk {
		case KindFwd:
			return t.KindFlag() == d.KindFlag()
		case KindStruct:
			return !d.KindFlag()
		case KindUnion:
			return d.KindFlag()
		}
		return false
	case KindStruct, KindUnion:
		return (tk == KindStruct || tk == KindUnion) && (!sized || t.SizeType == d.SizeType)
	}
	return false
}

// intEncoding is an INT's encoding bits (signed, char, bool).
func intEncoding(t *Type) uint32 {
	if len(t.Extra) == 0 {
		return 0
	}
	return t.Extra[0] >> 24 & 0x0f
}

// embeddedBase lists the base composites that a composite of s embeds:
// a member's type, through typedefs, qualifiers and arrays, is one.
func (s *Spec) embeddedBase() map[TypeID]bool {
	first := s.FirstID()
	out := map[TypeID]bool{}
	for i := range s.Types {
		t := &s.Types[i]
		if k := t.Kind(); k != KindStruct && k != KindUnion {
			continue
		}
		for _, m := range t.Members() {
			id := m.Type
			for steps := 0; id != 0 && steps < 64; steps++ {
				mt, err := s.Type(id)
				if err != nil || mt == nil {
					break
				}
				next := TypeID(0)
				switch mt.Kind() {
				case KindConst, KindVolatile, KindRestrict, KindTypedef, KindTypeTag:
					next = TypeID(mt.SizeType)
				case KindArray:
					next = TypeID(mt.Extra[0])
				case KindStruct, KindUnion:
					if id < first {
						out[id] = true
					}
				}
				id = next
			}
		}
	}
	return out
}
