package btfids

import (
	"errors"
	"fmt"
	"sort"
)

// ErrRemovedID is wrapped by the error Remap returns when the map reports an
// ID held in the section as removed.
var ErrRemovedID = errors.New("BTF ID was removed")

// Remap returns new section bytes after a renumbering of the BTF types.
//
// Every ID word is mapped by value through m, each word once whether it is
// named by its own symbol or only counted by a set; 0 (an unused or
// unresolved slot) stays 0. Count and flags words are left alone. Every set
// is then sorted by id ascending, and every set8 by pair id with each pair's
// flags moving along, as resolve_btfids leaves them; pairs with equal ids
// keep their order, so remapping with the identity gives back the same bytes
// when the sets were sorted. The Section is not changed.
//
// If m reports an ID as removed (ok false), Remap fails with an error that
// wraps ErrRemovedID and names the old ID and the slot's symbol, or the set's
// symbol for a set entry (see Ref): the kernel looks these types up by ID,
// so they must be kept (docs/facts.md §7).
func (s *Section) Remap(m func(old uint32) (new uint32, ok bool)) ([]byte, error) {
	out := append([]byte(nil), s.data...)
	for _, sl := range s.slots {
		old := s.order.Uint32(out[sl.offset:])
		if old == 0 {
			continue
		}
		id, ok := m(old)
		if !ok {
			return nil, fmt.Errorf("symbol %s at offset %#x: %w: %d", sl.symbol, sl.offset, ErrRemovedID, old)
		}
		s.order.PutUint32(out[sl.offset:], id)
	}
	for i := range s.sets {
		s.sortSet(out, &s.sets[i])
	}
	return out, nil
}

// sortSet sorts one set of buf in place. resolve_btfids compares ids as C
// ints by subtraction; BTF type IDs stay far below 2^31, where that order
// is the unsigned order used here.
func (s *Section) sortSet(buf []byte, st *set) {
	first, stride := st.entries()
	n := int(st.count)
	type entry struct{ id, flags uint32 }
	entries := make([]entry, n)
	for k := range entries {
		off := first + uint64(k)*stride
		entries[k].id = s.order.Uint32(buf[off:])
		if st.eight {
			entries[k].flags = s.order.Uint32(buf[off+wordSize:])
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].id < entries[j].id })
	for k, e := range entries {
		off := first + uint64(k)*stride
		s.order.PutUint32(buf[off:], e.id)
		if st.eight {
			s.order.PutUint32(buf[off+wordSize:], e.flags)
		}
	}
}
