package prune

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/btf"
)

// Mark returns the types of s that go when the FUNCs funcs (IDs of s itself,
// not of its base) are removed, in ascending order: the FUNCs, the
// DECL_TAGs that annotate a removed type, and the FUNC_PROTOs that only
// removed FUNCs used. A FUNC_PROTO listed in referenced (something outside
// the spec refers to it: split BTF built on it, .BTF_ids) stays. s is not
// modified; removing the marked types and renumbering the rest is
// deduplication's compaction (filter/internal/dedup, Options.Remove).
func Mark(s *btf.Spec, funcs []btf.TypeID, referenced map[btf.TypeID]bool) ([]btf.TypeID, error) {
	if len(funcs) == 0 {
		// Nothing removed makes nothing unused: the walk over every
		// type below would find no candidate.
		return nil, nil
	}
	first := s.FirstID()
	removed := make([]bool, len(s.Types))
	own := func(id btf.TypeID) (int, bool) {
		if id < first || id >= s.NextID() {
			return 0, false
		}
		return int(id - first), true
	}
	for _, id := range funcs {
		i, ok := own(id)
		if !ok || s.Types[i].Kind() != btf.KindFunc {
			return nil, fmt.Errorf("type [%d] is not a FUNC of this BTF", id)
		}
		removed[i] = true
	}
	// A FUNC_PROTO goes only if a removed FUNC used it and no kept type or
	// outside reference does.
	candidate := map[int]bool{}
	for _, id := range funcs {
		if i, ok := own(btf.TypeID(s.Types[id-first].SizeType)); ok {
			candidate[i] = true
		}
	}
	refs := make(map[int]int, len(candidate))
	for i := range s.Types {
		if removed[i] {
			continue
		}
		t := &s.Types[i]
		t.VisitTypeIDs(func(p *uint32) {
			if j, ok := own(btf.TypeID(*p)); ok && candidate[j] {
				refs[j]++
			}
		})
	}
	for j := range candidate {
		if refs[j] == 0 && !referenced[first+btf.TypeID(j)] {
			removed[j] = true
		}
	}
	// DECL_TAGs follow their target.
	for i := range s.Types {
		t := &s.Types[i]
		if t.Kind() != btf.KindDeclTag {
			continue
		}
		if j, ok := own(btf.TypeID(t.SizeType)); ok && removed[j] {
			removed[i] = true
		}
	}
	var out []btf.TypeID
	for i, r := range removed {
		if r {
			out = append(out, first+btf.TypeID(i))
		}
	}
	return out, nil
}
