package dedup

import (
	"encoding/binary"
	"fmt"

	"github.com/btffilter/btffilter/filter/btf"
)

// Inputs with real duplicates, as BTF tools meet them: blobs glued together
// and split BTF taken out of its base. The tests and the benchmark build
// their inputs with these.

// Concat returns one base spec holding the types of specs one after the
// other, as a linker concatenating .BTF sections would: the second spec's
// type IDs are shifted past the first's, and its string offsets past the
// first's string section. Every spec must be base BTF of one byte order.
func Concat(specs ...*btf.Spec) (*btf.Spec, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("dedup: nothing to concatenate")
	}
	out := &btf.Spec{Order: specs[0].Order, Header: btf.Header{Version: 1, HdrLen: btf.HeaderLen}}
	for k, s := range specs {
		if s.Base != nil {
			return nil, fmt.Errorf("dedup: spec %d of the concatenation is split BTF", k)
		}
		if s.Order != out.Order {
			return nil, fmt.Errorf("dedup: spec %d of the concatenation is %v, spec 0 is %v", k, s.Order, out.Order)
		}
		idShift := uint32(len(out.Types))
		strShift := uint32(len(out.Strings))
		for i := range s.Types {
			t := s.Types[i].Clone()
			t.VisitTypeIDs(func(p *uint32) {
				if *p != 0 {
					*p += idShift
				}
			})
			t.VisitStrings(func(p *uint32) {
				if *p != 0 {
					*p += strShift
				}
			})
			out.Types = append(out.Types, t)
		}
		out.Strings = append(out.Strings, s.Strings...)
	}
	return out, nil
}

// Standalone turns split spec s into base BTF: the base types s uses,
// directly or through other base types, in their base order, followed by
// s's own types; IDs are renumbered densely and the string table holds only
// the strings these types use.
func Standalone(s *btf.Spec) (*btf.Spec, error) {
	if s.Base == nil {
		return nil, fmt.Errorf("dedup: Standalone needs split BTF")
	}
	first := s.FirstID()
	need := make([]bool, first)
	var stack []btf.TypeID
	var err error
	visit := func(p *uint32) {
		id := btf.TypeID(*p)
		if id == 0 || id >= first || need[id] {
			return
		}
		need[id] = true
		stack = append(stack, id)
	}
	for i := range s.Types {
		t := s.Types[i]
		t.VisitTypeIDs(visit)
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		t, e := s.Base.Type(id)
		if e != nil {
			return nil, fmt.Errorf("dedup: %w", e)
		}
		c := *t // VisitTypeIDs only reads here
		c.VisitTypeIDs(visit)
	}
	newID := make([]uint32, first)
	var types []btf.Type
	for id := btf.TypeID(1); id < first; id++ {
		if need[id] {
			t, _ := s.Base.Type(id)
			types = append(types, t.Clone())
			newID[id] = uint32(len(types))
		}
	}
	shift := uint32(len(types)) + 1 - uint32(first)
	for i := range s.Types {
		types = append(types, s.Types[i].Clone())
	}
	strs := btf.NewStringTable(len(types), 0)
	strs.Add(nil)
	for i := range types {
		t := &types[i]
		t.VisitTypeIDs(func(p *uint32) {
			switch {
			case *p == 0:
			case *p < uint32(first):
				*p = newID[*p]
			default:
				*p += shift
			}
		})
		t.VisitStrings(func(p *uint32) {
			str, e := s.StrBytes(*p)
			if e != nil {
				if err == nil {
					err = fmt.Errorf("dedup: type %d of the standalone spec: %w", i+1, e)
				}
				return
			}
			*p = strs.Add(str)
		})
	}
	if err != nil {
		return nil, err
	}
	order := s.Order
	if order == nil {
		order = binary.LittleEndian
	}
	return &btf.Spec{Order: order, Header: btf.Header{Version: 1, HdrLen: btf.HeaderLen}, Types: types, Strings: strs.Bytes()}, nil
}
