package rules

import (
	"errors"
	"fmt"

	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// Pointer targets. The scanner does not decode what a pointer points to;
// comparing two DWARF prototypes the way pahole does (consistent) needs its
// name: struct device * and struct kobject * are different prototypes to
// every BTF consumer (the verifier types the argument by it). The DWARF
// names them on demand (dwarf.Data.TypeName): only functions with several
// prototypes ask.
//
// A target the DWARF does not name (dwarf.ErrUnnamed: an array, a pointer
// chain too deep) is an unknown: the pointer is then compared as a plain
// pointer, as it would be without its target. A target whose DIE cannot
// be read is an unknown too, and the decision's warnings say how many there
// were and why.

// pointeeKey names the type at DIE offset off, or returns anyKey for an
// unknown one.
func (c *judge) pointeeKey(off uint64) string {
	if k, ok := c.pointees[off]; ok {
		return k
	}
	k, err := c.in.DWARF.TypeName(off)
	switch {
	case err == nil:
	case errors.Is(err, dwarf.ErrUnnamed):
		k = anyKey
	default:
		c.unreadable = append(c.unreadable, unreadableTarget{off, err})
		return anyKey
	}
	if c.pointees == nil {
		c.pointees = map[uint64]string{}
	}
	c.pointees[off] = k
	return k
}

// pointeeWarning is the decision's warning about pointer targets that could
// not be read, "" when there were none: how many different ones, and why
// the first met could not.
func (c *judge) pointeeWarning() string {
	if len(c.unreadable) == 0 {
		return ""
	}
	seen := map[uint64]bool{}
	for _, u := range c.unreadable {
		seen[u.off] = true
	}
	return fmt.Sprintf("%d pointer target(s) could not be read, so their pointers were compared as plain pointers (first: %v)", len(seen), c.unreadable[0].err)
}
