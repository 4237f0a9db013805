package btf

import "fmt"

// valueRefs calls fn with every type t needs by value: a modifier's or
// typedef's target, an array's element and index types, a member's type, a
// variable's type, a section's variables, a tag's target, a function's
// prototype. Pointers and function prototypes only refer: they end a chain.
func valueRefs(t *Type, fn func(TypeID)) {
	switch t.Kind() {
	case KindPtr, KindFuncProto:
		return
	}
	t.VisitTypeIDs(func(p *uint32) { fn(TypeID(*p)) })
}

// referenceRefs calls fn with every type t refers to when t is not a
// struct or union: a chain through structs and unions may come back (a list
// node points to its own struct), one made only of pointers, modifiers,
// typedefs, arrays and prototypes may not.
func referenceRefs(t *Type, fn func(TypeID)) {
	switch t.Kind() {
	case KindStruct, KindUnion:
		return
	}
	t.VisitTypeIDs(func(p *uint32) { fn(TypeID(*p)) })
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

func (s *Spec) checkCycles(edges func(*Type, func(TypeID)), how string) error {
	first := s.FirstID()
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(s.Types))
	type frame struct {
		id   TypeID
		refs []TypeID
	}
	var stack []frame
	refsOf := func(id TypeID) []TypeID {
		var out []TypeID
		edges(&s.Types[id-first], func(r TypeID) {
			if r >= first && r < s.NextID() {
				out = append(out, r)
			}
		})
		return out
	}
	for i := range s.Types {
		if color[i] != white {
			continue
		}
		root := first + TypeID(i)
		color[i] = grey
		stack = append(stack[:0], frame{root, refsOf(root)})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if len(top.refs) == 0 {
				color[top.id-first] = black
				stack = stack[:len(stack)-1]
				continue
			}
			next := top.refs[0]
			top.refs = top.refs[1:]
			switch color[next-first] {
			case grey:
				return typeError(next, s.Types[next-first].Kind(), -1, fmt.Errorf("refers to itself %s through type [%d] (loop)", how, top.id))
			case white:
				color[next-first] = grey
				stack = append(stack, frame{next, refsOf(next)})
			}
		}
	}
	return nil
}
