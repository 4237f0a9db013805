package dedup

import (
	"fmt"

	"btffilter/filter/btf"
	"btffilter/filter/prune"
)

// Options adjust a dedup.
type Options struct {
	// Base, for split specs, is the prepared index of the spec's base (see
	// NewBase). It is built for the call when nil; preparing it once saves
	// that work when many split specs share a base.
	Base *Base
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
	budget      int // types identical may still visit
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
// returns the deduplicated spec and the ID map. s is not modified. For split
// specs only the split part is deduplicated; its base is left as it is.
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
	d := &state{base: b, first: uint32(s.FirstID()), n: uint32(s.NextID())}
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

// copyOwn copies s's types into one private slab, and checks that every
// referenced ID exists so that the passes can index without checks.
func (d *state) copyOwn(s *btf.Spec) error {
	words := 0
	for i := range s.Types {
		words += len(s.Types[i].Extra)
	}
	slab := make([]uint32, words)
	d.own = make([]btf.Type, len(s.Types))
	for i := range s.Types {
		t := s.Types[i]
		n := copy(slab, t.Extra)
		if t.Extra != nil {
			t.Extra = slab[:n:n]
		}
		slab = slab[n:]
		d.own[i] = t
		if !wellFormed(&d.own[i]) {
			return fmt.Errorf("dedup: type [%d] %v: vlen %d does not match its %d extra words", d.first+uint32(i), t.Kind(), t.Vlen(), len(t.Extra))
		}
		var bad uint32
		d.own[i].VisitTypeIDs(func(p *uint32) {
			if *p >= d.n && bad == 0 {
				bad = *p
			}
		})
		if bad != 0 {
			return fmt.Errorf("dedup: type [%d] %v refers to type %d, past the last type %d", d.first+uint32(i), t.Kind(), bad, d.n-1)
		}
	}
	return nil
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
// rewrites every reference.
func (d *state) compact(s *btf.Spec, strs []byte) (*Result, error) {
	newID := make([]btf.TypeID, len(d.own))
	kept := 0
	for i := range d.own {
		id := d.first + uint32(i)
		if d.mp[id] == id {
			newID[i] = btf.TypeID(d.first + uint32(kept))
			kept++
		}
	}
	final := func(old uint32) (uint32, bool) {
		r := d.resolve(old)
		if r < d.first {
			return r, true
		}
		n := newID[r-d.first]
		return uint32(n), n != 0
	}
	// The kept types move to the front of own, in place: a kept type's
	// new index is never above its old one.
	types := d.own[:0]
	var err error
	for i := range d.own {
		id := d.first + uint32(i)
		if d.mp[id] != id {
			continue
		}
		t := d.own[i]
		t.VisitTypeIDs(func(p *uint32) {
			n, ok := final(*p)
			if !ok && err == nil {
				err = fmt.Errorf("dedup: type [%d] refers to type %d, which has no representative", id, *p)
			}
			*p = n
		})
		types = append(types, t)
	}
	if err != nil {
		return nil, err
	}
	to := make([]btf.TypeID, len(d.own))
	for i := range d.own {
		n, ok := final(d.first + uint32(i))
		if !ok {
			return nil, fmt.Errorf("dedup: type [%d] has no representative", d.first+uint32(i))
		}
		to[i] = btf.TypeID(n)
	}
	h := s.Header
	out := &btf.Spec{Order: s.Order, Header: h, Types: types, Strings: strs, Layout: s.Layout, Base: s.Base}
	return &Result{
		Spec:   out,
		Map:    prune.NewIDMap(s.FirstID(), to, nil),
		Merged: len(d.own) - kept,
	}, nil
}
