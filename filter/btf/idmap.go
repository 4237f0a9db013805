package btf

// IDMap maps the type IDs of one spec before a rewrite to the IDs after it.
// IDs below the spec's first ID belong to its base and go through Base (or
// stay as they are when Base is nil). It is safe for concurrent reads.
//
// One IDMap describes one whole rewrite, however many steps it took
// (removal, deduplication, a move onto a rewritten base): callers never
// compose maps.
type IDMap struct {
	first TypeID
	to    []TypeID // to[i] is the new ID of first+i; 0 when removed
	Base  *IDMap
}

// NewIDMap returns the map that sends first+i to to[i] (0: removed) and IDs
// below first through base (unchanged when base is nil). It takes to over.
func NewIDMap(first TypeID, to []TypeID, base *IDMap) *IDMap {
	return &IDMap{first: first, to: to, Base: base}
}

// Lookup returns the new ID of old, and false when old was removed or is not
// covered by the map. Void maps to void, and a nil map changes nothing.
func (m *IDMap) Lookup(old TypeID) (TypeID, bool) {
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
			if n != m.first+TypeID(i) {
				return false
			}
		}
		m = m.Base
	}
	return true
}
