package btf

import "fmt"

// Kind is a BTF type kind, as stored in bits 24-30 of a type's info word.
type Kind uint8

// The kinds this package knows. Any other kind is a decoding error.
const (
	KindUnknown   Kind = 0
	KindInt       Kind = 1
	KindPtr       Kind = 2
	KindArray     Kind = 3
	KindStruct    Kind = 4
	KindUnion     Kind = 5
	KindEnum      Kind = 6
	KindFwd       Kind = 7
	KindTypedef   Kind = 8
	KindVolatile  Kind = 9
	KindConst     Kind = 10
	KindRestrict  Kind = 11
	KindFunc      Kind = 12
	KindFuncProto Kind = 13
	KindVar       Kind = 14
	KindDatasec   Kind = 15
	KindFloat     Kind = 16
	KindDeclTag   Kind = 17
	KindTypeTag   Kind = 18
	KindEnum64    Kind = 19

	maxKind = KindEnum64
)

var kindNames = [...]string{
	KindUnknown:   "UNKN",
	KindInt:       "INT",
	KindPtr:       "PTR",
	KindArray:     "ARRAY",
	KindStruct:    "STRUCT",
	KindUnion:     "UNION",
	KindEnum:      "ENUM",
	KindFwd:       "FWD",
	KindTypedef:   "TYPEDEF",
	KindVolatile:  "VOLATILE",
	KindConst:     "CONST",
	KindRestrict:  "RESTRICT",
	KindFunc:      "FUNC",
	KindFuncProto: "FUNC_PROTO",
	KindVar:       "VAR",
	KindDatasec:   "DATASEC",
	KindFloat:     "FLOAT",
	KindDeclTag:   "DECL_TAG",
	KindTypeTag:   "TYPE_TAG",
	KindEnum64:    "ENUM64",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("KIND(%d)", uint8(k))
}

// layout says how many words follow a record's three header words: fixed
// words, plus perElem words for each of vlen elements.
type layout struct{ fixed, perElem int }

var kindLayouts = [...]layout{
	KindInt:       {1, 0},
	KindPtr:       {0, 0},
	KindArray:     {3, 0},
	KindStruct:    {0, 3},
	KindUnion:     {0, 3},
	KindEnum:      {0, 2},
	KindFwd:       {0, 0},
	KindTypedef:   {0, 0},
	KindVolatile:  {0, 0},
	KindConst:     {0, 0},
	KindRestrict:  {0, 0},
	KindFunc:      {0, 0},
	KindFuncProto: {0, 2},
	KindVar:       {1, 0},
	KindDatasec:   {0, 3},
	KindFloat:     {0, 0},
	KindDeclTag:   {1, 0},
	KindTypeTag:   {0, 0},
	KindEnum64:    {0, 3},
}

// hasSize reports whether the record's third header word is a byte size
// rather than a type ID.
func (k Kind) hasSize() bool {
	switch k {
	case KindInt, KindStruct, KindUnion, KindEnum, KindDatasec, KindFloat, KindEnum64:
		return true
	}
	return false
}

// refersByHeader reports whether the record's third header word is a type ID.
func (k Kind) refersByHeader() bool {
	switch k {
	case KindPtr, KindTypedef, KindVolatile, KindConst, KindRestrict, KindFunc,
		KindFuncProto, KindVar, KindDeclTag, KindTypeTag:
		return true
	}
	return false
}
