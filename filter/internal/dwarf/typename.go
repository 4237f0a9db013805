package dwarf

import (
	godwarf "debug/dwarf"
	"errors"
	"fmt"
	"sync"

	"github.com/btffilter/btffilter/elfio"
)

// Naming the type a DIE describes, for the few questions the scanner's
// peeled types do not answer: what a pointer points to. Only functions with
// several prototypes ask, so the names come from Go's debug/dwarf, opened
// once over the sections Scan read (relocations applied), rather than from
// a second decoder here.

// ErrUnnamed is the error TypeName returns for a type it does not name: a
// kind outside the ones prototypes are compared by (arrays, pointers to
// members, ...), or a chain of pointers and qualifiers more than eight
// deep. Callers compare such a type as an unknown one.
var ErrUnnamed = errors.New("a type the rules do not name")

// typeNames is the reader behind TypeName, made on first use.
type typeNames struct {
	once sync.Once
	g    *godwarf.Data
	err  error
}

// TypeName names the type whose DIE is at offset off, as two prototypes are
// compared: qualifiers peeled; a typedef, struct, union or enum by its
// keyword and name ("struct kobject", "typedef size_t"); a base type by
// name and size ("int (4 bytes)"); a pointer as "pointer to " its target's
// name; offset 0 and unspecified types as "void"; a subroutine type as
// "function". It returns ErrUnnamed (wrapped) for types it does not name,
// and another error when the DIE cannot be read. It is safe for concurrent
// use.
func (d *Data) TypeName(off uint64) (string, error) {
	if off == 0 {
		return "void", nil
	}
	g, err := d.names()
	if err != nil {
		return "", err
	}
	return typeName(g, godwarf.Offset(off), 0)
}

// names opens the reader, once.
func (d *Data) names() (*godwarf.Data, error) {
	tn := d.typeNames
	if tn == nil || d.sec == nil {
		return nil, errors.New("dwarf: no sections to name types from (the Data did not come from Scan)")
	}
	tn.once.Do(func() { tn.g, tn.err = openReference(d.sec) })
	return tn.g, tn.err
}

// openReference opens debug/dwarf over s. A panic in debug/dwarf on a
// hostile file becomes an error.
func openReference(s *sections) (g *godwarf.Data, err error) {
	defer func() {
		if r := recover(); r != nil {
			elfio.Refault(r)
			g, err = nil, fmt.Errorf("dwarf: debug/dwarf cannot read the sections: %v", r)
		}
	}()
	g, err = godwarf.New(s.abbrev, nil, nil, s.info, nil, nil, s.ranges, s.str)
	if err != nil {
		return nil, fmt.Errorf("dwarf: debug/dwarf cannot read the sections: %w", err)
	}
	for _, extra := range []struct {
		name string
		data []byte
	}{
		{".debug_addr", s.addr},
		{".debug_line_str", s.lineStr},
		{".debug_str_offsets", s.strOffsets},
		{".debug_rnglists", s.rnglists},
	} {
		if extra.data == nil {
			continue
		}
		if err := g.AddSection(extra.name, extra.data); err != nil {
			return nil, fmt.Errorf("dwarf: debug/dwarf cannot read %s: %w", extra.name, err)
		}
	}
	return g, nil
}

// typeName names the DIE at off; depth counts the links followed.
func typeName(g *godwarf.Data, off godwarf.Offset, depth int) (name string, err error) {
	if depth > 8 {
		return "", fmt.Errorf("DIE at %#x: %w (more than 8 links)", off, ErrUnnamed)
	}
	defer func() {
		if r := recover(); r != nil {
			elfio.Refault(r)
			name, err = "", fmt.Errorf("dwarf: .debug_info: DIE at %#x cannot be read: %v", off, r)
		}
	}()
	r := g.Reader()
	r.Seek(off)
	e, err := r.Next()
	switch {
	case err != nil:
		return "", fmt.Errorf("dwarf: .debug_info: DIE at %#x: %w", off, err)
	case e == nil:
		return "", fmt.Errorf("dwarf: .debug_info: no DIE at %#x", off)
	}
	own, _ := e.Val(godwarf.AttrName).(string)
	next, hasNext := e.Val(godwarf.AttrType).(godwarf.Offset)
	switch e.Tag {
	case godwarf.TagConstType, godwarf.TagVolatileType, godwarf.TagRestrictType, godwarf.TagAtomicType:
		if !hasNext {
			return "void", nil
		}
		return typeName(g, next, depth+1)
	case godwarf.TagPointerType:
		if !hasNext {
			return "pointer to void", nil
		}
		target, err := typeName(g, next, depth+1)
		if err != nil {
			return "", err
		}
		return "pointer to " + target, nil
	case godwarf.TagTypedef:
		return "typedef " + own, nil
	case godwarf.TagStructType:
		return "struct " + own, nil
	case godwarf.TagUnionType:
		return "union " + own, nil
	case godwarf.TagEnumerationType:
		return "enum " + own, nil
	case godwarf.TagBaseType:
		size, _ := e.Val(godwarf.AttrByteSize).(int64)
		return fmt.Sprintf("%s (%d bytes)", own, size), nil
	case godwarf.TagSubroutineType:
		return "function", nil
	case godwarf.TagUnspecifiedType:
		return "void", nil
	}
	return "", fmt.Errorf("DIE at %#x is a %v: %w", off, e.Tag, ErrUnnamed)
}
