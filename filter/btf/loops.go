package btf

import "fmt"

// checkLoops reports a chain of references that comes back to where it
// started and that the kernel refuses ("Loop detected"), and libbpf's dedup
// with it: by value (a typedef of itself, a struct that contains itself), or
// through reference types alone (a pointer to a const of itself). Base types
// cannot refer to split ones, so only the spec's own types are walked.
//
// Both searches follow the same edges, each leaving some out: by value,
// pointers and function prototypes only refer, so they end a chain; through
// reference types, structs and unions end it (a list node points to its own
// struct). The edges are gathered once into one array (each type's targets
// one after another, in record order), beside one of the types' kinds, so
// that the check allocates five arrays whatever the spec's size and the
// searches read only those.
func (s *Spec) checkLoops() error {
	first, next := s.FirstID(), s.NextID()
	// refs[start[i]:start[i+1]] are the own types that Types[i] refers to;
	// refs is sized by the words that may hold one, an upper bound.
	n := 0
	for i := range s.Types {
		n += refWords(&s.Types[i])
	}
	start := make([]int32, len(s.Types)+1)
	refs := make([]TypeID, 0, n)
	kinds := make([]Kind, len(s.Types))
	for i := range s.Types {
		t := &s.Types[i]
		kinds[i] = t.Kind()
		refs = appendOwnRefs(refs, t, first, next)
		start[i+1] = int32(len(refs))
	}
	color := make([]uint8, len(s.Types))
	var stack []frame
	var byValue, byReference [infoKindMask + 1]bool
	for k := range byValue {
		byValue[k] = Kind(k) != KindPtr && Kind(k) != KindFuncProto
		byReference[k] = Kind(k) != KindStruct && Kind(k) != KindUnion
	}
	if err := s.checkCycles(start, refs, kinds, color, &stack, &byValue, "by value"); err != nil {
		return err
	}
	clear(color)
	return s.checkCycles(start, refs, kinds, color, &stack, &byReference, "through reference types alone")
}

// refWords is the number of t's words that may hold a type ID: those
// VisitTypeIDs visits.
func refWords(t *Type) int {
	n := 0
	k := t.Kind()
	if k.refersByHeader() {
		n = 1
	}
	switch k {
	case KindArray:
		n += 2
	case KindStruct, KindUnion, KindDatasec:
		n += len(t.Extra) / 3
	case KindFuncProto:
		n += len(t.Extra) / 2
	}
	return n
}

// appendOwnRefs appends the IDs in [first, next) that t refers to, in the
// order VisitTypeIDs visits them; it is VisitTypeIDs unrolled, as a
// callback per type costs more than the check does.
func appendOwnRefs(refs []TypeID, t *Type, first, next TypeID) []TypeID {
	own := func(r uint32) bool { return TypeID(r) >= first && TypeID(r) < next }
	k := t.Kind()
	if k.refersByHeader() && own(t.SizeType) {
		refs = append(refs, TypeID(t.SizeType))
	}
	x := t.Extra
	switch k {
	case KindArray:
		for _, r := range x[:2] {
			if own(r) {
				refs = append(refs, TypeID(r))
			}
		}
	case KindStruct, KindUnion:
		for i := 0; i+2 < len(x); i += 3 {
			if own(x[i+1]) {
				refs = append(refs, TypeID(x[i+1]))
			}
		}
	case KindFuncProto:
		for i := 0; i+1 < len(x); i += 2 {
			if own(x[i+1]) {
				refs = append(refs, TypeID(x[i+1]))
			}
		}
	case KindDatasec:
		for i := 0; i+2 < len(x); i += 3 {
			if own(x[i]) {
				refs = append(refs, TypeID(x[i]))
			}
		}
	}
	return refs
}

// frame is a type on checkCycles's stack.
type frame struct {
	id  TypeID
	pos int32 // the next of its edges to follow
}

// checkCycles is a depth-first search over the edges start and refs hold
// (see checkLoops), leaving out those of the types whose kind (kinds, by
// own index) follows rejects. color is all white; stack is reused.
func (s *Spec) checkCycles(start []int32, refs []TypeID, kinds []Kind, color []uint8, stack *[]frame, follows *[infoKindMask + 1]bool, how string) error {
	const (
		white = iota
		grey
		black
	)
	first := s.FirstID()
	// end returns where type i's edges end: where they start when the
	// search does not follow them.
	end := func(i TypeID) int32 {
		if follows[kinds[i]] {
			return start[i+1]
		}
		return start[i]
	}
	st := *stack
	defer func() { *stack = st[:0] }()
	for i := range s.Types {
		if color[i] != white {
			continue
		}
		color[i] = grey
		st = append(st[:0], frame{first + TypeID(i), start[i]})
		for len(st) > 0 {
			top := &st[len(st)-1]
			ti := top.id - first
			if top.pos == end(ti) {
				color[ti] = black
				st = st[:len(st)-1]
				continue
			}
			to := refs[top.pos]
			top.pos++
			switch color[to-first] {
			case grey:
				return typeError(to, s.Types[to-first].Kind(), -1, fmt.Errorf("refers to itself %s through type [%d] (loop)", how, top.id))
			case white:
				color[to-first] = grey
				st = append(st, frame{to, start[to-first]})
			}
		}
	}
	return nil
}
