package dedup

// candTable maps a 64-bit key to the canonical type IDs filed under it, in
// the order they were added. Keys are hashes of the fields two types must
// share to merge; equal keys do not imply equal types, so callers compare
// each candidate. A table may extend a read-only parent (the base's), whose
// candidates come first: base IDs are lower than split IDs.
//
// The table is a chained hash table on flat arrays: a bucket holds a list of
// entries in insertion order, entries of several keys may share a bucket,
// and a lookup skips those whose key differs. An entry costs 16 bytes and a
// bucket 8, with no per-entry allocation.
type candTable struct {
	parent  *candTable
	heads   []uint32 // heads[b]: first entry of bucket b; 0 when empty
	tails   []uint32 // tails[b]: last entry of bucket b
	entries []entry  // entry 0 is unused
}

// entry is one candidate; its fields share a cache line, as a lookup reads
// them together.
type entry struct {
	key  uint64
	id   uint32 // the candidate's type ID
	next uint32 // the entry after this one in its bucket; 0 ends
}

// newCandTable makes a table for about hint entries; it grows past that.
func newCandTable(parent *candTable, hint int) *candTable {
	n := 16
	for n < hint {
		n *= 2
	}
	return &candTable{
		parent:  parent,
		heads:   make([]uint32, n),
		tails:   make([]uint32, n),
		entries: make([]entry, 1, hint+1),
	}
}

// mix spreads a key over the bucket index bits.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

// bucket returns key's bucket index.
func (c *candTable) bucket(key uint64) uint64 { return mix(key) & uint64(len(c.heads)-1) }

// add files id under key, after the IDs already there.
func (c *candTable) add(key uint64, id uint32) {
	if len(c.entries) > 2*len(c.heads) {
		c.grow()
	}
	e := uint32(len(c.entries))
	c.entries = append(c.entries, entry{key: key, id: id})
	c.link(e)
}

// link appends entry e to the end of its bucket.
func (c *candTable) link(e uint32) {
	b := c.bucket(c.entries[e].key)
	if c.heads[b] == 0 {
		c.heads[b] = e
	} else {
		c.entries[c.tails[b]].next = e
	}
	c.tails[b] = e
}

// grow doubles the buckets. Entries are relinked in entry order, so each
// key's entries keep their insertion order.
func (c *candTable) grow() {
	n := 2 * len(c.heads)
	c.heads = make([]uint32, n)
	c.tails = make([]uint32, n)
	for e := uint32(1); e < uint32(len(c.entries)); e++ {
		c.entries[e].next = 0
		c.link(e)
	}
}

// each calls fn with the IDs filed under key in c alone, until fn returns
// false; it returns false when fn did.
func (c *candTable) each(key uint64, fn func(id uint32) bool) bool {
	for e := c.heads[c.bucket(key)]; e != 0; {
		en := &c.entries[e]
		if en.key == key && !fn(en.id) {
			return false
		}
		e = en.next
	}
	return true
}

// cands iterates over the candidates under key: the parent's, then c's own.
// fn returns false to stop.
func (c *candTable) cands(key uint64, fn func(id uint32) bool) {
	if c.parent != nil && !c.parent.each(key, fn) {
		return
	}
	c.each(key, fn)
}
