package abi

import (
	"fmt"
	"strings"
)

// Class is the kind of a parameter's type after typedefs and qualifiers are
// peeled, as far as a calling convention cares.
type Class uint8

// The classes. Int covers integers, enums, bool and char of up to 8 bytes.
const (
	Invalid Class = iota
	Void          // no value: a void return, or a malformed void parameter
	Int
	Int128 // a 16-byte integer scalar (__int128, unsigned __int128)
	Pointer
	Float // float, double, long double
	Struct
	Union
)

var classNames = [...]string{"invalid", "void", "int", "int128", "pointer", "float", "struct", "union"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// aggregate reports whether c is a struct or a union.
func (c Class) aggregate() bool { return c == Struct || c == Union }

// Arg is the layout of one parameter (or member, or return) type: what the
// calling conventions and the trampoline need, nothing else. Build it from
// DWARF after peeling typedefs and qualifiers (docs/facts.md §3).
type Arg struct {
	// Name is the type as C spells it ("struct pk", "pk_t", "long"), used in
	// reason strings only; it may be empty.
	Name  string
	Class Class
	// Size in bytes.
	Size int
	// Align is the natural alignment: for scalars the type's alignment; for
	// aggregates the largest alignment of the members (a member-level
	// aligned attribute counts), ignoring an aligned attribute on the
	// aggregate itself (AAPCS64 B.6), and 1 for a packed aggregate.
	Align int
	// ExplicitAlign is an alignment attribute on the aggregate itself
	// (DW_AT_alignment on the type), 0 when there is none. The type's real
	// alignment is max(Align, ExplicitAlign).
	ExplicitAlign int
	// Packed reports a member, at any depth, at an offset that is not a
	// multiple of its alignment (bit-fields excepted): x86-64 class MEMORY.
	// A packed struct whose members all sit aligned is not Packed.
	Packed bool
	// Members are an aggregate's fields, used only to find floating-point
	// eightbytes (x86-64) and homogeneous floating-point aggregates (arm64).
	// Arrays may be given as repeated elements, or, when they hold no
	// floating point, as one Int member covering them. Nil means "integer
	// data only".
	Members []Member
}

// Member is one field of an aggregate, at a byte offset from its start.
type Member struct {
	Offset int
	Type   Arg
}

// Func is what the rule needs of a function's prototype.
type Func struct {
	Params   []Arg
	Return   Arg // Class Void for a void function
	Variadic bool
}

// realAlign is the alignment the type has in memory.
func (a Arg) realAlign() int {
	if a.ExplicitAlign > a.Align {
		return a.ExplicitAlign
	}
	if a.Align < 1 {
		return 1
	}
	return a.Align
}

// slots is the number of 8-byte slots the type covers.
func (a Arg) slots() int { return (a.Size + 7) / 8 }

// check rejects a layout no C type has, so that the models never see one.
func (a Arg) check() error {
	switch a.Class {
	case Int:
		if a.Size < 1 || a.Size > 8 {
			return fmt.Errorf("%s: integer of %d bytes", a.describe(), a.Size)
		}
	case Int128:
		if a.Size != 16 {
			return fmt.Errorf("%s: 128-bit integer of %d bytes", a.describe(), a.Size)
		}
	case Pointer:
		if a.Size != 8 {
			return fmt.Errorf("%s: pointer of %d bytes on a 64-bit target", a.describe(), a.Size)
		}
	case Float:
		if a.Size != 4 && a.Size != 8 && a.Size != 16 {
			return fmt.Errorf("%s: floating-point type of %d bytes", a.describe(), a.Size)
		}
	case Struct, Union:
		if a.Size < 0 {
			return fmt.Errorf("%s: negative size %d", a.describe(), a.Size)
		}
		for _, m := range a.Members {
			if m.Offset < 0 || m.Type.Size < 0 || m.Offset+m.Type.Size > a.Size {
				return fmt.Errorf("%s: member at offset %d of %d bytes outside %d bytes",
					a.describe(), m.Offset, m.Type.Size, a.Size)
			}
			if err := m.Type.check(); err != nil {
				return err
			}
		}
	case Void:
	default:
		return fmt.Errorf("%s: unknown class %d", a.describe(), a.Class)
	}
	if a.Align < 0 || a.ExplicitAlign < 0 {
		return fmt.Errorf("%s: negative alignment", a.describe())
	}
	return nil
}

// describe names the type for a reason string: "struct pk, 13 bytes, packed".
func (a Arg) describe() string {
	name := a.Name
	if name == "" {
		switch a.Class {
		case Struct, Union:
			name = "anonymous " + a.Class.String()
		default:
			name = a.Class.String()
		}
	}
	parts := []string{name}
	if a.Class.aggregate() || a.Class == Int128 {
		parts = append(parts, fmt.Sprintf("%d bytes", a.Size))
	}
	if a.Packed {
		parts = append(parts, "packed")
	}
	if a.Class.aggregate() && a.realAlign() >= 16 {
		switch {
		case a.Align >= 16:
			parts = append(parts, fmt.Sprintf("member aligned(%d)", a.Align))
		default:
			parts = append(parts, fmt.Sprintf("aligned(%d)", a.ExplicitAlign))
		}
	}
	return strings.Join(parts, ", ")
}

// leaf is a scalar inside an aggregate at an absolute byte offset.
type leaf struct {
	offset, size int
	float        bool
}

// leaves lists the scalars of a type with their offsets from base. An
// aggregate without members counts as integer data over its whole size.
func (a Arg) leaves(base int, out []leaf) []leaf {
	if a.Class.aggregate() && len(a.Members) > 0 {
		for _, m := range a.Members {
			out = m.Type.leaves(base+m.Offset, out)
		}
		return out
	}
	if a.Size == 0 {
		return out
	}
	return append(out, leaf{offset: base, size: a.Size, float: a.Class == Float})
}
