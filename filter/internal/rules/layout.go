package rules

import (
	"errors"
	"fmt"

	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// Turning the scanner's peeled DWARF types into filter/internal/abi's layouts.
// Errors are categories (they are counted in warnings, not per function).

var (
	errUnknownType = errors.New("a parameter or return type the DWARF scanner could not decode")
	errOddType     = errors.New("a parameter or return type with a layout no C type has")
)

// maxMemberBytes bounds the aggregates whose members are listed: abi looks
// at members only to find floating-point data in aggregates passed in
// registers (at most 16 bytes; arm64 HFAs at most 64).
const maxMemberBytes = 64

func (c *judge) abiFunc(f *dwarf.Func) (abi.Func, error) {
	r := c.root(f)
	var fn abi.Func
	var err error
	if fn.Return, err = argOf(r.Return, 0); err != nil {
		return abi.Func{}, err
	}
	fn.Variadic = r.Variadic
	for _, p := range c.declared(f) {
		a, err := argOf(p.Type, 0)
		if err != nil {
			return abi.Func{}, err
		}
		fn.Params = append(fn.Params, a)
	}
	return fn, nil
}

// argOf converts a peeled type (nil is void).
func argOf(t *dwarf.Type, depth int) (abi.Arg, error) {
	if t == nil {
		return abi.Arg{Class: abi.Void}, nil
	}
	if depth > 16 {
		return abi.Arg{}, errOddType
	}
	name := t.Name
	if t.Typedef != "" {
		name = t.Typedef
	}
	a := abi.Arg{Name: name, Size: int(t.Size), Align: int(max(t.Natural, 1)), ExplicitAlign: int(t.Explicit)}
	switch t.Kind {
	case dwarf.KindVoid:
		a.Class = abi.Void
	case dwarf.KindInt, dwarf.KindBool, dwarf.KindEnum:
		a.Class = abi.Int
		if t.Size == 16 {
			a.Class = abi.Int128
		}
	case dwarf.KindFloat:
		a.Class = abi.Float
	case dwarf.KindPointer:
		a.Class = abi.Pointer
	case dwarf.KindStruct, dwarf.KindUnion:
		a.Class = abi.Struct
		if t.Kind == dwarf.KindUnion {
			a.Class = abi.Union
		}
		kw := "struct "
		if t.Kind == dwarf.KindUnion {
			kw = "union "
		}
		if t.Typedef == "" && t.Name != "" {
			a.Name = kw + t.Name
		}
		if t.Incomplete || t.Size < 0 {
			return abi.Arg{}, errOddType
		}
		a.Packed = t.UnalignedField
		if t.Size <= maxMemberBytes {
			for _, m := range t.Members {
				mem, err := memberOf(t, m, depth)
				if err != nil {
					return abi.Arg{}, err
				}
				if mem.Type.Size > 0 {
					a.Members = append(a.Members, mem)
				}
			}
		}
	case dwarf.KindArray:
		// Only as a member: a block of its element's data.
		a.Class = abi.Struct
		if t.Elem != nil && t.Elem.Kind == dwarf.KindFloat && t.Count <= 16 {
			e, err := argOf(t.Elem, depth+1)
			if err != nil {
				return abi.Arg{}, err
			}
			for i := 0; i < int(t.Count); i++ {
				a.Members = append(a.Members, abi.Member{Offset: i * e.Size, Type: e})
			}
		}
	default:
		return abi.Arg{}, errUnknownType
	}
	if a.Size < 0 {
		return abi.Arg{}, errOddType
	}
	return a, nil
}

// memberOf converts one member; a bit field is integer data over the bytes
// it covers.
func memberOf(parent *dwarf.Type, m dwarf.Member, depth int) (abi.Member, error) {
	if m.Type == nil {
		return abi.Member{}, errOddType
	}
	if m.BitSize > 0 {
		first := m.BitOffset / 8
		last := (m.BitOffset + m.BitSize - 1) / 8
		size := min(last-first+1, 8)
		if first+size > parent.Size {
			return abi.Member{}, fmt.Errorf("%w (bit field past its aggregate)", errOddType)
		}
		return abi.Member{Offset: int(first), Type: abi.Arg{Class: abi.Int, Size: int(size), Align: 1}}, nil
	}
	mt, err := argOf(m.Type, depth+1)
	if err != nil {
		return abi.Member{}, err
	}
	return abi.Member{Offset: int(m.Offset), Type: mt}, nil
}

// isAggregate reports a struct or union parameter (pahole's waiver of
// unexpected_reg, which the abi rule covers instead).
func isAggregate(t *dwarf.Type) bool {
	return t != nil && (t.Kind == dwarf.KindStruct || t.Kind == dwarf.KindUnion)
}
