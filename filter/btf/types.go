package btf

// TypeID identifies a type. ID 0 is void; a split blob's IDs continue from
// its base's.
type TypeID uint32

// Type is one BTF type record exactly as stored: the name offset, the info
// word (kind, kind_flag and vlen bits, unknown bits included), the size or
// type word, and the words that follow the header.
//
// Extra aliases the decoder's backing array; code that builds a new Spec
// from an old one must copy a Type before changing its Extra.
type Type struct {
	NameOff  uint32
	Info     uint32
	SizeType uint32
	Extra    []uint32
}

// Masks of the info word (docs/facts.md §6: the 2026 UAPI widened kind and vlen).
const (
	infoKindShift = 24
	infoKindMask  = 0x7f
	infoVlenMask  = 0xffffff
	infoKindFlag  = 1 << 31
)

// Kind is the record's kind.
func (t *Type) Kind() Kind { return Kind((t.Info >> infoKindShift) & infoKindMask) }

// Vlen is the record's element count (for FUNC: its linkage).
func (t *Type) Vlen() int { return int(t.Info & infoVlenMask) }

// KindFlag is the info word's kind_flag bit.
func (t *Type) KindFlag() bool { return t.Info&infoKindFlag != 0 }

// Size is the byte size of kinds that have one (see Kind.hasSize), else 0.
func (t *Type) Size() uint32 {
	if t.Kind().hasSize() {
		return t.SizeType
	}
	return 0
}

// Clone returns a copy of t whose Extra does not alias t's.
func (t *Type) Clone() Type {
	c := *t
	if t.Extra != nil {
		c.Extra = append([]uint32(nil), t.Extra...)
	}
	return c
}

// words is the number of 4-byte words the record occupies.
func (t *Type) words() int { return 3 + len(t.Extra) }

// Param is one FUNC_PROTO parameter.
type Param struct {
	NameOff uint32
	Type    TypeID
}

// Params returns a FUNC_PROTO's parameters; nil for other kinds.
func (t *Type) Params() []Param {
	if t.Kind() != KindFuncProto {
		return nil
	}
	ps := make([]Param, t.Vlen())
	for i := range ps {
		ps[i] = Param{t.Extra[2*i], TypeID(t.Extra[2*i+1])}
	}
	return ps
}

// Member is one STRUCT or UNION member. Offset is the raw offset word: with
// kind_flag set it holds the bitfield size in its top 8 bits.
type Member struct {
	NameOff uint32
	Type    TypeID
	Offset  uint32
}

// Members returns a STRUCT's or UNION's members; nil for other kinds.
func (t *Type) Members() []Member {
	if k := t.Kind(); k != KindStruct && k != KindUnion {
		return nil
	}
	ms := make([]Member, t.Vlen())
	for i := range ms {
		ms[i] = Member{t.Extra[3*i], TypeID(t.Extra[3*i+1]), t.Extra[3*i+2]}
	}
	return ms
}

// ComponentIdx is a DECL_TAG's component index: -1 for the whole target, else
// a member or parameter index.
func (t *Type) ComponentIdx() int32 {
	if t.Kind() != KindDeclTag || len(t.Extra) < 1 {
		return 0
	}
	return int32(t.Extra[0])
}

// VisitTypeIDs calls fn with a pointer to every word of t that holds a type
// ID, in record order. fn may change the word.
func (t *Type) VisitTypeIDs(fn func(*uint32)) {
	k := t.Kind()
	if k.refersByHeader() {
		fn(&t.SizeType)
	}
	switch k {
	case KindArray:
		fn(&t.Extra[0])
		fn(&t.Extra[1])
	case KindStruct, KindUnion:
		for i := 0; i+2 < len(t.Extra); i += 3 {
			fn(&t.Extra[i+1])
		}
	case KindFuncProto:
		for i := 0; i+1 < len(t.Extra); i += 2 {
			fn(&t.Extra[i+1])
		}
	case KindDatasec:
		for i := 0; i+2 < len(t.Extra); i += 3 {
			fn(&t.Extra[i])
		}
	}
}

// VisitStrings calls fn with a pointer to every word of t that holds a
// string offset, in record order. fn may change the word.
func (t *Type) VisitStrings(fn func(*uint32)) {
	fn(&t.NameOff)
	switch t.Kind() {
	case KindStruct, KindUnion, KindEnum64:
		for i := 0; i+2 < len(t.Extra); i += 3 {
			fn(&t.Extra[i])
		}
	case KindEnum, KindFuncProto:
		for i := 0; i+1 < len(t.Extra); i += 2 {
			fn(&t.Extra[i])
		}
	}
}
