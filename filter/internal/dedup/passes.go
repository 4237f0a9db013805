package dedup

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/btf"
)

// primTypes is pass 2: INT, FLOAT, FWD, ENUM and ENUM64.
func (d *state) primTypes() error {
	for i := range d.own {
		id := d.first + uint32(i)
		t := &d.own[i]
		newID := id
		var key uint64
		switch t.Kind() {
		case btf.KindInt:
			key = keyIntTag(t)
			d.table.cands(key, func(c uint32) bool {
				if equalAll(t, d.typ(c)) {
					newID = c
					return false
				}
				return true
			})
		case btf.KindEnum, btf.KindEnum64:
			key = keyEnum(t)
			d.table.cands(key, func(c uint32) bool {
				ct := d.typ(c)
				if equalAll(t, ct) {
					newID = c
					return false
				}
				if compatEnum(t, ct) {
					if isEnumFwd(t) {
						newID = c
						return false
					}
					// A canonical forward enum now reads as this
					// full enum.
					d.mp[c] = id
				}
				return true
			})
		case btf.KindFwd, btf.KindFloat:
			key = keyCommon(t)
			d.table.cands(key, func(c uint32) bool {
				if equalCommon(t, d.typ(c)) {
					newID = c
					return false
				}
				return true
			})
		default:
			continue
		}
		d.mp[id] = newID
		if newID == id {
			d.table.add(key, id)
		}
	}
	return nil
}

// structTypes is pass 3: STRUCT, UNION and TYPEDEF by graph equivalence.
func (d *state) structTypes() error {
	for i := range d.own {
		id := d.first + uint32(i)
		if d.mp[id] <= maxID {
			continue // merged by an earlier walk
		}
		t := &d.own[i]
		var key uint64
		var equal func(a, b *btf.Type) bool
		switch t.Kind() {
		case btf.KindStruct, btf.KindUnion:
			key, equal = keyStruct(t), shallowEqualStruct
		case btf.KindTypedef:
			key, equal = keyTypedef(t), equalTypedef
		default:
			continue
		}
		newID := id
		var err error
		d.table.cands(key, func(c uint32) bool {
			// The shallow test keeps a FWD whose key collides
			// from becoming a candidate, which could make a FWD
			// and a struct each other's representative.
			if !equal(t, d.typ(c)) {
				return true
			}
			d.clearHypot()
			eq, e := d.isEquiv(id, c)
			if e != nil {
				err = e
				return false
			}
			if !eq {
				return true
			}
			d.mergeHypot()
			if d.adjustCanon {
				return true // would change the base: not equivalent
			}
			newID = c
			return false
		})
		if err != nil {
			return err
		}
		d.mp[id] = newID
		if newID == id {
			d.table.add(key, id)
		}
	}
	return nil
}

func (d *state) clearHypot() {
	for _, id := range d.hlist {
		d.hypot[id] = unprocessed
	}
	d.hlist = d.hlist[:0]
	d.adjustCanon = false
}

// fwdKind is the kind a FWD declares: its kind flag means union.
func fwdKind(t *btf.Type) btf.Kind {
	if t.KindFlag() {
		return btf.KindUnion
	}
	return btf.KindStruct
}

// isEquiv walks the candidate graph from cand and the canonical graph from
// canon side by side (libbpf's btf_dedup_is_equiv).
func (d *state) isEquiv(cand, canon uint32) (bool, error) {
	if d.resolve(cand) == d.resolve(canon) {
		return true, nil
	}
	canon = d.resolveFwd(canon)
	if h := d.hypot[canon]; h <= maxID {
		if h == cand {
			return true, nil // a cycle closed consistently
		}
		// One unit may carry identical copies of a type; they are
		// not a contradiction.
		d.budget = identicalBudget
		return d.identical(h, cand, 16), nil
	}
	d.hypot[canon] = cand
	d.hlist = append(d.hlist, canon)

	ct, kt := d.typ(cand), d.typ(canon)
	if ct.NameOff != kt.NameOff {
		return false, nil
	}
	ck, kk := ct.Kind(), kt.Kind()
	if (ck == btf.KindFwd || kk == btf.KindFwd) && ck != kk {
		var real, fwd btf.Kind
		if ck == btf.KindFwd {
			real, fwd = kk, fwdKind(ct)
		} else {
			real, fwd = ck, fwdKind(kt)
			if fwd == real && canon < d.first {
				d.adjustCanon = true // a base FWD would resolve
			}
		}
		return fwd == real, nil
	}
	if ck != kk {
		return false, nil
	}
	switch ck {
	case btf.KindInt:
		return equalAll(ct, kt), nil
	case btf.KindEnum, btf.KindEnum64:
		return compatEnum(ct, kt), nil
	case btf.KindFwd, btf.KindFloat:
		return equalCommon(ct, kt), nil
	case btf.KindConst, btf.KindVolatile, btf.KindRestrict, btf.KindPtr,
		btf.KindTypedef, btf.KindFunc, btf.KindTypeTag:
		if ct.Info != kt.Info {
			return false, nil
		}
		return d.isEquiv(ct.SizeType, kt.SizeType)
	case btf.KindArray:
		if !compatArray(ct, kt) {
			return false, nil
		}
		eq, err := d.isEquiv(ct.Extra[1], kt.Extra[1])
		if !eq || err != nil {
			return eq, err
		}
		return d.isEquiv(ct.Extra[0], kt.Extra[0])
	case btf.KindStruct, btf.KindUnion:
		if !shallowEqualStruct(ct, kt) {
			return false, nil
		}
		for j := 1; j < len(ct.Extra); j += 3 {
			eq, err := d.isEquiv(ct.Extra[j], kt.Extra[j])
			if !eq || err != nil {
				return eq, err
			}
		}
		return true, nil
	case btf.KindFuncProto:
		if !compatProto(ct, kt) {
			return false, nil
		}
		eq, err := d.isEquiv(ct.SizeType, kt.SizeType)
		if !eq || err != nil {
			return eq, err
		}
		for j := 1; j < len(ct.Extra); j += 2 {
			eq, err := d.isEquiv(ct.Extra[j], kt.Extra[j])
			if !eq || err != nil {
				return eq, err
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("dedup: type [%d] %v cannot be part of a struct's type graph", cand, ck)
}

// identicalBudget bounds the types one identity check may visit. The check
// branches at every struct and prototype, so crafted input could make it
// visit members^16 types; real BTF stays far below the bound (vmlinux
// twice: under a thousand), where the result is libbpf's.
const identicalBudget = 1 << 20

// identical reports whether two types are structurally identical down to
// depth levels (libbpf's btf_dedup_identical_types). Chains of reference
// types do not use up depth, as in libbpf; the budget also ends loops made
// of reference types alone, which valid BTF does not have.
func (d *state) identical(id1, id2 uint32, depth int) bool {
	for {
		if d.budget <= 0 {
			return false
		}
		d.budget--
		t1, t2 := d.typ(id1), d.typ(id2)
		if depth <= 0 {
			return false
		}
		k := t1.Kind()
		if k != t2.Kind() {
			return false
		}
		switch k {
		case btf.KindUnknown:
			return true
		case btf.KindInt:
			return equalAll(t1, t2)
		case btf.KindEnum, btf.KindEnum64:
			return compatEnum(t1, t2)
		case btf.KindFwd, btf.KindFloat:
			return equalCommon(t1, t2)
		case btf.KindConst, btf.KindVolatile, btf.KindRestrict, btf.KindPtr,
			btf.KindTypedef, btf.KindFunc, btf.KindTypeTag:
			if t1.Info != t2.Info || t1.NameOff != t2.NameOff {
				return false
			}
			id1, id2 = t1.SizeType, t2.SizeType
			continue
		case btf.KindArray:
			// libbpf reads both arrays' element and index types
			// from the first array, so only the shape counts.
			return compatArray(t1, t2)
		case btf.KindStruct, btf.KindUnion:
			if !shallowEqualStruct(t1, t2) {
				return false
			}
			for j := 1; j < len(t1.Extra); j += 3 {
				if t1.Extra[j] != t2.Extra[j] && !d.identical(t1.Extra[j], t2.Extra[j], depth-1) {
					return false
				}
			}
			return true
		case btf.KindFuncProto:
			if !compatProto(t1, t2) {
				return false
			}
			if t1.SizeType != t2.SizeType && !d.identical(t1.SizeType, t2.SizeType, depth-1) {
				return false
			}
			for j := 1; j < len(t1.Extra); j += 2 {
				if t1.Extra[j] != t2.Extra[j] && !d.identical(t1.Extra[j], t2.Extra[j], depth-1) {
					return false
				}
			}
			return true
		}
		return false
	}
}

// mergeHypot commits a successful walk (libbpf's btf_dedup_merge_hypot_map):
// FWDs point at the struct or union they matched, and structs of the
// candidate graph map to canonical structs that are already final.
func (d *state) mergeHypot() {
	for _, canon := range d.hlist {
		targ := d.hypot[canon]
		tID, cID := d.resolve(targ), d.resolve(canon)
		tk, ck := d.typ(tID).Kind(), d.typ(cID).Kind()
		// A base FWD is pointed at the split struct even when the
		// walk does not count, so that split FWDs resolved against
		// it reach the struct.
		if tk != btf.KindFwd && ck == btf.KindFwd {
			d.mp[cID] = tID
		}
		if d.adjustCanon {
			continue
		}
		if tk == btf.KindFwd && ck != btf.KindFwd {
			d.mp[tID] = cID
		}
		if (tk == btf.KindStruct || tk == btf.KindUnion) && ck != btf.KindFwd &&
			d.mapped(cID) && !d.mapped(tID) {
			d.mp[tID] = cID
		}
	}
}

// resolveFwds is pass 4: a FWD still its own representative resolves to the
// canonical struct or union of its name, when there is exactly one.
func (d *state) resolveFwds() {
	var names map[uint32]uint32 // own canonical structs by name, 0 when shared
	for i := range d.own {
		id := d.first + uint32(i)
		t := &d.own[i]
		if t.Kind() != btf.KindFwd || d.mp[id] != id {
			continue
		}
		if names == nil {
			names = map[uint32]uint32{}
			for j := range d.own {
				sid := d.first + uint32(j)
				k := d.own[j].Kind()
				if (k == btf.KindStruct || k == btf.KindUnion) && d.mp[sid] == sid {
					if _, dup := names[d.own[j].NameOff]; dup {
						names[d.own[j].NameOff] = 0
					} else {
						names[d.own[j].NameOff] = sid
					}
				}
			}
		}
		cand, ok := names[t.NameOff]
		if d.base != nil {
			if b, inBase := d.base.structs[t.NameOff]; inBase {
				if ok {
					cand = 0 // named in the base and in the split part
				} else {
					cand, ok = b, true
				}
			}
		}
		if !ok || cand == 0 {
			continue
		}
		if d.typ(cand).Kind() != fwdKind(t) {
			continue
		}
		d.mp[id] = cand
	}
}

// refTypes is pass 5: reference types bottom-up by exact equality.
func (d *state) refTypes() error {
	for i := range d.own {
		if _, err := d.refType(d.first + uint32(i)); err != nil {
			return err
		}
	}
	return nil
}

func (d *state) refType(id uint32) (uint32, error) {
	switch d.mp[id] {
	case inProgress:
		return 0, fmt.Errorf("dedup: type [%d] is part of a loop of reference types", id)
	case unprocessed:
	default:
		return d.resolve(id), nil
	}
	t := d.typ(id)
	d.mp[id] = inProgress
	ref := func(p *uint32) error {
		r, err := d.refType(*p)
		*p = r
		return err
	}
	newID := id
	var key uint64
	find := func(equal func(a, b *btf.Type) bool) {
		d.table.cands(key, func(c uint32) bool {
			if equal(t, d.typ(c)) {
				newID = c
				return false
			}
			return true
		})
	}
	switch t.Kind() {
	case btf.KindConst, btf.KindVolatile, btf.KindRestrict, btf.KindPtr, btf.KindFunc, btf.KindTypeTag:
		if err := ref(&t.SizeType); err != nil {
			return 0, err
		}
		key = keyCommon(t)
		find(equalCommon)
	case btf.KindDeclTag:
		if err := ref(&t.SizeType); err != nil {
			return 0, err
		}
		key = keyIntTag(t)
		find(equalAll)
	case btf.KindArray:
		if err := ref(&t.Extra[0]); err != nil {
			return 0, err
		}
		if err := ref(&t.Extra[1]); err != nil {
			return 0, err
		}
		key = keyArray(t)
		find(equalAll)
	case btf.KindFuncProto:
		if err := ref(&t.SizeType); err != nil {
			return 0, err
		}
		for j := 1; j < len(t.Extra); j += 2 {
			if err := ref(&t.Extra[j]); err != nil {
				return 0, err
			}
		}
		key = keyProto(t)
		find(equalAll)
	default:
		return 0, fmt.Errorf("dedup: type [%d] %v was left without a representative", id, t.Kind())
	}
	d.mp[id] = newID
	if newID == id {
		d.table.add(key, id)
	}
	return newID, nil
}
