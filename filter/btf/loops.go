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
// one after another, in record order), so that the check allocates four
// arrays whatever the spec's size.
func (s *Spec) checkLoops() error {
	first, next := s.FirstID(), s.NextID()
	// refs[start[i]:start[i+1]] are the own types that Types[i] refers to.
	start := make([]int32, len(s.Types)+1)
	n := 0
	count := func(p *uint32) {
		if r := TypeID(*p); r >= first && r < next {
			n++
		}
	}
	for i := range s.Types {
		s.Types[i].VisitTypeIDs(count)
	}
	refs := make([]TypeID, 0, n)
	add := func(p *uint32) {
		if r := TypeID(*p); r >= first && r < next {
			refs = append(refs, r)
		}
	}
	for i := range s.Types {
		s.Types[i].VisitTypeIDs(add)
		start[i+1] = int32(len(refs))
	}
	color := make([]uint8, len(s.Types))
	var stack []frame
	byValue := func(k Kind) bool { return k != KindPtr && k != KindFuncProto }
	if err := s.checkCycles(start, refs, color, &stack, byValue, "by value"); err != nil {
		return err
	}
	clear(color)
	byReference := func(k Kind) bool { return k != KindStruct && k != KindUnion }
	return s.checkCycles(start, refs, color, &stack, byReference, "through reference types alone")
}

// frame is a type on checkCycles's stack.
type frame struct {
	id  TypeID
	pos int32 // the next of its edges to follow
}

// checkCycles is a depth-first search over the edges start and refs hold
// (see checkLoops), leaving those of the types follows rejects out. color
// is all white; stack is reused.
func (s *Spec) checkCycles(start []int32, refs []TypeID, color []uint8, stack *[]frame, follows func(Kind) bool, how string) error {
	const (
		white = iota
		grey
		black
	)
	first := s.FirstID()
	// end returns where type i's edges end: where they start when the
	// search does not follow them.
	end := func(i TypeID) int32 {
		if follows(s.Types[i].Kind()) {
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
