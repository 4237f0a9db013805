package btf

import "fmt"

// valueRefs calls fn with (a pointer to) every type t needs by value: a modifier's or
// typedef's target, an array's element and index types, a member's type, a
// variable's type, a section's variables, a tag's target, a function's
// prototype. Pointers and function prototypes only refer: they end a chain.
func valueRefs(t *Type, fn func(*uint32)) {
	switch t.Kind() {
	case KindPtr, KindFuncProto:
		return
	}
	t.VisitTypeIDs(fn)
}

// referenceRefs calls fn with (a pointer to) every type t refers to when t is not a
// struct or union: a chain through structs and unions may come back (a list
// node points to its own struct), one made only of pointers, modifiers,
// typedefs, arrays and prototypes may not.
func referenceRefs(t *Type, fn func(*uint32)) {
	switch t.Kind() {
	case KindStruct, KindUnion:
		return
	}
	t.VisitTypeIDs(fn)
}

// checkLoops reports a chain of references that comes back to where it
// started and that the kernel refuses ("Loop detected"), and libbpf's dedup
// with it: by value (a typedef of itself, a struct that contains itself), or
// through reference types alone (a pointer to a const of itself). Base types
// cannot refer to split ones, so only the spec's own types are walked.
func (s *Spec) checkLoops() error {
	if err := s.checkCycles(valueRefs, "by value"); err != nil {
		return err
	}
	return s.checkCycles(referenceRefs, "through reference types alone")
}

// checkCycles is a depth-first search over the edges among the spec's own
// types. The edges are gathered once into one array (each type's targets
// one after another), so that the search allocates nothing per type.
func (s *Spec) checkCycles(edges func(*Type, func(*uint32)), how string) error {
	first, next := s.FirstID(), s.NextID()
	// refs[start[i]:start[i+1]] are the own types that Types[i] refers to.
	start := make([]int32, len(s.Types)+1)
	var refs []TypeID
	add := func(p *uint32) {
		if r := TypeID(*p); r >= first && r < next {
			refs = append(refs, r)
		}
	}
	for i := range s.Types {
		edges(&s.Types[i], add)
		start[i+1] = int32(len(refs))
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(s.Types))
	type frame struct {
		id  TypeID
		pos int32 // the next of its edges to follow
	}
	var stack []frame
	for i := range s.Types {
		if color[i] != white {
			continue
		}
		color[i] = grey
		stack = append(stack[:0], frame{first + TypeID(i), start[i]})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			ti := top.id - first
			if top.pos == start[ti+1] {
				color[ti] = black
				stack = stack[:len(stack)-1]
				continue
			}
			to := refs[top.pos]
			top.pos++
			switch color[to-first] {
			case grey:
				return typeError(to, s.Types[to-first].Kind(), -1, fmt.Errorf("refers to itself %s through type [%d] (loop)", how, top.id))
			case white:
				color[to-first] = grey
				stack = append(stack, frame{to, start[to-first]})
			}
		}
	}
	return nil
}
