package dwarf

import (
	"errors"
	"fmt"
	"sync"
)

// Naming the type a DIE describes, for the few questions the scanner's
// peeled types do not answer: what a pointer points to. Only functions with
// several prototypes ask, so the DIEs are read on demand, after the scan,
// with the scanner's own reader: the units' headers and bases stay from the
// scan, and the abbreviation table of the unit asked about is parsed again.

// ErrUnnamed is the error TypeName returns for a type it does not name: a
// kind outside the ones prototypes are compared by (arrays, pointers to
// members, ...), or a chain of pointers and qualifiers more than eight
// deep. Callers compare such a type as an unknown one.
var ErrUnnamed = errors.New("a type the rules do not name")

// namer is the reader behind TypeName: one worker, used under mu.
type namer struct {
	mu sync.Mutex
	w  *worker
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
	n := d.namer
	if n == nil {
		return "", errors.New("dwarf: no sections to name types from (the Data did not come from Scan)")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w.typeName(off, 0)
}

// typeName names the DIE at off; depth counts the links followed.
func (w *worker) typeName(off uint64, depth int) (string, error) {
	if depth > 8 {
		return "", fmt.Errorf("DIE at %#x: %w (more than 8 links)", off, ErrUnnamed)
	}
	u := w.unitAt(off)
	if u == nil {
		return "", fmt.Errorf("dwarf: .debug_info: DIE at %#x: outside every unit", off)
	}
	if u != w.cur {
		// One table at a time, parsed again when the unit changes: the
		// names asked for spread over most units of a vmlinux, and
		// keeping every table would cost more than parsing them. The
		// pages the last unit's DIEs faulted in go likewise.
		// A relocatable object's last few units stay relocated.
		if prev := w.cur; prev != nil && w.evict != nil && w.sec.lazy == nil {
			w.evict(w.sec.info[prev.off:prev.end])
		}
		err := w.startUnit(u)
		w.letGo(keepUnits)
		if err != nil {
			return "", err
		}
	}
	var d die
	if err := w.readDIE(u, off, &d); err != nil {
		return "", err
	}
	next, hasNext := d.typ, d.hasType && !d.sig8 && d.typ != 0
	switch d.tag {
	case 0:
		return "", fmt.Errorf("dwarf: .debug_info: DIE at %#x: a null entry, not a DIE", off)
	case tagConstType, tagVolatileType, tagRestrictType, tagAtomicType:
		if !hasNext {
			return "void", nil
		}
		return w.typeName(next, depth+1)
	case tagPointerType:
		if !hasNext {
			return "pointer to void", nil
		}
		target, err := w.typeName(next, depth+1)
		if err != nil {
			return "", err
		}
		return "pointer to " + target, nil
	case tagTypedef:
		return "typedef " + d.name, nil
	case tagStructureType:
		return "struct " + d.name, nil
	case tagUnionType:
		return "union " + d.name, nil
	case tagEnumerationType:
		return "enum " + d.name, nil
	case tagBaseType:
		size := int64(0)
		if d.hasSize {
			size = d.byteSize
		}
		return fmt.Sprintf("%s (%d bytes)", d.name, size), nil
	case tagSubroutineType:
		return "function", nil
	case tagUnspecifiedType:
		return "void", nil
	}
	return "", fmt.Errorf("DIE at %#x has tag 0x%x: %w", off, d.tag, ErrUnnamed)
}
