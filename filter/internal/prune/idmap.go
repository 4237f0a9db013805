package prune

import "github.com/btffilter/btffilter/filter/btf"

// IDMap maps the type IDs of one spec before a rewrite to the IDs after it.
// IDs below the spec's first ID belong to its base and go through Base (or
// stay as they are when Base is nil). It is safe for concurrent reads.
type IDMap struct {
	first btf.TypeID
	to    []btf.TypeID // to[i] is the new ID of first+i; 0 when removed
	Base  *IDMap
}

// Lookup returns the new ID of old, and false when old was removed or is not
// covered by the map. Void maps to void.
func (m *IDMap) Lookup(old btf.TypeID) (btf.TypeID, bool) {
	if old == 0 {
		return 0, true
	}
	if m == nil {
		return old, true
	}
	if old < m.first {
		return m.Base.Lookup(old)
	}
	i := int(old - m.first)
	if i >= len(m.to) || m.to[i] == 0 {
		return 0, false
	}
	return m.to[i], true
}

// Identity reports whether the map changes no ID, its base's included.
func (m *IDMap) Identity() bool {
	for m != nil {
		for i, n := range m.to {
			if n != m.first+btf.TypeID(i) {
				return false
			}
		}
		m = m.Base
	}
	return true
}

// NewIDMap returns the map that sends first+i to to[i] (0: removed) and IDs
// below first through base (unchanged when base is nil). It takes to over.
func NewIDMap(first btf.TypeID, to []btf.TypeID, base *IDMap) *IDMap {
	return &IDMap{first: first, to: to, Base: base}
}
