package btfids

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// symbolPrefix starts the name of every symbol resolve_btfids acts on; other
// symbols in the section (BTF_ID_LIST labels, set labels) carry no data.
const symbolPrefix = "__BTF_ID__"

// Set kinds: the symbol kinds that head a counted set instead of one ID word.
const (
	KindSet  = "set"
	KindSet8 = "set8"
)

// wordSize is the size of every unit in the section.
const wordSize = 4

// Symbol is one ELF symbol that lies in .BTF_ids, with its byte offset within
// the section's contents (st_value minus sh_addr in a linked image, st_value
// in a relocatable object).
type Symbol struct {
	Name   string
	Offset uint64
}

// Ref is one ID slot: a word that holds a BTF type ID.
//
// Symbol is the symbol at the slot and Kind and Name are parsed from it
// ("func" and "bpf_foo" for __BTF_ID__func__bpf_foo__12); ID is the word's
// value. Set is the set or set8 symbol when the slot is one of its entries.
// resolve_btfids sorts a set after writing its IDs, so inside a set the ID
// at a symbol's offset is the ID of some symbol of the same set, not
// necessarily of that one: only plain slots pair a name with its ID. A set
// entry that has no symbol of its own is reported with the set's symbol,
// Kind "set" or "set8" and the set's name.
type Ref struct {
	Symbol string
	Kind   string
	Name   string
	Offset uint64
	ID     uint32
	Set    string
}

// set is one counted set: a set (u32 ids) or a set8 ({id, flags} pairs).
type set struct {
	symbol string
	name   string
	eight  bool
	offset uint64 // of the cnt word
	count  uint32
}

// entries returns the offset of the first entry and the stride between entries.
func (st *set) entries() (first, stride uint64) {
	if st.eight {
		return st.offset + 2*wordSize, 2 * wordSize
	}
	return st.offset + wordSize, wordSize
}

// end returns the offset just past the set's last entry.
func (st *set) end() uint64 {
	first, stride := st.entries()
	return first + uint64(st.count)*stride
}

// wordRole says what a word of the section holds.
type wordRole uint8

const (
	roleID wordRole = iota + 1
	roleCount
	roleFlags
)

func (r wordRole) String() string {
	switch r {
	case roleID:
		return "an ID"
	case roleCount:
		return "a set count"
	case roleFlags:
		return "a set8 flags word"
	}
	return "nothing"
}

// Section is a parsed .BTF_ids section. It keeps its own copy of the bytes
// and is not changed by any method, so it is safe for concurrent use.
type Section struct {
	data  []byte
	order binary.ByteOrder
	refs  []Ref // by offset, then symbol name
	sets  []set // by offset
	// slots are the offsets of the ID words, each once, ascending, with the
	// symbol that names it in errors.
	slots []slot
}

// slot is one ID word and the symbol that names it.
type slot struct {
	offset uint64
	symbol string
}

// Parse parses a .BTF_ids section: data is its contents, order the byte order
// of the ELF file, syms the symbols that lie in the section (others may be
// included; only __BTF_ID__ symbols are used). data is copied.
//
// Parse fails, naming the symbol and offset, when a __BTF_ID__ symbol cannot
// be parsed, lies past the end or off a 4-byte boundary, when a set's count
// runs past the end, or when two structures claim the same word differently
// (a set over another set, an ID symbol on a count or flags word).
func Parse(data []byte, order binary.ByteOrder, syms []Symbol) (*Section, error) {
	if order == nil {
		return nil, fmt.Errorf("no byte order given")
	}
	s := &Section{data: append([]byte(nil), data...), order: order}
	size := uint64(len(data))

	// Sorting the symbols first makes every error and every list
	// independent of the symbol table's order.
	sorted := append([]Symbol(nil), syms...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Offset != sorted[j].Offset {
			return sorted[i].Offset < sorted[j].Offset
		}
		return sorted[i].Name < sorted[j].Name
	})

	for _, sym := range sorted {
		if !strings.HasPrefix(sym.Name, symbolPrefix) {
			continue
		}
		kind, name, err := splitName(sym.Name)
		if err != nil {
			return nil, fmt.Errorf("symbol %s at offset %#x: %w", sym.Name, sym.Offset, err)
		}
		if sym.Offset%wordSize != 0 {
			return nil, fmt.Errorf("symbol %s at offset %#x: not aligned to %d bytes", sym.Name, sym.Offset, wordSize)
		}
		if sym.Offset >= size || size-sym.Offset < wordSize {
			return nil, fmt.Errorf("symbol %s at offset %#x: past the end of the section (%d bytes)", sym.Name, sym.Offset, size)
		}
		switch kind {
		case KindSet, KindSet8:
			st := set{symbol: sym.Name, name: name, eight: kind == KindSet8, offset: sym.Offset}
			first, _ := st.entries()
			if first > size {
				return nil, fmt.Errorf("symbol %s at offset %#x: %s header runs past the end of the section (%d bytes)", sym.Name, sym.Offset, kind, size)
			}
			st.count = order.Uint32(data[sym.Offset:])
			if st.end() > size {
				return nil, fmt.Errorf("symbol %s at offset %#x: cnt %d runs past the end of the section (%d bytes)", sym.Name, sym.Offset, st.count, size)
			}
			s.sets = append(s.sets, st)
		default:
			s.refs = append(s.refs, Ref{
				Symbol: sym.Name,
				Kind:   kind,
				Name:   name,
				Offset: sym.Offset,
				ID:     order.Uint32(data[sym.Offset:]),
			})
		}
	}
	if err := s.assignWords(); err != nil {
		return nil, err
	}
	return s, nil
}

// splitName splits __BTF_ID__<kind>__<name>__<N> into kind and name, and
// __BTF_ID__set__<name> / __BTF_ID__set8__<name> into the set kind and name.
// Like resolve_btfids, the name of an ID symbol ends before the last "__",
// so names that themselves contain "__" survive.
func splitName(full string) (kind, name string, err error) {
	rest := full[len(symbolPrefix):]
	i := strings.Index(rest, "__")
	if i <= 0 {
		return "", "", fmt.Errorf("no kind in symbol name")
	}
	kind, rest = rest[:i], rest[i+2:]
	if kind == KindSet || kind == KindSet8 {
		if rest == "" {
			return "", "", fmt.Errorf("no set name in symbol name")
		}
		return kind, rest, nil
	}
	j := strings.LastIndex(rest, "__")
	if j < 0 || strings.Contains(rest[j+2:], "_") {
		return "", "", fmt.Errorf("no __<N> suffix in symbol name")
	}
	return kind, rest[:j], nil
}

// assignWords gives every word one role, rejects conflicts, and builds the
// list of ID slots (each word once, with the symbol errors name) and the
// Refs of set entries that have no symbol of their own.
func (s *Section) assignWords() error {
	type claim struct {
		role   wordRole
		symbol string
	}
	claims := make(map[uint64]claim)

	sort.SliceStable(s.sets, func(i, j int) bool { return s.sets[i].offset < s.sets[j].offset })
	for i := range s.sets {
		st := &s.sets[i]
		// Sets never nest: a word sorted by two sets would have no
		// well-defined place.
		if i > 0 && s.sets[i-1].end() > st.offset {
			prev := &s.sets[i-1]
			return fmt.Errorf("symbol %s at offset %#x: set overlaps %s (offsets %#x-%#x)", st.symbol, st.offset, prev.symbol, prev.offset, prev.end())
		}
		claims[st.offset] = claim{roleCount, st.symbol}
		if st.eight {
			claims[st.offset+wordSize] = claim{roleFlags, st.symbol}
		}
		first, stride := st.entries()
		for k := uint64(0); k < uint64(st.count); k++ {
			off := first + k*stride
			claims[off] = claim{roleID, st.symbol}
			if st.eight {
				claims[off+wordSize] = claim{roleFlags, st.symbol}
			}
		}
	}

	// A set's entries belong to the set, not to the per-entry symbols at
	// their offsets: resolve_btfids sorts each set after writing the IDs,
	// so the symbol at an entry's offset need not be the one whose ID the
	// entry holds. Errors therefore name the set for set entries, and
	// plain slots by their symbol (several symbols on one word are one slot).
	owner := make(map[uint64]string)
	for i := range s.refs {
		r := &s.refs[i]
		c, ok := claims[r.Offset]
		switch {
		case ok && c.role != roleID:
			return fmt.Errorf("symbol %s at offset %#x: word is %s of %s", r.Symbol, r.Offset, c.role, c.symbol)
		case ok:
			r.Set = c.symbol
		}
		if _, ok := owner[r.Offset]; !ok {
			owner[r.Offset] = r.Symbol
		}
	}

	for _, st := range s.sets {
		kind := KindSet
		if st.eight {
			kind = KindSet8
		}
		first, stride := st.entries()
		for k := uint64(0); k < uint64(st.count); k++ {
			off := first + k*stride
			_, named := owner[off]
			owner[off] = st.symbol
			if named {
				continue
			}
			s.refs = append(s.refs, Ref{
				Symbol: st.symbol,
				Kind:   kind,
				Name:   st.name,
				Offset: off,
				ID:     s.order.Uint32(s.data[off:]),
				Set:    st.symbol,
			})
		}
	}
	sort.SliceStable(s.refs, func(i, j int) bool {
		if s.refs[i].Offset != s.refs[j].Offset {
			return s.refs[i].Offset < s.refs[j].Offset
		}
		return s.refs[i].Symbol < s.refs[j].Symbol
	})

	s.slots = make([]slot, 0, len(owner))
	for off, sym := range owner {
		s.slots = append(s.slots, slot{off, sym})
	}
	sort.Slice(s.slots, func(i, j int) bool { return s.slots[i].offset < s.slots[j].offset })
	return nil
}

// Refs lists every ID slot, ordered by offset. A word named by several
// symbols appears once per symbol.
func (s *Section) Refs() []Ref {
	return append([]Ref(nil), s.refs...)
}

// IDs returns every nonzero ID held in an ID slot or a set entry.
func (s *Section) IDs() map[uint32]bool {
	ids := make(map[uint32]bool)
	for _, sl := range s.slots {
		if id := s.order.Uint32(s.data[sl.offset:]); id != 0 {
			ids[id] = true
		}
	}
	return ids
}

// FuncNames returns the names of every __BTF_ID__func__NAME__N symbol, sorted
// and unique: the functions the kernel looks up by ID, which must never be
// removed (docs/facts.md §7).
func (s *Section) FuncNames() []string {
	seen := make(map[string]bool)
	var names []string
	for _, r := range s.refs {
		if r.Kind == "func" && !seen[r.Name] {
			seen[r.Name] = true
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return names
}
