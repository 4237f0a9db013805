package dedup

import (
	"fmt"
	"unsafe"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/prune"
)

// Options adjust a dedup.
type Options struct {
	// Base, for split specs, is the prepared index of the spec's base (see
	// NewBase). It is built for the call when nil; preparing it once saves
	// that work when many split specs share a base.
	Base *Base
	// InPlace lets Dedup rewrite the input's types where they are instead
	// of copying them first, as libbpf's btf__dedup does: the result's
	// types then live in the input's array, and the input must not be used
	// again, whether Dedup succeeds or not. It saves a copy of every type
	// record (40 bytes each), and of the extra words when they lie at
	// increasing addresses without overlapping, as in decoded specs;
	// otherwise two types might share them, and they are copied into one
	// slab.
	InPlace bool
}

// Result is a deduplicated spec.
type Result struct {
	// Spec holds the canonical types of the input in their original order,
	// with a string table holding only the strings they use. For split
	// input it extends the same base.
	Spec *btf.Spec
	// Map covers every ID of the input: a kept type maps to its new ID, a
	// merged type to its representative's new ID, base IDs to themselves.
	Map *prune.IDMap
	// Merged is the number of input types that were merged away.
	Merged int
}

// Map values that are not type IDs (libbpf's BTF_UNPROCESSED_ID and
// BTF_IN_PROGRESS_ID); any value up to maxID is a type ID.
const (
	unprocessed = ^uint32(0)
	inProgress  = ^uint32(0) - 1
	maxID       = 0x7fffffff
)

// state is one run of the algorithm.
type state struct {
	base        *Base
	first       uint32     // first own ID
	n           uint32     // one past the last ID
	own         []btf.Type // own types, a private copy the passes rewrite
	bt          []btf.Type // base types, bt[i] has ID i+1; read only
	mp          []uint32   // mp[id]: representative of id, or unprocessed/inProgress
	hypot       []uint32   // hypothetical map of one graph walk, canonical -> candidate
	hlist       []uint32   // the keys set in hypot, to clear it
	table       *candTable // canonical candidates of this run
	void        btf.Type   // the type of ID 0
	adjustCanon bool       // the current walk would need to change a base type
	result      *Result
	budget      int  // types identical may still visit
	inPlace     bool // Options.InPlace
}

// typ returns the type with the given ID (ID 0 is void, kind 0).
func (d *state) typ(id uint32) *btf.Type {
	if id >= d.first {
		return &d.own[id-d.first]
	}
	if id == 0 {
		return &d.void
	}
	return &d.bt[id-1]
}

// Dedup merges the duplicate types of s (see the package comment) and
// returns the deduplicated spec and the ID map. s is not modified unless
// opts.InPlace is set. For split specs only the split part is deduplicated;
// its base is left as it is.
func Dedup(s *btf.Spec, opts Options) (*Result, error) {
	d, err := newState(s, opts)
	if err != nil {
		return nil, err
	}
	if err := d.run(s, passCompact); err != nil {
		return nil, err
	}
	return d.result, nil
}

// The passes in order; run stops after the one it is given (benchmarks
// time them one by one).
const (
	passSetup = iota
	passStrings
	passPrim
	passStruct
	passFwd
	passRef
	passCompact
)

func newState(s *btf.Spec, opts Options) (*state, error) {
	b := opts.Base
	if s.Base != nil {
		if b == nil {
			var err error
			if b, err = NewBase(s.Base); err != nil {
				return nil, err
			}
		} else if b.spec != s.Base {
			return nil, fmt.Errorf("dedup: Options.Base was prepared for another base")
		}
	} else {
		b = nil
	}
	d := &state{base: b, first: uint32(s.FirstID()), n: uint32(s.NextID()), inPlace: opts.InPlace}
	if b != nil {
		d.bt = b.types
	}
	return d, nil
}

func (d *state) run(s *btf.Spec, upTo int) error {
	if err := d.copyOwn(s); err != nil {
		return err
	}
	d.mp = make([]uint32, d.n)
	d.hypot = make([]uint32, d.n)
	for i := range d.hypot {
		d.hypot[i] = unprocessed
	}
	for id := uint32(1); id < d.first; id++ {
		d.mp[id] = id // the base is canonical
	}
	for i := range d.own {
		id := d.first + uint32(i)
		switch d.own[i].Kind() {
		case btf.KindVar, btf.KindDatasec:
			d.mp[id] = id // never merged
		default:
			d.mp[id] = unprocessed
		}
	}
	var parent *candTable
	if d.base != nil {
		parent = d.base.table
	}
	// About half the types of real input are canonical; the table grows
	// when more are.
	d.table = newCandTable(parent, len(d.own)/2)
	if upTo == passSetup {
		return nil
	}
	strs, err := d.dedupStrings(s)
	if err != nil || upTo == passStrings {
		return err
	}
	if err := d.primTypes(); err != nil || upTo == passPrim {
		return err
	}
	if err := d.structTypes(); err != nil || upTo == passStruct {
		return err
	}
	d.resolveFwds()
	if upTo == passFwd {
		return nil
	}
	if err := d.refTypes(); err != nil || upTo == passRef {
		return err
	}
	d.result, err = d.compact(s, strs)
	return err
}

// copyOwn copies s's types into one private array and one slab of extra
// words (with Options.InPlace it takes s's own, see there), and checks that
// every referenced ID exists so that the passes can index without checks.
// The copy is what the passes rewrite, and its kept types become the
// output, so it is made once and nothing else is.
func (d *state) copyOwn(s *btf.Spec) error {
	if d.inPlace {
		d.own = s.Types
	} else {
		d.own = make([]btf.Type, len(s.Types))
		copy(d.own, s.Types)
	}
	// Records are values and never share memory; extra words may, in
	// specs built by hand. Unless their addresses rule that out, every
	// type gets its own in a new slab.
	if !d.inPlace || !disjointExtras(d.own) {
		words := 0
		for i := range d.own {
			words += len(d.own[i].Extra)
		}
		slab := make([]uint32, words)
		for i := range d.own {
			t := &d.own[i]
			if t.Extra != nil {
				n := copy(slab, t.Extra)
				t.Extra = slab[:n:n]
				slab = slab[n:]
			}
		}
	}
	for i := range d.own {
		t := &d.own[i]
		if !wellFormed(t) {
			return fmt.Errorf("dedup: type [%d] %v: vlen %d does not match its %d extra words", d.first+uint32(i), t.Kind(), t.Vlen(), len(t.Extra))
		}
		if bad := maxRef(t); bad >= d.n {
			return fmt.Errorf("dedup: type [%d] %v refers to type %d, past the last type %d", d.first+uint32(i), t.Kind(), bad, d.n-1)
		}
	}
	return nil
}

// disjointExtras reports whether the extra words of types lie at increasing
// addresses without overlapping, so that rewriting one type's words never
// changes another's. Decoded specs always pass: their records are cut in
// order from one array.
func disjointExtras(types []btf.Type) bool {
	var end uintptr
	for i := range types {
		x := types[i].Extra
		if len(x) == 0 {
			continue
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
		if start < end {
			return false
		}
		end = start + uintptr(len(x))*unsafe.Sizeof(x[0])
	}
	return true
}

// maxRef returns the highest type ID well-formed t refers to (0 for none).
// It is VisitTypeIDs unrolled: a callback per type costs more than the
// check does.
func maxRef(t *btf.Type) uint32 {
	var m uint32
	switch t.Kind() {
	case btf.KindPtr, btf.KindTypedef, btf.KindVolatile, btf.KindConst, btf.KindRestrict,
		btf.KindFunc, btf.KindVar, btf.KindTypeTag, btf.KindDeclTag:
		m = t.SizeType
	case btf.KindArray:
		m = max(t.Extra[0], t.Extra[1])
	case btf.KindStruct, btf.KindUnion:
		for j := 1; j < len(t.Extra); j += 3 {
			m = max(m, t.Extra[j])
		}
	case btf.KindFuncProto:
		m = t.SizeType
		for j := 1; j < len(t.Extra); j += 2 {
			m = max(m, t.Extra[j])
		}
	case btf.KindDatasec:
		for j := 0; j < len(t.Extra); j += 3 {
			m = max(m, t.Extra[j])
		}
	}
	return m
}

// wellFormed reports whether t's extra words are what its kind and vlen
// need; decoded specs always are, hand-made ones may not be.
func wellFormed(t *btf.Type) bool {
	v := t.Vlen()
	n := len(t.Extra)
	switch t.Kind() {
	case btf.KindInt, btf.KindVar, btf.KindDeclTag:
		return n == 1
	case btf.KindArray:
		return n == 3
	case btf.KindStruct, btf.KindUnion, btf.KindDatasec, btf.KindEnum64:
		return n == 3*v
	case btf.KindEnum, btf.KindFuncProto:
		return n == 2*v
	case btf.KindPtr, btf.KindFwd, btf.KindTypedef, btf.KindVolatile, btf.KindConst,
		btf.KindRestrict, btf.KindFunc, btf.KindFloat, btf.KindTypeTag:
		return n == 0
	}
	return false
}

// mapped reports whether id has a representative (possibly itself).
func (d *state) mapped(id uint32) bool { return d.mp[id] <= maxID }

// resolve follows id's representatives to the end of the chain. The step
// bound only matters for malformed maps, which valid input never makes.
func (d *state) resolve(id uint32) uint32 {
	for steps := d.n; d.mp[id] <= maxID && d.mp[id] != id && steps > 0; steps-- {
		id = d.mp[id]
	}
	return id
}

// resolveFwd returns the struct or union a FWD resolved to, else id.
func (d *state) resolveFwd(id uint32) uint32 {
	if d.typ(id).Kind() != btf.KindFwd {
		return id
	}
	r := d.resolve(id)
	if d.typ(r).Kind() != btf.KindFwd {
		return r
	}
	return id
}

// compact keeps the canonical own types in order, renumbers them and
// rewrites every reference. It needs no new arrays but the result's: the
// new IDs go into hypot, whose walks are over, and the ID map is built in mp.
func (d *state) compact(s *btf.Spec, strs []byte) (*Result, error) {
	d.table = nil // no longer needed; let it go before the result is built
	// Every chain of representatives is cut short to its end, so that a
	// type's final representative is mp[id] from here on.
	for id := uint32(1); id < d.n; id++ {
		d.mp[id] = d.resolve(id)
	}
	newID := d.hypot // newID[id] for own canonical IDs, 0 for the others
	kept := uint32(0)
	for id := d.first; id < d.n; id++ {
		newID[id] = 0
		if d.mp[id] == id {
			newID[id] = d.first + kept
			kept++
		}
	}
	// final returns the new ID of old's representative, 0 when it has
	// none (old is below n: copyOwn checked every reference).
	final := func(old uint32) uint32 {
		r := d.mp[old]
		if r > maxID {
			return 0
		}
		if r < d.first {
			return r
		}
		return newID[r]
	}
	// The kept types move to the front of own, in place: a kept type's
	// new index is never above its old one.
	types := d.own[:0]
	var err error
	var id uint32
	rewrite := func(p *uint32) {
		n := final(*p)
		if n == 0 && *p != 0 && err == nil {
			err = fmt.Errorf("dedup: type [%d] refers to type %d, which has no representative", id, *p)
		}
		*p = n
	}
	for i := range d.own {
		id = d.first + uint32(i)
		if d.mp[id] != id {
			continue
		}
		// Rewritten where it is: a local copy would escape through
		// VisitTypeIDs's callback and cost an allocation per type.
		d.own[i].VisitTypeIDs(rewrite)
		types = append(types, d.own[i])
	}
	if err != nil {
		return nil, err
	}
	// mp becomes the ID map: own ID -> final new ID.
	for id := d.first; id < d.n; id++ {
		n := final(id)
		if n == 0 {
			return nil, fmt.Errorf("dedup: type [%d] has no representative", id)
		}
		d.mp[id] = n
	}
	// btf.TypeID is a uint32, so the map can use mp's memory as it is.
	var to []btf.TypeID
	if d.n > d.first {
		to = unsafe.Slice((*btf.TypeID)(unsafe.Pointer(&d.mp[d.first])), d.n-d.first)
	}
	h := s.Header
	out := &btf.Spec{Order: s.Order, Header: h, Types: types, Strings: strs, Layout: s.Layout, Base: s.Base}
	return &Result{
		Spec:   out,
		Map:    prune.NewIDMap(s.FirstID(), to, nil),
		Merged: len(d.own) - int(kept),
	}, nil
}
