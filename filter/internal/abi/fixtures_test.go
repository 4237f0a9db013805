package abi

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The fixture suite: testdata/abi/*.o built by scripts/build-abi-fixtures.sh
// from abi.c, judged function by function and compared with the hand-made
// tables expected-<arch>.tsv; and each parameter's DWARF entry location,
// where there is one, compared with Locate.

const fixtureDir = "../../../testdata/abi"

var fixtureObjects = []struct {
	file  string
	arch  Arch
	table string
	gcc   bool
}{
	{"x86_64-gcc.o", X86_64, "expected-x86_64.tsv", true},
	{"x86_64-clang.o", X86_64, "expected-x86_64.tsv", false},
	{"aarch64-gcc.o", ARM64, "expected-arm64.tsv", true},
	{"aarch64-clang.o", ARM64, "expected-arm64.tsv", false},
	{"s390x-gcc.o", S390X, "expected-s390x.tsv", true},
	{"s390x-clang.o", S390X, "expected-s390x.tsv", false},
	{"ppc64le-gcc.o", PPC64LE, "expected-ppc64le.tsv", true},
	{"ppc64le-clang.o", PPC64LE, "expected-ppc64le.tsv", false},
	{"riscv64-gcc.o", RISCV64, "expected-riscv64.tsv", true},
	{"riscv64-clang.o", RISCV64, "expected-riscv64.tsv", false},
	{"loongarch64-gcc.o", LOONGARCH64, "expected-loongarch64.tsv", true},
}

// cfaOffset is where the CFA (the frame base of the fixtures' functions,
// DW_OP_call_frame_cfa) lies above the stack pointer at the call, in which
// the models count stack slots: s390x defines it 160 bytes up, at the
// first stack argument (GCC's INCOMING_FRAME_SP_OFFSET); elsewhere it is
// the stack pointer itself.
var cfaOffset = map[Arch]int{S390X: s390xArgBase}

// knownLocationDifferences are the entry locations where a compiler departs
// from the psABI model, or where its DWARF cannot tell the model what it
// needs, with the reason; any other difference fails.
var knownLocationDifferences = map[string]string{
	"x86_64-clang.o u128_p5 x": "clang < 18 splits an __int128 between r9 and the stack (docs/facts.md §3)",
	// gcc for riscv64 writes no DW_AT_alignment for aligned(16) on a
	// struct (it does for aligned(32), and on members), while the code
	// aligns it to 16 on the stack: AlignFromStack finds it from the entry
	// location (riscv64-gcc.o al16s_stack), as the abi rule does.
}

// knownVerdictDifferences are the table rows a fixture's DWARF cannot
// reproduce, with the reason: the table states the truth, the judge sees
// the DWARF.
var knownVerdictDifferences = map[string]string{}

// stackEntry is AlignFromStack's entry: the parameter's stack address, as
// an offset from the CFA, when its entry location is one stack piece.
func (fn fixtureFunc) stackEntry(arch Arch) func(int) (int, bool) {
	return func(i int) (int, bool) {
		ps := fn.pieces[i]
		if len(ps) == 0 || ps[0].offset != 0 || ps[0].reg >= 0 || ps[0].indirect {
			return 0, false
		}
		return ps[0].stack + cfaOffset[arch], true
	}
}

type expectation struct {
	verdict string
	arg     int
	line    int
}

func readTable(t *testing.T, name string) map[[2]string]expectation {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("%v (run scripts/build-abi-fixtures.sh?)", err)
	}
	defer f.Close()
	out := map[[2]string]expectation{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("%s:%d: %d columns, want 5", name, n, len(cols))
		}
		e := expectation{verdict: cols[2], arg: -1, line: n}
		if cols[3] != "-" {
			if e.arg, err = strconv.Atoi(cols[3]); err != nil {
				t.Fatalf("%s:%d: arg %q", name, n, cols[3])
			}
		}
		key := [2]string{cols[0], cols[1]}
		if _, dup := out[key]; dup {
			t.Fatalf("%s:%d: %s %s twice", name, n, cols[0], cols[1])
		}
		out[key] = e
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFixtures(t *testing.T) {
	compared, matched := 0, 0
	for _, obj := range fixtureObjects {
		t.Run(obj.file, func(t *testing.T) {
			want := readTable(t, obj.table)
			path := filepath.Join(fixtureDir, obj.file)
			fns, err := readFixture(path)
			if err != nil {
				t.Fatalf("%v (run scripts/build-abi-fixtures.sh)", err)
			}
			seen := map[[2]string]bool{}
			objParams, objCompared, objMissing := 0, 0, 0
			for _, fn := range fns {
				// As the abi rule does: an alignment the types do not
				// show, found from the entry locations.
				fn.Params = AlignFromStack(obj.arch, fn.Params, fn.stackEntry(obj.arch))
				for _, kv := range []string{"6.1", "7.2"} {
					key := [2]string{fn.name, kv}
					e, ok := want[key]
					if !ok {
						t.Errorf("%s: %s has no row for kernel %s in %s", obj.file, fn.name, kv, obj.table)
						continue
					}
					seen[key] = true
					v, _ := ParseVersion(kv)
					got, err := Judge(obj.arch, v, fn.Func)
					if err != nil {
						t.Errorf("%s %s %s: %v", obj.file, fn.name, kv, err)
						continue
					}
					agrees := got.Outcome.String() == e.verdict && got.Arg == e.arg
					why, known := knownVerdictDifferences[obj.file+" "+fn.name+" "+kv]
					switch {
					case agrees && known:
						t.Errorf("%s %s kernel %s: listed as a known difference but agrees with %s", obj.file, fn.name, kv, obj.table)
					case known:
						t.Logf("%s %s kernel %s: got %s, %s:%d wants %s: %s", obj.file, fn.name, kv, got.Outcome, obj.table, e.line, e.verdict, why)
					case !agrees:
						t.Errorf("%s %s kernel %s: got %s arg %d (%s), %s:%d wants %s arg %d",
							obj.file, fn.name, kv, got.Outcome, got.Arg, got.Reason, obj.table, e.line, e.verdict, e.arg)
					}
				}
				c, m, n := compareEntryLocations(t, obj.file, obj.arch, fn)
				compared += c
				matched += m
				objCompared += c
				objMissing += n
				objParams += len(fn.Params)
			}
			for key, e := range want {
				if !seen[key] {
					t.Errorf("%s:%d: %s %s is not a function of %s", obj.table, e.line, key[0], key[1], obj.file)
				}
			}
			// Parameters without one: unused (passed nowhere the compiler
			// tracks), homed at once in the callee's frame, or described by a
			// computed expression.
			t.Logf("%s: %d functions, %d parameters, %d entry locations compared, %d without a usable entry location",
				obj.file, len(fns), objParams, objCompared, objMissing)
			if len(fns) < 50 {
				t.Errorf("%s: only %d functions read", obj.file, len(fns))
			}
		})
	}
	t.Logf("entry locations: compared %d parameters with DWARF, %d agree, %d differ as listed in knownLocationDifferences",
		compared, matched, compared-matched)
	if compared < 300 {
		t.Errorf("only %d entry locations compared", compared)
	}
}

// compareEntryLocations compares the DWARF entry location of every parameter
// that has one with Locate. It returns how many it compared and how many
// agreed, and how many parameters had nothing comparable; a difference not in
// knownLocationDifferences fails the test.
func compareEntryLocations(t *testing.T, file string, arch Arch, fn fixtureFunc) (compared, matched, missing int) {
	params := fn.Params
	if ReturnsInMemory(arch, fn.Return) {
		// The result's address comes first (s390x: ret_struct).
		params = append([]Arg{{Class: Pointer, Size: 8, Align: 8}}, params...)
	}
	real, err := Locate(arch, params)
	if err != nil {
		t.Errorf("%s %s: %v", file, fn.name, err)
		return 0, 0, 0
	}
	real = real[len(params)-len(fn.Params):]
	for i, p := range fn.pieces {
		ok, any := piecesAgree(arch, p, real[i])
		if !any {
			missing++
			continue
		}
		compared++
		key := fmt.Sprintf("%s %s %s", file, fn.name, fn.paramNames[i])
		why, known := knownLocationDifferences[key]
		switch {
		case ok && known:
			t.Errorf("%s: listed as a known difference but agrees", key)
		case ok:
			matched++
		case known:
			t.Logf("%s: DWARF %s, model %s: %s", key, formatPieces(arch, p), real[i].Format(arch), why)
		default:
			t.Errorf("%s: DWARF entry location %s, Locate says %s", key, formatPieces(arch, p), real[i].Format(arch))
		}
	}
	return compared, matched, missing
}

// piece is one part of a DWARF location: a register, or a CFA-relative
// stack address, covering size bytes from offset within the value; or, with
// indirect, memory at the address a register holds (DW_OP_bregN 0: a value
// passed by reference).
type piece struct {
	offset, size int
	reg          int // -1: stack
	stack        int
	indirect     bool
}

// piecesAgree compares the pieces that fall on 8-byte slot boundaries with
// the slots of l. any is false when nothing could be compared.
//
// A by-reference argument is described by compilers as memory at the
// address a register holds (DW_OP_bregN 0), at entry or soon after: that
// the location is indirect is compared, not which register holds the
// address (gcc for s390x may name the register it copies it to). A value
// the model passes by value must not be described so, nor one passed by
// reference as a value in a register.
//
// ppc64le callees may store register arguments into the caller's parameter
// save area, doubleword k at 32+8k being the home of r3+k (ELF V2 ABI), and
// describe them there: such a stack address below the first doubleword that
// is not a register counts as that register.
func piecesAgree(arch Arch, ps []piece, l Location) (ok, any bool) {
	ok = true
	for _, p := range ps {
		if p.offset%8 != 0 {
			continue
		}
		if p.indirect {
			any = true
			ok = ok && l.ByRef
			continue
		}
		k := p.offset / 8
		if l.ByRef {
			// A value in a register where the model passes an address:
			// by value in DWARF. Stack addresses of a by-reference
			// argument describe the copy.
			if p.reg >= 0 {
				any = true
				ok = false
			}
			continue
		}
		if k >= len(l.Slots) {
			ok = false
			any = true
			continue
		}
		any = true
		s := l.Slots[k]
		reg, stack := p.reg, p.stack+cfaOffset[arch]
		if arch == S390X {
			// Big-endian: a value narrower than its 8-byte slot sits in
			// the slot's last bytes.
			stack &^= 7
		}
		if arch == PPC64LE && reg < 0 && stack >= ppc64ArgBase && stack < ppc64ArgBase+8*len(ppc64IntRegs) && stack%8 == 0 {
			reg = ppc64IntRegs[(stack-ppc64ArgBase)/8]
		}
		if reg >= 0 {
			ok = ok && s.Reg == reg
		} else {
			ok = ok && s.onStack() && s.Stack == stack
		}
	}
	return ok, any
}

func formatPieces(arch Arch, ps []piece) string {
	var out []string
	for _, p := range ps {
		where := fmt.Sprintf("[cfa+%d]", p.stack)
		switch {
		case p.indirect:
			where = "[" + RegName(arch, p.reg) + "]"
		case p.reg >= 0:
			where = RegName(arch, p.reg)
		}
		out = append(out, fmt.Sprintf("%s@%d", where, p.offset))
	}
	return strings.Join(out, ",")
}

// fixtureFunc is a function of a fixture object with its parameters.
type fixtureFunc struct {
	Func
	name       string
	paramNames []string
	pieces     [][]piece // entry location of each parameter, nil if none
}

// readFixture reads every defined function of an object through debug/dwarf.
func readFixture(path string) ([]fixtureFunc, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Section(".BTF") == nil {
		return nil, fmt.Errorf("%s: no .BTF section (pahole -J did not run)", path)
	}
	ls := &locReader{order: f.ByteOrder}
	if ls.loclists, err = relocatedSection(f, ".debug_loclists"); err != nil {
		return nil, err
	}
	if ls.addr, err = relocatedSection(f, ".debug_addr"); err != nil {
		return nil, err
	}
	if ls.loc, err = relocatedSection(f, ".debug_loc"); err != nil {
		return nil, err
	}
	tr := &typeReader{d: d, cache: map[dwarf.Offset]Arg{}}
	var out []fixtureFunc
	r := d.Reader()
	var cu *dwarf.Entry
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			cu = e
			ls.setUnit(cu)
			continue
		case dwarf.TagSubprogram:
		default:
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		low, hasLow := e.Val(dwarf.AttrLowpc).(uint64)
		if name == "" || !hasLow || !e.Children {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		fn := fixtureFunc{name: name}
		cfaFrame := false
		if fb, ok := e.Val(dwarf.AttrFrameBase).([]byte); ok && len(fb) == 1 && fb[0] == 0x9c {
			cfaFrame = true // DW_OP_call_frame_cfa
		}
		fn.Return = Arg{Class: Void}
		if off, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
			if fn.Return, err = tr.arg(off); err != nil {
				return nil, fmt.Errorf("%s: %s return: %w", path, name, err)
			}
		}
		for {
			c, err := r.Next()
			if err != nil {
				return nil, err
			}
			if c == nil || c.Tag == 0 {
				break
			}
			switch c.Tag {
			case dwarf.TagFormalParameter:
				off, _ := c.Val(dwarf.AttrType).(dwarf.Offset)
				a, err := tr.arg(off)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, name, err)
				}
				pname, _ := c.Val(dwarf.AttrName).(string)
				ps, err := ls.entry(c.AttrField(dwarf.AttrLocation), low, cfaFrame)
				if err != nil {
					return nil, fmt.Errorf("%s: %s %s: %w", path, name, pname, err)
				}
				fn.Params = append(fn.Params, a)
				fn.paramNames = append(fn.paramNames, pname)
				fn.pieces = append(fn.pieces, ps)
			case dwarf.TagUnspecifiedParameters:
				fn.Variadic = true
			}
			if c.Children {
				r.SkipChildren()
			}
		}
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// typeReader turns DWARF type DIEs into Args: typedefs and qualifiers
// peeled, alignments from the members and DW_AT_alignment, packing inferred
// from the layout (docs/facts.md §3).
type typeReader struct {
	d     *dwarf.Data
	cache map[dwarf.Offset]Arg
}

func (tr *typeReader) arg(off dwarf.Offset) (Arg, error) {
	if off == 0 {
		return Arg{Class: Void}, nil
	}
	if a, ok := tr.cache[off]; ok {
		return a, nil
	}
	r := tr.d.Reader()
	r.Seek(off)
	e, err := r.Next()
	if err != nil || e == nil {
		return Arg{}, fmt.Errorf("type at %#x: %v", off, err)
	}
	name, _ := e.Val(dwarf.AttrName).(string)
	size, _ := e.Val(dwarf.AttrByteSize).(int64)
	inner, _ := e.Val(dwarf.AttrType).(dwarf.Offset)
	var a Arg
	switch e.Tag {
	case dwarf.TagTypedef, dwarf.TagConstType, dwarf.TagVolatileType, dwarf.TagRestrictType:
		if a, err = tr.arg(inner); err != nil {
			return Arg{}, err
		}
		switch e.Tag {
		case dwarf.TagTypedef:
			a.Name = name
		case dwarf.TagConstType:
			a.Name = "const " + a.Name
		}
	case dwarf.TagBaseType:
		enc, _ := e.Val(dwarf.AttrEncoding).(int64)
		a = Arg{Name: name, Class: Int, Size: int(size), Align: int(size)}
		switch {
		case enc == 4: // DW_ATE_float
			a.Class = Float
		case size == 16:
			a.Class = Int128
		}
	case dwarf.TagPointerType:
		a = Arg{Name: "pointer", Class: Pointer, Size: 8, Align: 8}
	case dwarf.TagEnumerationType:
		a = Arg{Name: "enum " + name, Class: Int, Size: int(size), Align: int(size)}
	case dwarf.TagArrayType:
		elem, err := tr.arg(inner)
		if err != nil {
			return Arg{}, err
		}
		n := int64(0)
		if e.Children {
			sub, err := r.Next()
			if err == nil && sub != nil {
				if c, ok := sub.Val(dwarf.AttrCount).(int64); ok {
					n = c
				} else if ub, ok := sub.Val(dwarf.AttrUpperBound).(int64); ok {
					n = ub + 1
				}
			}
		}
		// Arrays in an aggregate: one member per element when floating
		// point matters, else one integer block.
		a = Arg{Name: elem.Name + "[]", Class: Struct, Size: elem.Size * int(n), Align: elem.realAlign()}
		for i := 0; i < int(n); i++ {
			a.Members = append(a.Members, Member{Offset: i * elem.Size, Type: elem})
		}
	case dwarf.TagStructType, dwarf.TagUnionType:
		a, err = tr.aggregate(r, e, name, int(size))
		if err != nil {
			return Arg{}, err
		}
	default:
		return Arg{}, fmt.Errorf("type at %#x: unexpected %s", off, e.Tag)
	}
	tr.cache[off] = a
	return a, nil
}

func (tr *typeReader) aggregate(r *dwarf.Reader, e *dwarf.Entry, name string, size int) (Arg, error) {
	a := Arg{Class: Struct, Size: size}
	kw := "struct "
	if e.Tag == dwarf.TagUnionType {
		a.Class, kw = Union, "union "
	}
	if name != "" {
		a.Name = kw + name
	}
	if al, ok := e.Val(dwarf.AttrAlignment).(int64); ok {
		a.ExplicitAlign = int(al)
	}
	maxAlign, misaligned := 1, false
	for e.Children {
		m, err := r.Next()
		if err != nil {
			return Arg{}, err
		}
		if m == nil || m.Tag == 0 {
			break
		}
		if m.Tag != dwarf.TagMember {
			if m.Children {
				r.SkipChildren()
			}
			continue
		}
		toff, _ := m.Val(dwarf.AttrType).(dwarf.Offset)
		mt, err := tr.arg(toff)
		if err != nil {
			return Arg{}, err
		}
		offset, _ := m.Val(dwarf.AttrDataMemberLoc).(int64)
		_, bitfield := m.Val(dwarf.AttrBitSize).(int64)
		if bo, ok := m.Val(dwarf.AttrDataBitOffset).(int64); ok {
			offset = bo / 8
		}
		align := mt.realAlign()
		if al, ok := m.Val(dwarf.AttrAlignment).(int64); ok {
			align = int(al)
		}
		align = max(align, 1)
		maxAlign = max(maxAlign, align)
		if !bitfield && (int(offset)%align != 0 || mt.Packed) {
			misaligned = true
		}
		a.Members = append(a.Members, Member{Offset: int(offset), Type: mt})
	}
	a.Packed = misaligned
	a.Align = maxAlign
	if misaligned || size%maxAlign != 0 {
		a.Align = 1 // packed: the aggregate itself is 1-aligned
	}
	return a, nil
}

// locReader finds a parameter's location at function entry: an exprloc, or
// the entry of a DWARF 5 location list whose range holds low_pc.
type locReader struct {
	order          binary.ByteOrder
	loclists, addr []byte
	loc            []byte // DWARF 4 .debug_loc
	addrBase       int64
	loclistsBase   int64
	cuLow          uint64
}

func (l *locReader) setUnit(cu *dwarf.Entry) {
	l.addrBase, _ = cu.Val(dwarf.AttrAddrBase).(int64)
	l.loclistsBase, _ = cu.Val(dwarf.AttrLoclistsBase).(int64)
	l.cuLow, _ = cu.Val(dwarf.AttrLowpc).(uint64)
}

func (l *locReader) entry(f *dwarf.Field, low uint64, cfaFrame bool) ([]piece, error) {
	if f == nil {
		return nil, nil
	}
	var off int64
	switch f.Class {
	case dwarf.ClassExprLoc:
		return decodeExpr(f.Val.([]byte), cfaFrame), nil
	case dwarf.ClassLocListPtr:
		off = f.Val.(int64)
		if l.loclists == nil && l.loc != nil {
			return l.entry4(off, low, cfaFrame)
		}
	case dwarf.ClassLocList: // DW_FORM_loclistx: an index into the offset table
		var n int64
		switch v := f.Val.(type) {
		case int64:
			n = v
		case uint64:
			n = int64(v)
		}
		idx := l.loclistsBase + 4*n
		if n < 0 || idx+4 > int64(len(l.loclists)) {
			return nil, fmt.Errorf("loclistx %d outside .debug_loclists", f.Val)
		}
		off = l.loclistsBase + int64(l.order.Uint32(l.loclists[idx:]))
	default:
		return nil, fmt.Errorf("location of class %s", f.Class)
	}
	b := l.loclists
	if off < 0 || off >= int64(len(b)) {
		return nil, fmt.Errorf("location list at %#x outside .debug_loclists", off)
	}
	p := int(off)
	base := l.cuLow
	uleb := func() uint64 { return readULEB(b, &p) }
	addrx := func(i uint64) uint64 {
		at := l.addrBase + int64(8*i)
		if at+8 > int64(len(l.addr)) {
			return 0
		}
		return l.order.Uint64(l.addr[at:])
	}
	u64 := func() uint64 {
		if p+8 > len(b) {
			p = len(b)
			return 0
		}
		v := l.order.Uint64(b[p:])
		p += 8
		return v
	}
	for p < len(b) {
		kind := b[p]
		p++
		var start, end uint64
		has := true
		switch kind {
		case 0x00: // DW_LLE_end_of_list
			return nil, nil
		case 0x01: // base_addressx
			base = addrx(uleb())
			has = false
		case 0x02: // startx_endx
			start = addrx(uleb())
			end = addrx(uleb())
		case 0x03: // startx_length
			start = addrx(uleb())
			end = start + uleb()
		case 0x04: // offset_pair
			start = base + uleb()
			end = base + uleb()
		case 0x05: // default_location
			start, end = 0, ^uint64(0)
		case 0x06: // base_address
			base = u64()
			has = false
		case 0x07: // start_end
			start = u64()
			end = u64()
		case 0x08: // start_length
			start = u64()
			end = start + uleb()
		case 0x09: // DW_LLE_GNU_view_pair
			uleb()
			uleb()
			has = false
		default:
			return nil, fmt.Errorf("location list entry kind %#x at %#x", kind, p-1)
		}
		if !has {
			continue
		}
		n := int(uleb())
		if p+n > len(b) {
			return nil, errors.New("location expression past .debug_loclists")
		}
		expr := b[p : p+n]
		p += n
		if start <= low && low < end {
			return decodeExpr(expr, cfaFrame), nil
		}
	}
	return nil, nil
}

// entry4 finds the entry of a DWARF 4 .debug_loc list (DWARF 4 §2.6.2:
// pairs of addresses relative to the unit's base, a base address
// selection entry of all ones, a 2-byte expression length) whose range
// holds low.
func (l *locReader) entry4(off int64, low uint64, cfaFrame bool) ([]piece, error) {
	b := l.loc
	base := l.cuLow
	for p := off; ; {
		if p < 0 || p+16 > int64(len(b)) {
			return nil, fmt.Errorf("location list at %#x outside .debug_loc", off)
		}
		start, end := l.order.Uint64(b[p:]), l.order.Uint64(b[p+8:])
		p += 16
		switch {
		case start == 0 && end == 0:
			return nil, nil
		case start == ^uint64(0):
			base = end
			continue
		}
		if p+2 > int64(len(b)) {
			return nil, fmt.Errorf("location list at %#x cut short", off)
		}
		n := int64(l.order.Uint16(b[p:]))
		p += 2
		if p+n > int64(len(b)) {
			return nil, fmt.Errorf("location expression past .debug_loc")
		}
		if base+start <= low && low < base+end {
			return decodeExpr(b[p:p+n], cfaFrame), nil
		}
		p += n
	}
}

// readULEB reads the unsigned LEB128 number at b[*p] and moves *p past it
// (a number cut short by the end of b reads as its bytes so far).
func readULEB(b []byte, p *int) uint64 {
	var v uint64
	for s := uint(0); *p < len(b); s += 7 {
		c := b[*p]
		*p++
		v |= uint64(c&0x7f) << s
		if c < 0x80 {
			break
		}
	}
	return v
}

// decodeExpr reads the register and stack pieces of a location expression:
// DW_OP_reg*, DW_OP_regx, DW_OP_fbreg (with a CFA frame base) and
// DW_OP_piece. Anything else leaves that piece unknown.
func decodeExpr(b []byte, cfaFrame bool) []piece {
	var out []piece
	cur := piece{reg: -2}
	offset := 0
	p := 0
	uleb := func() int64 { return int64(readULEB(b, &p)) }
	sleb := func() int64 {
		var v int64
		var s uint
		var c byte
		for p < len(b) {
			c = b[p]
			p++
			v |= int64(c&0x7f) << s
			s += 7
			if c < 0x80 {
				break
			}
		}
		if s < 64 && c&0x40 != 0 {
			v |= -1 << s
		}
		return v
	}
	whole := true
	for p < len(b) {
		op := b[p]
		p++
		switch {
		case op >= 0x50 && op <= 0x6f: // DW_OP_reg0..31
			cur = piece{reg: int(op - 0x50)}
		case op == 0x90: // DW_OP_regx
			cur = piece{reg: int(uleb())}
		case op >= 0x70 && op <= 0x8f: // DW_OP_breg0..31
			r := int(op - 0x70)
			if off := sleb(); off == 0 && (p == len(b) || b[p] == 0x93) {
				cur = piece{reg: r, indirect: true}
			} else {
				cur = piece{reg: -2}
			}
		case op == 0x91: // DW_OP_fbreg
			off := sleb()
			// A negative offset is the callee's own copy in its frame
			// (gcc homes aggregates there), not where the caller put it.
			if cfaFrame && off >= 0 && (p == len(b) || b[p] == 0x93) {
				cur = piece{reg: -1, stack: int(off)}
			} else {
				cur = piece{reg: -2}
			}
		case op == 0x93: // DW_OP_piece
			whole = false
			size := int(uleb())
			if cur.reg != -2 {
				cur.offset, cur.size = offset, size
				out = append(out, cur)
			}
			offset += size
			cur = piece{reg: -2}
		default:
			// A computed location (DW_OP_entry_value, DW_OP_stack_value,
			// arithmetic): not a place the model can name.
			return out
		}
	}
	if whole && cur.reg != -2 {
		cur.offset = 0
		out = append(out, cur)
	}
	return out
}

// relocatedSection returns a section's bytes with its RELA relocations of
// absolute addresses applied (symbol value plus addend), as a linker would;
// debug/elf does this for the sections it hands to debug/dwarf only.
func relocatedSection(f *elf.File, name string) ([]byte, error) {
	s := f.Section(name)
	if s == nil {
		return nil, nil
	}
	b, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rs := f.Section(".rela" + name)
	if rs == nil {
		return b, nil
	}
	rb, err := rs.Data()
	if err != nil {
		return nil, fmt.Errorf(".rela%s: %w", name, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	for i := 0; i+24 <= len(rb); i += 24 {
		off := f.ByteOrder.Uint64(rb[i:])
		info := f.ByteOrder.Uint64(rb[i+8:])
		addend := int64(f.ByteOrder.Uint64(rb[i+16:]))
		sym, typ := info>>32, uint32(info)
		var val uint64
		if sym > 0 && int(sym) <= len(syms) {
			val = syms[sym-1].Value
		}
		v := val + uint64(addend)
		switch {
		case f.Machine == elf.EM_X86_64 && typ == uint32(elf.R_X86_64_64),
			f.Machine == elf.EM_AARCH64 && typ == uint32(elf.R_AARCH64_ABS64),
			f.Machine == elf.EM_S390 && typ == uint32(elf.R_390_64),
			f.Machine == elf.EM_PPC64 && typ == uint32(elf.R_PPC64_ADDR64),
			f.Machine == elf.EM_RISCV && typ == uint32(elf.R_RISCV_64),
			f.Machine == elf.EM_LOONGARCH && typ == uint32(elf.R_LARCH_64):
			if off+8 <= uint64(len(b)) {
				f.ByteOrder.PutUint64(b[off:], v)
			}
		case f.Machine == elf.EM_X86_64 && typ == uint32(elf.R_X86_64_32),
			f.Machine == elf.EM_AARCH64 && typ == uint32(elf.R_AARCH64_ABS32),
			f.Machine == elf.EM_S390 && typ == uint32(elf.R_390_32),
			f.Machine == elf.EM_PPC64 && typ == uint32(elf.R_PPC64_ADDR32),
			f.Machine == elf.EM_RISCV && typ == uint32(elf.R_RISCV_32),
			f.Machine == elf.EM_LOONGARCH && typ == uint32(elf.R_LARCH_32):
			if off+4 <= uint64(len(b)) {
				f.ByteOrder.PutUint32(b[off:], uint32(v))
			}
		case f.Machine == elf.EM_LOONGARCH && (typ == uint32(elf.R_LARCH_ADD_ULEB128) || typ == uint32(elf.R_LARCH_SUB_ULEB128)):
			// A label difference in a ULEB128 number, kept at its length.
			n := 0
			for off+uint64(n) < uint64(len(b)) && b[off+uint64(n)]&0x80 != 0 {
				n++
			}
			n++
			if off+uint64(n) > uint64(len(b)) {
				return nil, fmt.Errorf("%s: ULEB128 at %#x past the section", rs.Name, off)
			}
			p := int(off)
			cur := readULEB(b, &p)
			if typ == uint32(elf.R_LARCH_ADD_ULEB128) {
				cur += v
			} else {
				cur -= v
			}
			for k := 0; k < n; k++ {
				c := byte(cur & 0x7f)
				cur >>= 7
				if k < n-1 {
					c |= 0x80
				}
				b[off+uint64(k)] = c
			}
		default:
			return nil, fmt.Errorf("%s: relocation type %d of %v not handled by this reader", rs.Name, typ, f.Machine)
		}
	}
	return b, nil
}
