package rules

import (
	godwarf "debug/dwarf"
	"fmt"
)

// Pointer targets. The scanner does not decode what a pointer points to;
// comparing two DWARF prototypes the way pahole does (consistent) needs its
// name: struct device * and struct kobject * are different prototypes to
// every BTF consumer (the verifier types the argument by it). Input.Ref,
// Go's debug/dwarf over the same sections, names them on demand: only
// functions with several prototypes ask.

// pointeeKey names the type at DIE offset off: qualifiers peeled, the first
// typedef, struct, union, enum or base type by name, pointers recursively.
// "?" when there is no reader or the DIE cannot be read.
func (c *judge) pointeeKey(off uint64) string {
	if off == 0 {
		return "void"
	}
	if !c.refAsked {
		c.refAsked = true
		if c.in.Ref != nil {
			c.ref = c.in.Ref()
		}
	}
	if c.ref == nil {
		return anyKey
	}
	if k, ok := c.pointees[off]; ok {
		return k
	}
	k := c.readPointeeSafely(godwarf.Offset(off))
	if c.pointees == nil {
		c.pointees = map[uint64]string{}
	}
	c.pointees[off] = k
	return k
}

// readPointeeSafely is readPointee with a panic in debug/dwarf, on a hostile
// file, read as a DIE that cannot be read.
func (c *judge) readPointeeSafely(off godwarf.Offset) (k string) {
	defer func() {
		if recover() != nil {
			k = anyKey
		}
	}()
	return c.readPointee(off, 0)
}

func (c *judge) readPointee(off godwarf.Offset, depth int) string {
	if depth > 8 {
		return anyKey
	}
	r := c.ref.Reader()
	r.Seek(off)
	e, err := r.Next()
	if err != nil || e == nil {
		return anyKey
	}
	name, _ := e.Val(godwarf.AttrName).(string)
	next, hasNext := e.Val(godwarf.AttrType).(godwarf.Offset)
	switch e.Tag {
	case godwarf.TagConstType, godwarf.TagVolatileType, godwarf.TagRestrictType, godwarf.TagAtomicType:
		if !hasNext {
			return "void"
		}
		return c.readPointee(next, depth+1)
	case godwarf.TagPointerType:
		if !hasNext {
			return "pointer to void"
		}
		return "pointer to " + c.readPointee(next, depth+1)
	case godwarf.TagTypedef:
		return "typedef " + name
	case godwarf.TagStructType:
		return "struct " + name
	case godwarf.TagUnionType:
		return "union " + name
	case godwarf.TagEnumerationType:
		return "enum " + name
	case godwarf.TagBaseType:
		size, _ := e.Val(godwarf.AttrByteSize).(int64)
		return fmt.Sprintf("%s (%d bytes)", name, size)
	case godwarf.TagSubroutineType:
		return "function"
	case godwarf.TagUnspecifiedType:
		return "void"
	}
	return anyKey
}
