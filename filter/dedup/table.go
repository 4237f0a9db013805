package dedup

// candTable maps a 64-bit key to the canonical type IDs filed under it, in
// the order they were added. Keys are hashes of the fields two types must
// share to merge; equal keys do not imply equal types, so callers compare
// each candidate. A table may extend a read-only parent (the base's), whose
// candidates come first: base IDs are lower than split IDs.
type candTable struct {
	parent *candTable
	slots  []slot // open addressing, length a power of two
	count  int
	next   []uint32 // next[e] is the entry after e under the same key; 0 ends
	ids    []uint32 // ids[e] is entry e's type ID; entry 0 is unused
}

type slot struct {
	key        uint64
	head, tail uint32 // entry indexes; head 0 marks an empty slot
}

func newCandTable(parent *candTable, hint int) *candTable {
	n := 16
	for n < 2*hint {
		n *= 2
	}
	return &candTable{
		parent: parent,
		slots:  make([]slot, n),
		next:   make([]uint32, 1, hint+1),
		ids:    make([]uint32, 1, hint+1),
	}
}

// mix spreads a key over the slot index bits.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

// first returns the first entry under key, or 0.
func (c *candTable) first(key uint64) uint32 {
	mask := uint64(len(c.slots) - 1)
	for i := mix(key) & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.head == 0 {
			return 0
		}
		if s.key == key {
			return s.head
		}
	}
}

// add files id under key, after the IDs already there.
func (c *candTable) add(key uint64, id uint32) {
	if 2*(c.count+1) > len(c.slots) {
		c.grow()
	}
	e := uint32(len(c.ids))
	c.ids = append(c.ids, id)
	c.next = append(c.next, 0)
	mask := uint64(len(c.slots) - 1)
	for i := mix(key) & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.head == 0 {
			*s = slot{key: key, head: e, tail: e}
			c.count++
			return
		}
		if s.key == key {
			c.next[s.tail] = e
			s.tail = e
			return
		}
	}
}

func (c *candTable) grow() {
	old := c.slots
	c.slots = make([]slot, 2*len(old))
	mask := uint64(len(c.slots) - 1)
	for _, s := range old {
		if s.head == 0 {
			continue
		}
		i := mix(s.key) & mask
		for c.slots[i].head != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = s
	}
}

// cands iterates over the candidates under key: the parent's, then c's own.
// fn returns false to stop.
func (c *candTable) cands(key uint64, fn func(id uint32) bool) {
	if c.parent != nil {
		p := c.parent
		for e := p.first(key); e != 0; e = p.next[e] {
			if !fn(p.ids[e]) {
				return
			}
		}
	}
	for e := c.first(key); e != 0; e = c.next[e] {
		if !fn(c.ids[e]) {
			return
		}
	}
}

// offMap maps uint32 keys to uint32 values with open addressing; it
// caches string offsets already rewritten.
type offMap struct {
	keys  []uint32 // key+1; 0 marks an empty slot
	vals  []uint32
	count int
}

func newOffMap(hint int) *offMap {
	n := 16
	for n < 2*hint {
		n *= 2
	}
	return &offMap{keys: make([]uint32, n), vals: make([]uint32, n)}
}

func (m *offMap) get(k uint32) (uint32, bool) {
	mask := uint32(len(m.keys) - 1)
	for i := uint32(mix(uint64(k))) & mask; ; i = (i + 1) & mask {
		switch m.keys[i] {
		case 0:
			return 0, false
		case k + 1:
			return m.vals[i], true
		}
	}
}

func (m *offMap) put(k, v uint32) {
	if 2*(m.count+1) > len(m.keys) {
		old := *m
		*m = offMap{keys: make([]uint32, 2*len(old.keys)), vals: make([]uint32, 2*len(old.keys))}
		for i, ok := range old.keys {
			if ok != 0 {
				m.put(ok-1, old.vals[i])
			}
		}
	}
	mask := uint32(len(m.keys) - 1)
	for i := uint32(mix(uint64(k))) & mask; ; i = (i + 1) & mask {
		if m.keys[i] == 0 || m.keys[i] == k+1 {
			if m.keys[i] == 0 {
				m.count++
			}
			m.keys[i], m.vals[i] = k+1, v
			return
		}
	}
}
