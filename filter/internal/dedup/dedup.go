package dedup

import (
	"fmt"
	"unsafe"

	"github.com/btffilter/btffilter/filter/btf"
)

// Options adjust a dedup.
type Options struct {
	// Base, for split specs, is the prepared index of the spec's base (see
	// NewBase), or with BaseMap of the base the result extends instead. It
	// is built for the call when nil; preparing it once saves that work
	// when many split specs share a base.
	Base *Base
	// BaseMap moves a split spec onto a rewritten base while it is
	// deduplicated: it maps the IDs of the spec's current base to those
	// of Base, whose strings the result then uses (a string the new base
	// lost is carried in the split string table). Base must be set.
	BaseMap *btf.IDMap
	// Remove lists own types of the spec (ascending or not) that the
	// result leaves out; no kept type may refer to one. Compaction
	// renumbers the rest, so removal, merging and rebasing make one map.
	Remove []btf.TypeID
	// InPlace lets Dedup rewrite the input's types where they are instead
	// of copying them first, as libbpf's btf__dedup does: the result's
	// types then live in the input's array, and the input is consumed,
	// whether Dedup succeeds or not: its Types and Strings are taken (left
	// nil), so that its old string section goes once the new one is
	// built. It saves a copy of every type record (40 bytes each), and of
	// the extra words when they lie at increasing addresses without
	// overlapping, as in decoded specs; otherwise two types might share
	// them, and they are copied into one slab.
	InPlace bool
	// Beside, when not nil, is run at the same time as the string pass,
	// which only reads the input until Beside returns: the caller's own
	// check of the input (its validation), which may read the input too
	// but not change it. Its error is Dedup's, whatever the passes find.
	// When the input must be renumbered (Remove, split BTF) it runs
	// first.
	Beside func() error
}

// Result is a deduplicated spec.
type Result struct {
	// Spec holds the canonical types of the input in their original order,
	// with a string table holding only the strings they use. For split
	// input it extends the same base.
	Spec *btf.Spec
	// Map covers every ID of the input: a kept type maps to its new ID, a
	// merged type to its representative's new ID, a removed type to
	// nothing, base IDs to themselves or through Options.BaseMap.
	Map *btf.IDMap
	// Merged is the number of types that were merged away.
	Merged int
	// Adopted is the number of old base types copied into the split
	// types because the new base no longer has them (Options.BaseMap).
	Adopted int
}

// Map values that are not type IDs (libbpf's BTF_UNPROCESSED_ID and
// BTF_IN_PROGRESS_ID); any value up to maxID is a type ID.
const (
	unprocessed = ^uint32(0)
	inProgress  = ^uint32(0) - 1
	removedID   = ^uint32(0) - 2 // Options.Remove: never canonical, never a candidate
	maxID       = 0x7fffffff
)

// state is one run of the algorithm.
type state struct {
	base        *Base
	baseMap     *btf.IDMap // Options.BaseMap
	inFirst     uint32     // the input's first own ID
	first       uint32     // first own ID in the result's numbering
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
	adopted     int  // old base types copied into the split types
	budget      int  // types identical may still visit
	inPlace     bool // Options.InPlace
	moving      bool // references must be renumbered or checked for removed types
	// beside is Options.Beside until it has run (see run).
	beside func() error
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
		if opts.Beside != nil {
			if e := opts.Beside(); e != nil {
				return nil, e
			}
		}
		return nil, err
	}
	d.beside = opts.Beside
	if err := d.run(s, opts.Remove, passCompact); err != nil {
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
	switch {
	case s.Base == nil:
		if opts.BaseMap != nil {
			return nil, fmt.Errorf("dedup: a base map was given for base BTF")
		}
		b = nil
	case opts.BaseMap != nil:
		if b == nil {
			return nil, fmt.Errorf("dedup: a base map needs the new base (Options.Base)")
		}
	case b == nil:
		var err error
		if b, err = NewBase(s.Base); err != nil {
			return nil, err
		}
	case b.spec != s.Base:
		return nil, fmt.Errorf("dedup: Options.Base was prepared for another base")
	}
	d := &state{base: b, baseMap: opts.BaseMap, inFirst: uint32(s.FirstID()), inPlace: opts.InPlace}
	d.first = d.inFirst
	if b != nil {
		d.bt = b.types
		d.first = uint32(b.spec.NextID())
	}
	return d, nil
}

// inputID is the input's ID of own type id (IDs in errors are the input's).
func (d *state) inputID(id uint32) uint32 { return id - d.first + d.inFirst }

func (d *state) run(s *btf.Spec, remove []btf.TypeID, upTo int) (err error) {
	if f := d.beside; f != nil {
		// Beside runs beside the string pass only when nothing before
		// that pass writes to the input (copyOwn moves references when
		// the input is renumbered). Its error is the answer, whatever the
		// passes find.
		if len(remove) > 0 || s.Base != nil {
			d.beside = nil
			if err := f(); err != nil {
				return err
			}
		} else {
			defer func() {
				if d.beside != nil {
					d.beside = nil
					if e := f(); e != nil {
						err = e
					}
				}
			}()
		}
	}
	var gone []bool // own index -> removed
	if len(remove) > 0 {
		gone = make([]bool, len(s.Types))
		for _, id := range remove {
			if id < btf.TypeID(d.inFirst) || id >= s.NextID() {
				return fmt.Errorf("dedup: type [%d] to remove is not a type of this BTF", id)
			}
			gone[uint32(id)-d.inFirst] = true
		}
	}
	d.moving = len(remove) > 0 || d.baseMap != nil || d.first != d.inFirst
	if err := d.copyOwn(s, gone); err != nil {
		return err
	}
	d.n = d.first + uint32(len(d.own))
	d.mp = make([]uint32, d.n)
	for id := uint32(1); id < d.first; id++ {
		d.mp[id] = id // the base is canonical
	}
	for i, g := range gone {
		if g {
			d.mp[d.first+uint32(i)] = removedID
		}
	}
	d.hypot = make([]uint32, d.n)
	for i := range d.hypot {
		d.hypot[i] = unprocessed
	}
	for i := range d.own {
		id := d.first + uint32(i)
		switch {
		case d.mp[id] == removedID:
		case d.own[i].Kind() == btf.KindVar, d.own[i].Kind() == btf.KindDatasec:
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

// removed reports whether own type id is one Options.Remove leaves out.
func (d *state) removed(id uint32) bool { return d.mp[id] == removedID }

// copyOwn copies s's types into one private array and one slab of extra
// words (with Options.InPlace it takes s's own, see there), and checks that
// every referenced ID exists and is kept (gone marks the removed ones by
// own index), so that the passes can index without checks. References are
// moved into the result's numbering on the way: own IDs by the shift onto
// the new base, base IDs through the base map. The copy is what the passes
// rewrite, and its kept types become the output, so it is made once and
// nothing else is.
//
// A kept type may refer to an old base type the new base no longer has: a
// FUNC_PROTO that only the base's removed FUNCs used, which a module's
// function pointer still names. Such a type is adopted: a copy of it (and,
// the same way, of what it refers to that the new base lost) is appended to
// the split types, so the module keeps describing what it describes while
// the new base stays what it is whatever modules it serves.
func (d *state) copyOwn(s *btf.Spec, gone []bool) error {
	if d.inPlace {
		d.own, s.Types = s.Types, nil
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
	inEnd := d.inFirst + uint32(len(d.own))
	own := len(d.own)
	adopted := map[uint32]uint32{} // old base ID -> its copy's ID
	var pending []btf.Type         // adopted while one type is visited
	// move puts a reference of kept type id (the input's ID) into the
	// result's numbering, failing on a reference to a removed type. It is
	// made once: a callback made per type would cost an allocation each.
	var id uint32
	var err error
	move := func(p *uint32) {
		ref := *p
		switch {
		case err != nil || ref == 0:
		case ref >= d.inFirst:
			n := ref - d.inFirst + d.first
			if gone != nil && gone[ref-d.inFirst] {
				err = fmt.Errorf("dedup: kept type [%d] refers to removed type [%d]", id, ref)
			}
			*p = n
		case d.baseMap != nil:
			n, ok := d.baseMap.Lookup(btf.TypeID(ref))
			if ok {
				*p = uint32(n)
				return
			}
			c, done := adopted[ref]
			if !done {
				t, e := s.Base.Type(btf.TypeID(ref))
				if e != nil || t == nil {
					err = fmt.Errorf("dedup: kept type [%d] refers to base type [%d], which the old base does not have", id, ref)
					return
				}
				c = d.first + uint32(len(d.own)+len(pending))
				adopted[ref] = c
				// Its references are moved when the loop below
				// reaches it.
				pending = append(pending, t.Clone())
			}
			*p = c
		}
	}
	for i := 0; i < len(d.own); i++ {
		t := &d.own[i]
		id = d.inFirst + uint32(i)
		if i < own {
			if !wellFormed(t) {
				return fmt.Errorf("dedup: type [%d] %v: vlen %d does not match its %d extra words", id, t.Kind(), t.Vlen(), len(t.Extra))
			}
			if bad := maxRef(t); bad >= inEnd {
				return fmt.Errorf("dedup: type [%d] %v refers to type %d, past the last type %d", id, t.Kind(), bad, inEnd-1)
			}
		} else if !wellFormed(t) || maxRef(t) >= d.inFirst {
			return fmt.Errorf("dedup: adopted base type %v is malformed", t.Kind())
		}
		if d.moving && (gone == nil || i >= own || !gone[i]) {
			t.VisitTypeIDs(move)
			if err != nil {
				return err
			}
			if len(pending) > 0 {
				// Appended only now: t points into d.own.
				d.own = append(d.own[:len(d.own):len(d.own)], pending...)
				pending = pending[:0]
			}
		}
	}
	d.adopted = len(d.own) - own
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
		if !d.removed(id) {
			d.mp[id] = d.resolve(id)
		}
	}
	newID := d.hypot // newID[id] for own canonical IDs, 0 for the others
	kept, removed := uint32(0), 0
	for id := d.first; id < d.n; id++ {
		newID[id] = 0
		switch {
		case d.mp[id] == id:
			newID[id] = d.first + kept
			kept++
		case d.removed(id):
			removed++
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
			err = fmt.Errorf("dedup: type [%d] refers to type %d, which has no representative", d.inputID(id), *p)
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
	// mp becomes the ID map: own ID -> final new ID (0: removed).
	for id := d.first; id < d.n; id++ {
		n := final(id)
		if n == 0 && !d.removed(id) {
			return nil, fmt.Errorf("dedup: type [%d] has no representative", d.inputID(id))
		}
		d.mp[id] = n
	}
	// btf.TypeID is a uint32, so the map can use mp's memory as it is;
	// it covers the input's types, not the adopted ones.
	var to []btf.TypeID
	if n := d.n - d.first - uint32(d.adopted); n > 0 {
		to = unsafe.Slice((*btf.TypeID)(unsafe.Pointer(&d.mp[d.first])), n)
	}
	base := s.Base
	if d.baseMap != nil {
		base = d.base.spec
	}
	out := &btf.Spec{Order: s.Order, Header: s.Header, Types: types, Strings: strs, Layout: s.Layout, Base: base}
	return &Result{
		Spec:    out,
		Map:     btf.NewIDMap(s.FirstID(), to, d.baseMap),
		Merged:  len(d.own) - int(kept) - removed,
		Adopted: d.adopted,
	}, nil
}
