package dedup

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/btf"
)

// Base is a base spec prepared for deduplicating split specs on it: its
// types in ID order, its strings by content, and its types in the candidate
// table. It is read only once made, so it is safe for concurrent use.
type Base struct {
	spec    *btf.Spec
	types   []btf.Type         // types[i] has ID i+1, across the base's own bases
	strs    []*btf.StringTable // the string sections of the chain, its root first
	table   *candTable
	structs map[uint32]uint32 // struct/union name offset -> ID, 0 when the name is shared
}

// NewBase prepares base for Dedup (Options.Base).
func NewBase(base *btf.Spec) (*Base, error) {
	var chain []*btf.Spec
	for s := base; s != nil; s = s.Base {
		chain = append(chain, s)
	}
	n := int(base.NextID()) - 1
	b := &Base{spec: base, structs: map[uint32]uint32{}}
	for i := len(chain) - 1; i >= 0; i-- {
		b.strs = append(b.strs, btf.IndexStrings(chain[i].Strings))
	}
	if len(chain) == 1 {
		b.types = base.Types // only read, so a plain base is used as it is
	} else {
		b.types = make([]btf.Type, 0, n)
		for i := len(chain) - 1; i >= 0; i-- {
			b.types = append(b.types, chain[i].Types...)
		}
	}
	b.table = newCandTable(nil, n)
	for i := range b.types {
		t := &b.types[i]
		id := uint32(i + 1)
		if !wellFormed(t) {
			return nil, fmt.Errorf("dedup: base type [%d] %v: vlen %d does not match its %d extra words", id, t.Kind(), t.Vlen(), len(t.Extra))
		}
		switch t.Kind() {
		case btf.KindVar, btf.KindDatasec:
			continue
		case btf.KindStruct, btf.KindUnion:
			if _, dup := b.structs[t.NameOff]; dup {
				b.structs[t.NameOff] = 0
			} else {
				b.structs[t.NameOff] = id
			}
		}
		key, ok := keyOf(t)
		if !ok {
			return nil, fmt.Errorf("dedup: base type [%d] has unknown kind %v", id, t.Kind())
		}
		b.table.add(key, id)
	}
	return b, nil
}

// findString returns the offset of str in the base: the first of the
// chain's sections that holds it, at its first offset there.
func (b *Base) findString(str []byte) (uint32, bool) {
	at := uint32(0)
	for _, t := range b.strs {
		if off, ok := t.Find(str); ok {
			return at + off, true
		}
		at += uint32(t.Len())
	}
	return 0, false
}
