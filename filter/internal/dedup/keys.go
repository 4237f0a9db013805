package dedup

import (
	"slices"

	"github.com/btffilter/btffilter/filter/btf"
)

// Candidate keys. A key hashes exactly the fields the matching equality test
// compares (libbpf's btf_hash_* functions), so the candidates under a key
// are the canonical types that may merge; each is still compared in full.

const (
	seedCommon  = 0x9e3779b97f4a7c15
	seedTypedef = 0xc2b2ae3d27d4eb4f
	seedEnum    = 0x165667b19e3779f9
)

func comb(h uint64, v uint32) uint64 { return (h ^ uint64(v)) * 0x100000001b3 }

// keyCommon covers name, info and the size/type word.
func keyCommon(t *btf.Type) uint64 {
	return comb(comb(comb(seedCommon, t.NameOff), t.Info), t.SizeType)
}

// keyTypedef leaves the referenced type out: it is not final yet when
// typedefs are merged.
func keyTypedef(t *btf.Type) uint64 { return comb(comb(seedTypedef, t.NameOff), t.Info) }

// keyIntTag adds INT's encoding word or DECL_TAG's component index.
func keyIntTag(t *btf.Type) uint64 { return comb(keyCommon(t), t.Extra[0]) }

// keyEnum is the name alone, so that forward enums (vlen 0, any size) meet
// the full ENUM or ENUM64 of their name.
func keyEnum(t *btf.Type) uint64 { return comb(seedEnum, t.NameOff) }

// keyStruct adds member names and offsets but not member types.
func keyStruct(t *btf.Type) uint64 {
	h := keyCommon(t)
	for j := 0; j+2 < len(t.Extra); j += 3 {
		h = comb(comb(h, t.Extra[j]), t.Extra[j+2])
	}
	return h
}

// keyArray includes element type, index type and element count.
func keyArray(t *btf.Type) uint64 {
	return comb(comb(comb(keyCommon(t), t.Extra[0]), t.Extra[1]), t.Extra[2])
}

// keyProto includes the return type and every parameter's name and type.
func keyProto(t *btf.Type) uint64 {
	h := keyCommon(t)
	for j := 0; j+1 < len(t.Extra); j += 2 {
		h = comb(comb(h, t.Extra[j]), t.Extra[j+1])
	}
	return h
}

// keyOf is the key a canonical type is filed under; false for kinds that
// are never candidates.
func keyOf(t *btf.Type) (uint64, bool) {
	switch t.Kind() {
	case btf.KindConst, btf.KindVolatile, btf.KindRestrict, btf.KindPtr, btf.KindFwd,
		btf.KindFunc, btf.KindFloat, btf.KindTypeTag:
		return keyCommon(t), true
	case btf.KindTypedef:
		return keyTypedef(t), true
	case btf.KindInt, btf.KindDeclTag:
		return keyIntTag(t), true
	case btf.KindEnum, btf.KindEnum64:
		return keyEnum(t), true
	case btf.KindStruct, btf.KindUnion:
		return keyStruct(t), true
	case btf.KindArray:
		return keyArray(t), true
	case btf.KindFuncProto:
		return keyProto(t), true
	}
	return 0, false
}

// Equality tests, as libbpf's btf_equal_*/btf_compat_* functions.

func equalCommon(a, b *btf.Type) bool {
	return a.NameOff == b.NameOff && a.Info == b.Info && a.SizeType == b.SizeType
}

// equalAll compares every field: libbpf's btf_equal_int_tag, btf_equal_enum,
// btf_equal_array and btf_equal_fnproto all come to this, since equal info
// words give equal kinds and vlens, so extra words of equal length.
func equalAll(a, b *btf.Type) bool { return equalCommon(a, b) && slices.Equal(a.Extra, b.Extra) }

func equalTypedef(a, b *btf.Type) bool { return a.NameOff == b.NameOff && a.Info == b.Info }

func isAnyEnum(t *btf.Type) bool {
	k := t.Kind()
	return k == btf.KindEnum || k == btf.KindEnum64
}

func isEnumFwd(t *btf.Type) bool { return isAnyEnum(t) && t.Vlen() == 0 }

// compatEnum also lets a forward enum match a full ENUM or ENUM64 of its
// name, whatever the sizes.
func compatEnum(a, b *btf.Type) bool {
	if !isEnumFwd(a) && !isEnumFwd(b) {
		return equalAll(a, b)
	}
	return a.NameOff == b.NameOff && isAnyEnum(a) && isAnyEnum(b)
}

// shallowEqualStruct compares everything but member types.
func shallowEqualStruct(a, b *btf.Type) bool {
	if !equalCommon(a, b) {
		return false
	}
	for j := 0; j+2 < len(a.Extra); j += 3 {
		if a.Extra[j] != b.Extra[j] || a.Extra[j+2] != b.Extra[j+2] {
			return false
		}
	}
	return true
}

// compatArray compares everything but the element and index types.
func compatArray(a, b *btf.Type) bool { return equalCommon(a, b) && a.Extra[2] == b.Extra[2] }

// compatProto compares everything but the return and parameter types.
func compatProto(a, b *btf.Type) bool {
	if a.NameOff != b.NameOff || a.Info != b.Info {
		return false
	}
	for j := 0; j+1 < len(a.Extra); j += 2 {
		if a.Extra[j] != b.Extra[j] {
			return false
		}
	}
	return true
}
