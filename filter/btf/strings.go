package btf

import (
	"bytes"
	"hash/maphash"
)

// StringTable is a BTF string section together with an index that finds a
// string in it by content. It is the one place strings are interned: a new
// section is built with Add, which stores each string once; an existing
// section is indexed with IndexStrings, without a copy. Find may be called
// concurrently once no Add runs.
//
// Offsets are relative to the start of the section. The index holds four
// bytes a string: the strings themselves are never copied out of the
// section.
type StringTable struct {
	data  []byte
	slots []uint32 // offset+1 of an indexed string; 0 marks an empty slot
	count int
	seed  maphash.Seed
}

// NewStringTable returns an empty section sized for about strings strings
// of bytes bytes in all (it grows past either).
func NewStringTable(strings, bytes int) *StringTable {
	n := 16
	for n < 2*strings {
		n *= 2
	}
	return &StringTable{data: make([]byte, 0, bytes), slots: make([]uint32, n), seed: maphash.MakeSeed()}
}

// IndexStrings indexes the NUL-terminated strings of an existing section;
// the table aliases section. A string stored more than once is found at its
// first offset. Bytes after the last NUL are not a string and are not
// indexed.
func IndexStrings(section []byte) *StringTable {
	t := NewStringTable(bytes.Count(section, []byte{0}), 0)
	t.data = section[:len(section):len(section)] // Add must not write into the caller's array
	for i := 0; i < len(section); {
		n := bytes.IndexByte(section[i:], 0)
		if n < 0 {
			break
		}
		if _, ok := t.Find(section[i : i+n]); !ok {
			t.insert(uint32(i))
		}
		i += n + 1
	}
	return t
}

// Bytes returns the section.
func (t *StringTable) Bytes() []byte { return t.data }

// Len is the section's length in bytes.
func (t *StringTable) Len() int { return len(t.data) }

// Find returns the offset of str in the section.
func (t *StringTable) Find(str []byte) (uint32, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := maphash.Bytes(t.seed, str) & mask; ; i = (i + 1) & mask {
		v := t.slots[i]
		if v == 0 {
			return 0, false
		}
		at := int(v - 1)
		if at+len(str) < len(t.data) && t.data[at+len(str)] == 0 && bytes.Equal(t.data[at:at+len(str)], str) {
			return v - 1, true
		}
	}
}

// Add returns the offset of str, appending str and its NUL to the section
// when it does not hold str yet.
func (t *StringTable) Add(str []byte) uint32 {
	if off, ok := t.Find(str); ok {
		return off
	}
	off := uint32(len(t.data))
	t.data = append(append(t.data, str...), 0)
	t.insert(off)
	return off
}

// insert indexes the string at off, which the index does not hold yet.
func (t *StringTable) insert(off uint32) {
	mask := uint64(len(t.slots) - 1)
	i := maphash.Bytes(t.seed, t.at(off)) & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = off + 1
	t.count++
	if 2*t.count > len(t.slots) {
		t.grow()
	}
}

// at returns the string at off, without its NUL.
func (t *StringTable) at(off uint32) []byte {
	s := t.data[off:]
	return s[:bytes.IndexByte(s, 0)]
}

// grow doubles the slots; the strings are found again in the section.
func (t *StringTable) grow() {
	old := t.slots
	t.slots = make([]uint32, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := maphash.Bytes(t.seed, t.at(v-1)) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = v
	}
}
