package kbuild

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
)

// The comparison of two builds of one ELF file (plain and wrapper): which
// headers and sections differ, and whether every differing byte outside the
// BTF sections has a reason. A relinked vmlinux whose .BTF shrank has its
// later symbols moved; each reference to a moved symbol (a 32-bit
// displacement or offset, a 64-bit address) then changes by exactly that
// symbol's move. Those are the "explained" fields; anything else is
// reported by offset.

// SectionDiff is how one section differs.
type SectionDiff struct {
	Name string
	// Header lists the header fields that differ ("size 0x10 -> 0x8").
	Header []string
	// Bytes counts the differing bytes of the contents (over the shorter
	// length when the size changed).
	Bytes int
	// Fields counts the 4- and 8-byte fields whose change equals the move
	// of a symbol; BuildID counts the bytes of a GNU build-id note;
	// Kallsyms the bytes of the kallsyms tables (names, markers, the
	// name-order index) that changed because symbols changed places in
	// address order (ELFDiff.Reordered).
	Fields, BuildID, Kallsyms int
	// Unexplained holds the offsets (at most 10) of differing bytes that
	// are none of those, and Others counts the rest.
	Unexplained []int64
	Others      int
}

// ELFDiff is the comparison of two ELF files.
type ELFDiff struct {
	// Header lists differences of the ELF header and program headers.
	Header []string
	// Sections are the sections that differ, in the first file's order.
	Sections []SectionDiff
	// Moves counts the symbols that moved, by distance (new - old), and
	// MovedNames names them where a distance has at most three.
	Moves      map[int64]int
	MovedNames map[int64][]string
	// Reordered lists (at most 10) symbols whose place in address order
	// changed: kallsyms keeps its tables in that order.
	Reordered []string
	// Symbols lists symbol table differences other than a moved value.
	Symbols []string
}

// btfSections are what the filter writes and resolve_btfids patches: their
// contents may differ in any byte.
var btfSections = map[string]bool{".BTF": true, ".BTF_ids": true, ".BTF.base": true}

// Clean reports whether a and b differ only where the wrapper may change
// them: the BTF sections' contents and sizes, the addresses and offsets
// that follow from the new size, moved symbols, fields explained by the
// moves, and a build-id. It returns the first thing that is not.
func (d *ELFDiff) Clean() error {
	if len(d.Symbols) > 0 {
		return fmt.Errorf("symbol table: %s", d.Symbols[0])
	}
	for _, s := range d.Sections {
		if len(s.Unexplained) > 0 {
			return fmt.Errorf("section %s: %d bytes differ for no reason, first at offset %#x", s.Name, len(s.Unexplained)+s.Others, s.Unexplained[0])
		}
		for _, h := range s.Header {
			field, _, _ := strings.Cut(h, " ")
			switch {
			case field == "size" && btfSections[s.Name]:
			case field == "addr" || field == "offset":
			default:
				return fmt.Errorf("section %s: header %s", s.Name, h)
			}
		}
	}
	for _, h := range d.Header {
		if !strings.Contains(h, "filesz") && !strings.Contains(h, "memsz") && !strings.Contains(h, "shoff") {
			return fmt.Errorf("ELF header: %s", h)
		}
	}
	return nil
}

// String is the comparison in a few lines, for a test log.
func (d *ELFDiff) String() string {
	var b strings.Builder
	for _, h := range d.Header {
		fmt.Fprintf(&b, "  header: %s\n", h)
	}
	var moves []string
	for dist, n := range d.Moves {
		moves = append(moves, fmt.Sprintf("%d by %+d", n, dist))
	}
	sort.Strings(moves)
	if len(moves) > 0 {
		fmt.Fprintf(&b, "  symbols moved: %s\n", strings.Join(moves, ", "))
	}
	var dists []int64
	for dist := range d.MovedNames {
		dists = append(dists, dist)
	}
	sort.Slice(dists, func(i, j int) bool { return dists[i] < dists[j] })
	for _, dist := range dists {
		fmt.Fprintf(&b, "    by %+d: %s\n", dist, strings.Join(d.MovedNames[dist], " "))
	}
	if len(d.Reordered) > 0 {
		fmt.Fprintf(&b, "  symbols that changed places in address order: %s\n", strings.Join(d.Reordered, " "))
	}
	for _, s := range d.Symbols {
		fmt.Fprintf(&b, "  symbols: %s\n", s)
	}
	for _, s := range d.Sections {
		fmt.Fprintf(&b, "  %s:", s.Name)
		if len(s.Header) > 0 {
			fmt.Fprintf(&b, " %s;", strings.Join(s.Header, ", "))
		}
		if s.Bytes > 0 {
			fmt.Fprintf(&b, " %d bytes differ", s.Bytes)
			if !btfSections[s.Name] {
				fmt.Fprintf(&b, " (%d fields moved with their symbol, %d build-id bytes, %d kallsyms order bytes, %d unexplained)", s.Fields, s.BuildID, s.Kallsyms, len(s.Unexplained)+s.Others)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// DiffELF compares the ELF files at paths a and b.
func DiffELF(a, b string) (*ELFDiff, error) {
	fa, err := elf.Open(a)
	if err != nil {
		return nil, err
	}
	defer fa.Close()
	fb, err := elf.Open(b)
	if err != nil {
		return nil, err
	}
	defer fb.Close()
	rawA, err := os.ReadFile(a)
	if err != nil {
		return nil, err
	}
	rawB, err := os.ReadFile(b)
	if err != nil {
		return nil, err
	}
	d := &ELFDiff{Moves: map[int64]int{}}
	ha, hb := fa.FileHeader, fb.FileHeader
	if ha.Type != hb.Type || ha.Machine != hb.Machine || ha.Entry != hb.Entry || ha.Class != hb.Class {
		d.Header = append(d.Header, fmt.Sprintf("type/machine/entry %v %v %#x -> %v %v %#x", ha.Type, ha.Machine, ha.Entry, hb.Type, hb.Machine, hb.Entry))
	}
	if len(rawA) >= 64 && len(rawB) >= 64 && fa.Class == elf.ELFCLASS64 {
		if sa, sb := fa.ByteOrder.Uint64(rawA[0x28:]), fb.ByteOrder.Uint64(rawB[0x28:]); sa != sb {
			d.Header = append(d.Header, fmt.Sprintf("shoff %#x -> %#x", sa, sb))
		}
	}
	if len(fa.Progs) != len(fb.Progs) {
		d.Header = append(d.Header, fmt.Sprintf("%d -> %d program headers", len(fa.Progs), len(fb.Progs)))
	} else {
		for i := range fa.Progs {
			pa, pb := fa.Progs[i].ProgHeader, fb.Progs[i].ProgHeader
			if pa.Filesz != pb.Filesz {
				d.Header = append(d.Header, fmt.Sprintf("segment %d filesz %#x -> %#x", i, pa.Filesz, pb.Filesz))
			}
			if pa.Memsz != pb.Memsz {
				d.Header = append(d.Header, fmt.Sprintf("segment %d memsz %#x -> %#x", i, pa.Memsz, pb.Memsz))
			}
			pa.Filesz, pa.Memsz, pb.Filesz, pb.Memsz = 0, 0, 0, 0
			if pa != pb {
				d.Header = append(d.Header, fmt.Sprintf("segment %d %+v -> %+v", i, pa, pb))
			}
		}
	}
	cmp, err := compareSymbols(fa, fb)
	if err != nil {
		return nil, err
	}
	moves := cmp.moves
	d.Symbols = cmp.diffs
	d.Reordered = cmp.reordered
	d.MovedNames = map[int64][]string{}
	dists := map[int64]bool{}
	for i, dist := range moves {
		d.Moves[dist]++
		dists[dist] = true
		d.MovedNames[dist] = append(d.MovedNames[dist], cmp.movedNames[i])
	}
	for dist, names := range d.MovedNames {
		if len(names) > 3 {
			delete(d.MovedNames, dist)
		}
	}
	// Sections pair by index when both files list the same names in the
	// same order (a module may have two sections of one name), else by
	// name.
	same := len(fa.Sections) == len(fb.Sections)
	for i := 0; same && i < len(fa.Sections); i++ {
		same = fa.Sections[i].Name == fb.Sections[i].Name
	}
	byName := map[string]*elf.Section{}
	for _, s := range fb.Sections {
		if byName[s.Name] == nil {
			byName[s.Name] = s
		}
	}
	for i, s := range fa.Sections {
		t := byName[s.Name]
		if same {
			t = fb.Sections[i]
		}
		if t == nil {
			d.Sections = append(d.Sections, SectionDiff{Name: s.Name, Header: []string{"missing in " + b}})
			continue
		}
		if !same {
			delete(byName, s.Name)
		}
		sd := SectionDiff{Name: s.Name}
		for _, f := range []struct {
			name string
			x, y uint64
		}{
			{"type", uint64(s.Type), uint64(t.Type)}, {"flags", uint64(s.Flags), uint64(t.Flags)},
			{"addr", s.Addr, t.Addr}, {"offset", s.Offset, t.Offset}, {"size", s.Size, t.Size},
			{"link", uint64(s.Link), uint64(t.Link)}, {"info", uint64(s.Info), uint64(t.Info)},
			{"addralign", s.Addralign, t.Addralign}, {"entsize", s.Entsize, t.Entsize},
		} {
			if f.x != f.y {
				sd.Header = append(sd.Header, fmt.Sprintf("%s %#x -> %#x", f.name, f.x, f.y))
			}
		}
		if s.Type != elf.SHT_NOBITS && t.Type != elf.SHT_NOBITS {
			ca, cb := sectionBytes(rawA, s), sectionBytes(rawB, t)
			if !bytes.Equal(ca, cb) {
				var ks [][2]uint64
				if len(cmp.reordered) > 0 {
					ks = cmp.kallsyms
				}
				compareContents(&sd, s, ca, cb, fa.ByteOrder, dists, moves != nil, ks)
			}
		}
		if len(sd.Header) > 0 || sd.Bytes > 0 {
			d.Sections = append(d.Sections, sd)
		}
	}
	for _, s := range fb.Sections {
		if !same && byName[s.Name] == s {
			d.Sections = append(d.Sections, SectionDiff{Name: s.Name, Header: []string{"missing in " + a}})
		}
	}
	return d, nil
}

// sectionBytes returns a section's bytes as stored (compressed sections
// are compared as stored).
func sectionBytes(raw []byte, s *elf.Section) []byte {
	end := s.Offset + s.FileSize
	if s.Offset > uint64(len(raw)) || end > uint64(len(raw)) {
		return nil
	}
	return raw[s.Offset:end]
}

// compareContents fills sd with the differing bytes of ca and cb. The
// symbol table is explained by compareSymbols; BTF sections need no
// reason; elsewhere bytes are explained by moved symbols or a build-id.
func compareContents(sd *SectionDiff, s *elf.Section, ca, cb []byte, order binary.ByteOrder, dists map[int64]bool, symbolsCompared bool, kallsyms [][2]uint64) {
	n := min(len(ca), len(cb))
	var diff []int
	for i := 0; i < n; i++ {
		if ca[i] != cb[i] {
			diff = append(diff, i)
		}
	}
	diff = append(diff, rangeInts(n, max(len(ca), len(cb)))...)
	sd.Bytes = len(diff)
	if btfSections[s.Name] || (s.Type == elf.SHT_SYMTAB && symbolsCompared) || len(diff) == 0 {
		return
	}
	buildID := buildIDRange(s, ca, order)
	var unexplained []int
	fields, bid := explainFields(ca[:n], cb[:n], diff, dists, order, buildID, &unexplained)
	sd.Fields, sd.BuildID = fields, bid
	// What is left may lie in a kallsyms table whose order changed.
	var rest []int
	for _, off := range unexplained {
		addr := s.Addr + uint64(off)
		in := false
		for _, r := range kallsyms {
			if addr >= r[0] && addr < r[1] {
				in = true
			}
		}
		if in {
			sd.Kallsyms++
		} else {
			rest = append(rest, off)
		}
	}
	unexplained = rest
	for i, off := range unexplained {
		if i == 10 {
			sd.Others = len(unexplained) - 10
			break
		}
		sd.Unexplained = append(sd.Unexplained, int64(off))
	}
}

func rangeInts(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// explainFields walks the differing offsets of a and b (equal lengths) and
// marks each as part of a field that moved with a symbol (a 4-byte field
// whose signed change, or an 8-byte field whose change, is in dists) or of
// the build-id [bid0, bid1). It returns the number of fields and build-id
// bytes, and appends the offsets it cannot explain to unexplained.
func explainFields(a, b []byte, diff []int, dists map[int64]bool, order binary.ByteOrder, buildID [2]int, unexplained *[]int) (fields, bidBytes int) {
	covered := -1 // offsets up to here are explained
	for _, i := range diff {
		if i >= len(a) {
			*unexplained = append(*unexplained, i)
			continue
		}
		if i <= covered {
			continue
		}
		if i >= buildID[0] && i < buildID[1] {
			bidBytes++
			continue
		}
		found := false
		for _, w := range []int{4, 8} {
			for start := max(0, i-w+1, covered+1); start <= i && start+w <= len(a); start++ {
				var dist int64
				if w == 4 {
					dist = int64(int32(order.Uint32(b[start:]) - order.Uint32(a[start:])))
				} else {
					dist = int64(order.Uint64(b[start:]) - order.Uint64(a[start:]))
				}
				if dists[dist] {
					covered = start + w - 1
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if found {
			fields++
		} else {
			*unexplained = append(*unexplained, i)
		}
	}
	return fields, bidBytes
}

// buildIDRange returns the offsets, within a note section's contents, of a
// GNU build-id descriptor; [0, 0) when there is none.
func buildIDRange(s *elf.Section, data []byte, order binary.ByteOrder) [2]int {
	if s.Type != elf.SHT_NOTE {
		return [2]int{}
	}
	for off := 0; off+12 <= len(data); {
		namesz := int(order.Uint32(data[off:]))
		descsz := int(order.Uint32(data[off+4:]))
		typ := order.Uint32(data[off+8:])
		name := off + 12
		desc := name + (namesz+3)&^3
		next := desc + (descsz+3)&^3
		if namesz < 0 || descsz < 0 || next > len(data) {
			break
		}
		if typ == ntGNUBuildID && string(bytes.TrimRight(data[name:name+namesz], "\x00")) == "GNU" {
			return [2]int{desc, desc + descsz}
		}
		off = next
	}
	return [2]int{}
}

// kallsymsTables are the symbols scripts/kallsyms defines whose contents
// follow the symbols' address order.
var kallsymsTables = map[string]bool{
	"kallsyms_names": true, "kallsyms_markers": true, "kallsyms_seqs_of_names": true,
	"kallsyms_token_table": true, "kallsyms_token_index": true,
	"kallsyms_offsets": true, "kallsyms_addresses": true,
}

// symbolComparison is what compareSymbols found.
type symbolComparison struct {
	moves      []int64  // the distance of each symbol whose value changed
	movedNames []string // and its name
	diffs      []string // differences other than a value
	reordered  []string // symbols whose place in address order changed
	kallsyms   [][2]uint64
}

// compareSymbols compares the symbol tables entry by entry: everything but
// the value must be equal. A file without a symbol table gives nil moves.
// It also finds the symbols whose place in address order changed, and the
// address ranges of the kallsyms tables (from one table symbol to the next
// symbol) in a.
func compareSymbols(fa, fb *elf.File) (*symbolComparison, error) {
	c := &symbolComparison{}
	sa, errA := fa.Symbols()
	sb, errB := fb.Symbols()
	if errA != nil || errB != nil {
		if errA == elf.ErrNoSymbols && errB == elf.ErrNoSymbols {
			return c, nil
		}
		c.diffs = []string{fmt.Sprintf("symbol tables: %v / %v", errA, errB)}
		return c, nil
	}
	if len(sa) != len(sb) {
		c.diffs = []string{fmt.Sprintf("%d -> %d symbols", len(sa), len(sb))}
		return c, nil
	}
	c.moves = []int64{}
	for i := range sa {
		x, y := sa[i], sb[i]
		if x.Name != y.Name || x.Info != y.Info || x.Other != y.Other || x.Section != y.Section || x.Size != y.Size {
			if len(c.diffs) < 10 {
				c.diffs = append(c.diffs, fmt.Sprintf("symbol %d: %s %+v -> %s %+v", i+1, x.Name, x, y.Name, y))
			}
			continue
		}
		if x.Value != y.Value {
			c.moves = append(c.moves, int64(y.Value-x.Value))
			c.movedNames = append(c.movedNames, x.Name)
		}
	}
	if len(c.diffs) > 0 {
		return c, nil
	}
	// Address order, ties by table index: the rank of each symbol.
	rank := func(syms []elf.Symbol) []int {
		idx := make([]int, len(syms))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return syms[idx[i]].Value < syms[idx[j]].Value })
		return idx
	}
	ra, rb := rank(sa), rank(sb)
	// A symbol changed places when its group of equal addresses, or the
	// order of groups around it, changed: compare each symbol's
	// predecessor group in both orders.
	groupStart := func(syms []elf.Symbol, order []int) map[int]uint64 {
		// For each symbol, the value of the nearest lower distinct
		// address's first symbol index, as a stand-in for its neighbours.
		out := map[int]uint64{}
		for k, i := range order {
			j := k - 1
			for j >= 0 && syms[order[j]].Value == syms[i].Value {
				j--
			}
			if j >= 0 {
				out[i] = uint64(order[j])
			} else {
				out[i] = ^uint64(0)
			}
		}
		return out
	}
	pa, pb := groupStart(sa, ra), groupStart(sb, rb)
	for i := range sa {
		if sa[i].Name == "" || pa[i] == pb[i] {
			continue
		}
		if len(c.reordered) < 10 {
			c.reordered = append(c.reordered, sa[i].Name)
		}
	}
	for k, i := range ra {
		if !kallsymsTables[sa[i].Name] {
			continue
		}
		end := sa[i].Value + sa[i].Size
		for j := k + 1; j < len(ra) && sa[i].Size == 0; j++ {
			if v := sa[ra[j]].Value; v > sa[i].Value {
				end = v
				break
			}
		}
		c.kallsyms = append(c.kallsyms, [2]uint64{sa[i].Value, end})
	}
	return c, nil
}

// ntGNUBuildID is the note type of a GNU build-id (elf.h NT_GNU_BUILD_ID).
const ntGNUBuildID = 3
