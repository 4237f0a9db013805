package btfids

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/scripts/kernels"

	"github.com/cilium/ebpf/btf"
)

// realKernel returns a cached Debian kernel, failing the test (with the
// command that fetches it) when the cache does not hold it.
func realKernel(t *testing.T, tag string) *kernels.Kernel {
	t.Helper()
	k, err := kernels.Load(tag)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// elfBTFIDs is the .BTF_ids of one ELF file as this package's caller reads it.
type elfBTFIDs struct {
	data  []byte
	order binary.ByteOrder
	syms  []Symbol
	sizes map[string]uint64 // st_size of each symbol, to check cnt against
}

// readBTFIDs reads .BTF_ids and the symbols that lie in it. ok is false when
// the file has no such section.
func readBTFIDs(path string) (res elfBTFIDs, ok bool, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return res, false, err
	}
	defer f.Close()
	idx := -1
	for i, sec := range f.Sections {
		if sec.Name == ".BTF_ids" {
			idx = i
		}
	}
	if idx < 0 {
		return res, false, nil
	}
	sec := f.Sections[idx]
	if res.data, err = sec.Data(); err != nil {
		return res, false, fmt.Errorf("%s: .BTF_ids: %v", path, err)
	}
	res.order = f.ByteOrder
	syms, err := f.Symbols()
	if err != nil {
		return res, false, fmt.Errorf("%s: symbols: %v", path, err)
	}
	res.sizes = make(map[string]uint64)
	for _, s := range syms {
		if s.Section != elf.SectionIndex(idx) {
			continue
		}
		off := s.Value
		// A linked image holds addresses; a relocatable object holds
		// offsets within the section already.
		if f.Type != elf.ET_REL {
			off -= sec.Addr
		}
		res.syms = append(res.syms, Symbol{Name: s.Name, Offset: off})
		res.sizes[s.Name] = s.Size
	}
	return res, true, nil
}

// sectionData returns the contents of the named section of an ELF file.
func sectionData(path, name string) ([]byte, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(name)
	if sec == nil {
		return nil, fmt.Errorf("%s: no %s section", path, name)
	}
	return sec.Data()
}

// figures counts what a section holds.
type figures struct {
	btfIDSyms, sets, set8s, kfuncSet8s, setEntries, slots, funcs, unresolved int
}

func (fg figures) String() string {
	return fmt.Sprintf("%d __BTF_ID__ symbols, %d sets, %d set8 (%d flagged BTF_SET8_KFUNCS), %d set entries, %d ID slots, %d func names, %d zero slots (unused or unresolved)",
		fg.btfIDSyms, fg.sets, fg.set8s, fg.kfuncSet8s, fg.setEntries, fg.slots, fg.funcs, fg.unresolved)
}

// checkSection runs the invariants that hold for any section resolve_btfids
// produced, and returns its figures.
func checkSection(t *testing.T, name string, in elfBTFIDs) (*Section, figures) {
	t.Helper()
	var fg figures
	s, err := Parse(in.data, in.order, in.syms)
	if err != nil {
		t.Fatalf("%s: Parse: %v", name, err)
	}
	for _, sym := range in.syms {
		if strings.HasPrefix(sym.Name, symbolPrefix) {
			fg.btfIDSyms++
		}
	}
	for _, st := range s.sets {
		// resolve_btfids writes cnt from the set symbol's size.
		hdr, elem := uint64(4), uint64(4)
		if st.eight {
			hdr, elem = 8, 8
			fg.set8s++
			if in.order.Uint32(in.data[st.offset+4:])&1 != 0 {
				fg.kfuncSet8s++
			}
		} else {
			fg.sets++
		}
		if size := in.sizes[st.symbol]; (size-hdr)/elem != uint64(st.count) || size < hdr {
			t.Errorf("%s: %s: cnt %d, but symbol size %d gives %d", name, st.symbol, st.count, size, (size-hdr)/elem)
		}
		fg.setEntries += int(st.count)
	}
	fg.slots = len(s.slots)
	fg.funcs = len(s.FuncNames())
	for _, r := range s.refs {
		if r.ID == 0 {
			fg.unresolved++
		}
	}
	if !setsSorted(s, in.data) {
		t.Errorf("%s: a set or set8 is not sorted", name)
	}
	out, err := s.Remap(func(old uint32) (uint32, bool) { return old, true })
	if err != nil {
		t.Fatalf("%s: identity Remap: %v", name, err)
	}
	if !bytes.Equal(out, in.data) {
		t.Errorf("%s: identity Remap changed the section", name)
	}
	checkPermutation(t, name, s, in.data)
	return s, fg
}

// checkPermutation remaps with a map that reverses the order of all IDs and
// checks that plain slots are mapped in place, that every set holds the
// mapped entries sorted, set8 pairs still carrying their own flags, and that
// no other word changed. It returns how many set8 pairs ended up at a
// position whose flags differ from the flags they arrived with.
func checkPermutation(t *testing.T, name string, s *Section, in []byte) int {
	t.Helper()
	var maxID uint32
	for id := range s.IDs() {
		maxID = max(maxID, id)
	}
	rev := func(old uint32) (uint32, bool) { return maxID + 1 - old, true }
	out, err := s.Remap(rev)
	if err != nil {
		t.Fatalf("%s: Remap: %v", name, err)
	}
	o := s.order
	touched := make(map[uint64]bool)
	inSet := make(map[uint64]bool)
	moved := 0
	for _, st := range s.sets {
		first, stride := st.entries()
		touched[st.offset] = true
		if st.eight {
			touched[st.offset+4] = true
		}
		type pair struct{ id, flags uint32 }
		var want, got []pair
		for k := uint64(0); k < uint64(st.count); k++ {
			off := first + k*stride
			inSet[off] = true
			touched[off] = true
			p, q := pair{id: o.Uint32(in[off:])}, pair{id: o.Uint32(out[off:])}
			if p.id != 0 {
				p.id, _ = rev(p.id)
			}
			if st.eight {
				touched[off+4] = true
				p.flags, q.flags = o.Uint32(in[off+4:]), o.Uint32(out[off+4:])
				if p.flags != q.flags {
					moved++
				}
			}
			want, got = append(want, p), append(got, q)
		}
		sort.SliceStable(want, func(i, j int) bool { return want[i].id < want[j].id })
		if !slices.Equal(got, want) {
			t.Errorf("%s: %s after a reversing map: got %v, want %v", name, st.symbol, got, want)
		}
		if o.Uint32(out[st.offset:]) != st.count || (st.eight && o.Uint32(out[st.offset+4:]) != o.Uint32(in[st.offset+4:])) {
			t.Errorf("%s: %s: header changed", name, st.symbol)
		}
	}
	for _, sl := range s.slots {
		if inSet[sl.offset] {
			continue
		}
		touched[sl.offset] = true
		want := o.Uint32(in[sl.offset:])
		if want != 0 {
			want, _ = rev(want)
		}
		if got := o.Uint32(out[sl.offset:]); got != want {
			t.Errorf("%s: %s at %#x: got %d, want %d", name, sl.symbol, sl.offset, got, want)
		}
	}
	for off := uint64(0); off+4 <= uint64(len(in)); off += 4 {
		if !touched[off] && !bytes.Equal(in[off:off+4], out[off:off+4]) {
			t.Errorf("%s: word at %#x changed although no slot covers it", name, off)
		}
	}
	return moved
}

// checkAgainstBTF checks the IDs of a section against the BTF of its file.
func checkAgainstBTF(t *testing.T, name string, s *Section, in elfBTFIDs, spec *btf.Spec) {
	t.Helper()
	// Every resolved plain slot names a BTF type of its kind and name, and
	// every set holds exactly the types its entry symbols name (in sorted
	// order, so not at their offsets): what resolve_btfids wrote, read back
	// through an independent BTF parser.
	describe := func(id uint32) string {
		typ, err := spec.TypeByID(btf.TypeID(id))
		if err != nil {
			return fmt.Sprintf("<ID %d: %v>", id, err)
		}
		kind := fmt.Sprintf("%T", typ)
		switch typ.(type) {
		case *btf.Func:
			kind = "func"
		case *btf.Struct:
			kind = "struct"
		case *btf.Union:
			kind = "union"
		case *btf.Typedef:
			kind = "typedef"
		}
		return kind + " " + typ.TypeName()
	}
	plain := 0
	names := make(map[string]map[string]int) // set symbol -> "kind name" -> count
	zeros := make(map[string]int)            // set symbol -> zero entries
	unnamed := make(map[string]int)          // set symbol -> entries without a symbol (BTF_ID_UNUSED)
	for _, r := range s.Refs() {
		switch {
		case r.Set == "" && r.ID != 0:
			if got, want := describe(r.ID), r.Kind+" "+r.Name; got != want {
				t.Errorf("%s: ID %d is %s, want %s", r.Symbol, r.ID, got, want)
			}
			plain++
		case r.Set != "":
			if names[r.Set] == nil {
				names[r.Set] = make(map[string]int)
			}
			if r.Symbol != r.Set {
				names[r.Set][r.Kind+" "+r.Name]++
			} else {
				unnamed[r.Set]++
			}
			if r.ID == 0 {
				zeros[r.Set]++
			}
		}
	}
	for _, st := range s.sets {
		first, stride := st.entries()
		left := names[st.symbol]
		for k := uint64(0); k < uint64(st.count); k++ {
			id := in.order.Uint32(in.data[first+k*stride:])
			if id == 0 {
				continue
			}
			d := describe(id)
			if left[d] == 0 {
				t.Errorf("%s holds ID %d (%s), which none of its entry symbols names", st.symbol, id, d)
				continue
			}
			left[d]--
		}
		unmatched := 0
		for _, n := range left {
			unmatched += n
		}
		// Zero entries are unused slots or unresolved symbols.
		if unmatched != zeros[st.symbol]-unnamed[st.symbol] {
			t.Errorf("%s: %d entry symbols have no ID in the set, but %d entries are zero and %d have no symbol", st.symbol, unmatched, zeros[st.symbol], unnamed[st.symbol])
		}
	}
	t.Logf("%s: %d resolved plain slots and the entries of %d sets match their BTF types by kind and name", name, plain, len(s.sets))
}

func TestRealVmlinux(t *testing.T) {
	if testing.Short() {
		t.Skip("reads real vmlinux files")
	}
	// Two releases (6.1 with set8 headers of flags 0, 7.2 with
	// BTF_SET8_KFUNCS) on two arches.
	for _, tag := range kernels.Tags() {
		t.Run(tag, func(t *testing.T) { testRealVmlinux(t, tag) })
	}
}

func testRealVmlinux(t *testing.T, tag string) {
	vmlinux := realKernel(t, tag).Vmlinux
	in, ok, err := readBTFIDs(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("%s has no .BTF_ids", vmlinux)
	}
	s, fg := checkSection(t, vmlinux, in)
	t.Logf("%s: .BTF_ids %d bytes: %v", vmlinux, len(in.data), fg)
	if fg.sets == 0 || fg.set8s == 0 || fg.funcs == 0 {
		t.Fatalf("expected sets, set8s and funcs in a 6.1 vmlinux, got %v", fg)
	}

	spec, err := btf.LoadSpec(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstBTF(t, vmlinux, s, in, spec)

	// A monotonic map (IDs at or above a threshold shift up by one) keeps
	// every set sorted and changes exactly the ID words at or above it.
	ids := make([]uint32, 0, len(s.IDs()))
	for id := range s.IDs() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	threshold := ids[len(ids)/2]
	out, err := s.Remap(func(old uint32) (uint32, bool) {
		if old >= threshold {
			return old + 1, true
		}
		return old, true
	})
	if err != nil {
		t.Fatal(err)
	}
	isSlot := make(map[uint64]bool)
	for _, sl := range s.slots {
		isSlot[sl.offset] = true
	}
	changed := 0
	for off := uint64(0); off+4 <= uint64(len(in.data)); off += 4 {
		was, now := in.order.Uint32(in.data[off:]), in.order.Uint32(out[off:])
		want := was
		if isSlot[off] && was >= threshold {
			want = was + 1
			changed++
		}
		if now != want {
			t.Errorf("shift above %d: word at %#x: got %d, want %d", threshold, off, now, want)
		}
	}
	if changed == 0 {
		t.Errorf("shift above %d changed no word", threshold)
	}
	t.Logf("shift above ID %d changed %d words", threshold, changed)

	moved := checkPermutation(t, vmlinux, s, in.data)
	if moved == 0 {
		t.Errorf("the reversing map moved no set8 pair onto a position with other flags: the flags check saw nothing")
	}
	t.Logf("reversing map: %d set8 pairs landed where other flags were", moved)
}

func TestRealModules(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every real module")
	}
	for _, tag := range kernels.Tags() {
		t.Run(tag, func(t *testing.T) { testRealModules(t, tag) })
	}
}

func testRealModules(t *testing.T, tag string) {
	k := realKernel(t, tag)
	base, err := btf.LoadSpec(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	files, err := k.DbgModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	var total figures
	var withSection []string
	for _, path := range files {
		rel, _ := filepath.Rel(k.DbgModules, path)
		if !strings.HasSuffix(path, ".ko") {
			t.Fatalf("%s: compressed debug module; this test reads plain ELF only", path)
		}
		in, ok, err := readBTFIDs(path)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		withSection = append(withSection, rel)
		s, fg := checkSection(t, rel, in)
		raw, err := sectionData(path, ".BTF")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), base)
		if err != nil {
			t.Fatalf("%s: split BTF: %v", rel, err)
		}
		checkAgainstBTF(t, rel, s, in, spec)
		total.btfIDSyms += fg.btfIDSyms
		total.sets += fg.sets
		total.set8s += fg.set8s
		total.kfuncSet8s += fg.kfuncSet8s
		total.setEntries += fg.setEntries
		total.slots += fg.slots
		total.funcs += fg.funcs
		total.unresolved += fg.unresolved
	}
	walked := len(files)
	dbgModules := k.DbgModules
	if len(withSection) == 0 {
		t.Fatalf("none of %d modules under %s has .BTF_ids", walked, dbgModules)
	}
	t.Logf("%d of %d modules have .BTF_ids: %s", len(withSection), walked, strings.Join(withSection, " "))
	t.Logf("modules in total: %v", total)
}
