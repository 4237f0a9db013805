package rules

import (
	"fmt"
	"strings"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// Type keys compare a BTF type with a DWARF type, or two DWARF types, the
// way pahole compares prototypes: after peeling typedefs and qualifiers, the
// kind, the size and the name; a pointer is a pointer whatever it points to.
// A key of "?" is a type that cannot be compared and matches anything.

const anyKey = "?"

func keysMatch(a, b string) bool { return a == b || a == anyKey || b == anyKey }

// dwarfKey is the key of a peeled DWARF type (nil is void).
func dwarfKey(t *dwarf.Type) string {
	if t == nil {
		return "void"
	}
	switch t.Kind {
	case dwarf.KindVoid:
		return "void"
	case dwarf.KindInt, dwarf.KindBool, dwarf.KindFloat:
		return fmt.Sprintf("%s (%d bytes)", t.Name, t.Size)
	case dwarf.KindPointer:
		return "pointer"
	case dwarf.KindStruct:
		return aggKey("struct", t.Name, t.Size)
	case dwarf.KindUnion:
		return aggKey("union", t.Name, t.Size)
	case dwarf.KindEnum:
		return fmt.Sprintf("enum %s (%d bytes)", t.Name, t.Size)
	case dwarf.KindArray:
		return "array"
	case dwarf.KindFunc:
		return "function"
	}
	return anyKey
}

func aggKey(kw, name string, size int64) string {
	if name == "" {
		return fmt.Sprintf("anonymous %s (%d bytes)", kw, size)
	}
	return kw + " " + name
}

// btfKey is the key of BTF type id of spec after peeling.
func btfKey(s *btf.Spec, id btf.TypeID) string {
	for depth := 0; depth < 32; depth++ {
		t, err := s.Type(id)
		if err != nil {
			return anyKey
		}
		if t == nil {
			return "void"
		}
		name := s.Name(t)
		switch t.Kind() {
		case btf.KindTypedef, btf.KindConst, btf.KindVolatile, btf.KindRestrict, btf.KindTypeTag:
			id = btf.TypeID(t.SizeType)
			continue
		case btf.KindInt, btf.KindFloat:
			return fmt.Sprintf("%s (%d bytes)", name, t.SizeType)
		case btf.KindPtr:
			return "pointer"
		case btf.KindStruct:
			return aggKey("struct", name, int64(t.SizeType))
		case btf.KindUnion:
			return aggKey("union", name, int64(t.SizeType))
		case btf.KindFwd:
			if t.KindFlag() {
				return "union " + name
			}
			return "struct " + name
		case btf.KindEnum, btf.KindEnum64:
			return fmt.Sprintf("enum %s (%d bytes)", name, t.SizeType)
		case btf.KindArray:
			return "array"
		case btf.KindFuncProto:
			return "function"
		}
		return anyKey
	}
	return anyKey
}

// protoKey is a comparable summary of a DWARF prototype: return and
// parameter keys, and "..." for a variadic one.
type protoKey struct {
	ret    string
	params []string
	names  []string
	va     bool
}

func (c *judge) dwarfProto(f *dwarf.Func) protoKey {
	r := c.root(f)
	k := protoKey{ret: dwarfKey(r.Return), va: r.Variadic}
	for _, p := range c.declared(f) {
		k.params = append(k.params, dwarfKey(p.Type))
		k.names = append(k.names, p.Name)
	}
	return k
}

// dwarfProtoDeep is dwarfProto with pointer targets named (pointee.go), for
// comparing two DWARF prototypes.
func (c *judge) dwarfProtoDeep(f *dwarf.Func) protoKey {
	k := c.dwarfProto(f)
	r := c.root(f)
	deep := func(t *dwarf.Type, key string) string {
		if t == nil || t.Kind != dwarf.KindPointer {
			return key
		}
		if p := c.pointeeKey(t.Target); p != anyKey {
			return "pointer to " + p
		}
		return key
	}
	k.ret = deep(r.Return, k.ret)
	for i, p := range c.declared(f) {
		k.params[i] = deep(p.Type, k.params[i])
	}
	return k
}

func btfProto(s *btf.Spec, p *btf.Type) protoKey {
	k := protoKey{ret: btfKey(s, btf.TypeID(p.SizeType))}
	ps := p.Params()
	if n := len(ps); n > 0 && ps[n-1].Type == 0 && ps[n-1].NameOff == 0 {
		k.va = true
		ps = ps[:n-1]
	}
	for _, q := range ps {
		k.params = append(k.params, btfKey(s, q.Type))
		n, _ := s.Str(q.NameOff)
		k.names = append(k.names, n)
	}
	return k
}

// diff returns "" when a and b agree, else the first difference as a
// phrase naming aName and bName.
func (a protoKey) diff(b protoKey, aName, bName string) string {
	if len(a.params) != len(b.params) {
		return fmt.Sprintf("%d parameters in %s, %d in %s", len(a.params), aName, len(b.params), bName)
	}
	if a.va != b.va {
		return fmt.Sprintf("variadic in %s: %v, in %s: %v", aName, a.va, bName, b.va)
	}
	if !keysMatch(a.ret, b.ret) {
		return fmt.Sprintf("return type %s in %s, %s in %s", a.ret, aName, b.ret, bName)
	}
	for i := range a.params {
		if !keysMatch(a.params[i], b.params[i]) {
			return fmt.Sprintf("parameter %d (%s) is %s in %s, %s in %s",
				i, paramName(a.names[i], b.names[i]), a.params[i], aName, b.params[i], bName)
		}
	}
	return ""
}

func paramName(a, b string) string {
	if a == b || b == "" {
		return a
	}
	if a == "" {
		return b
	}
	return a + "/" + b
}

// unitName names the compilation unit of f for a reason string.
func (c *judge) unitName(f *dwarf.Func) string {
	if f.Unit >= 0 && f.Unit < len(c.in.DWARF.Units) {
		if n := c.in.DWARF.Units[f.Unit].Name; n != "" {
			return n
		}
	}
	return fmt.Sprintf("the unit of DIE %#x", f.Offset)
}

func joinMax(list []string, n int) string {
	if len(list) > n {
		return strings.Join(list[:n], ", ") + fmt.Sprintf(" and %d more", len(list)-n)
	}
	return strings.Join(list, ", ")
}

// typedefDiff compares how two DWARF prototypes that agree as types spell
// their return and parameter types: by the outermost typedef name, or the
// type's own name without one. pahole tells typedef names apart (size_t
// and __kernel_size_t are different prototypes to it), so the consistent
// rule does too, saying that only the spelling differs. "" when they agree.
func (c *judge) typedefDiff(a, b *dwarf.Func, aName, bName string) string {
	spell := func(t *dwarf.Type) string {
		switch {
		case t == nil:
			return "void"
		case t.Typedef != "":
			return t.Typedef
		case t.Name != "":
			return t.Name
		}
		return ""
	}
	const same = " (the same type under another name; pahole compares typedef names)"
	if sa, sb := spell(c.root(a).Return), spell(c.root(b).Return); sa != "" && sb != "" && sa != sb {
		return fmt.Sprintf("return type is spelled %s in %s, %s in %s%s", sa, aName, sb, bName, same)
	}
	pa, pb := c.declared(a), c.declared(b)
	for i := range min(len(pa), len(pb)) {
		if sa, sb := spell(pa[i].Type), spell(pb[i].Type); sa != "" && sb != "" && sa != sb {
			return fmt.Sprintf("parameter %d (%s) is spelled %s in %s, %s in %s%s",
				i, paramName(pa[i].Name, pb[i].Name), sa, aName, sb, bName, same)
		}
	}
	return ""
}
