package prune

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/btffilter/btffilter/filter/btf"
)

// Options adjust a removal.
type Options struct {
	// Referenced lists IDs of the spec that something outside it (split
	// BTF built on it, .BTF_ids) refers to: a FUNC_PROTO listed here is
	// kept even when no kept type refers to it.
	Referenced map[btf.TypeID]bool
	// NewBase, when set, is the base the rewritten split spec extends
	// instead of its current one, and BaseMap maps the IDs of the old base
	// to NewBase's. NewBaseStrings indexes NewBase's strings by content
	// (see StringIndex); it is built when nil.
	NewBase        *btf.Spec
	BaseMap        *IDMap
	NewBaseStrings map[string]uint32
}

// Result is a rewritten spec.
type Result struct {
	Spec    *btf.Spec
	Map     *IDMap       // old ID -> new ID, base IDs through Options.BaseMap
	Removed []btf.TypeID // every removed type, ascending: the FUNCs, their DECL_TAGs, orphaned FUNC_PROTOs
}

// Remove returns s without the FUNCs funcs (IDs of s itself, not of its
// base) and what only they used. s is not modified.
func Remove(s *btf.Spec, funcs []btf.TypeID, opts Options) (*Result, error) {
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
			return nil, fmt.Errorf("prune: type [%d] is not a FUNC of this BTF", id)
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
		if refs[j] == 0 && !opts.Referenced[first+btf.TypeID(j)] {
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
	return rebuild(s, removed, opts)
}

// Rebase moves split spec s onto opts.NewBase without removing anything.
func Rebase(s *btf.Spec, opts Options) (*Result, error) {
	return rebuild(s, make([]bool, len(s.Types)), opts)
}

func rebuild(s *btf.Spec, removed []bool, opts Options) (*Result, error) {
	first := s.FirstID()
	base := s.Base
	newFirst := first
	if opts.NewBase != nil {
		if s.Base == nil {
			return nil, fmt.Errorf("prune: a new base was given for base BTF")
		}
		base = opts.NewBase
		newFirst = opts.NewBase.NextID()
	}
	m := &IDMap{first: first, to: make([]btf.TypeID, len(s.Types)), Base: opts.BaseMap}
	res := &Result{Map: m}
	next := newFirst
	for i := range s.Types {
		if removed[i] {
			res.Removed = append(res.Removed, first+btf.TypeID(i))
			continue
		}
		m.to[i] = next
		next++
	}
	types := make([]btf.Type, 0, int(next-newFirst))
	for i := range s.Types {
		if removed[i] {
			continue
		}
		t := s.Types[i].Clone()
		var err error
		t.VisitTypeIDs(func(p *uint32) {
			if err != nil {
				return
			}
			n, ok := m.Lookup(btf.TypeID(*p))
			if !ok {
				err = fmt.Errorf("prune: kept type [%d] refers to removed type [%d]", first+btf.TypeID(i), *p)
			}
			*p = uint32(n)
		})
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	out := &btf.Spec{
		Order:  s.Order,
		Header: s.Header,
		Types:  types,
		Layout: s.Layout,
		Base:   base,
	}
	var err error
	if out.Strings, err = rewriteStrings(s, out, opts); err != nil {
		return nil, err
	}
	res.Spec = out
	return res, nil
}

// rewriteStrings rebuilds the string section of out (whose types still hold
// the string offsets of s) and rewrites those offsets. Own strings keep their
// order; a string is kept when any kept offset points into it, so offsets into
// the middle of a string (shared suffixes) stay valid.
func rewriteStrings(s, out *btf.Spec, opts Options) ([]byte, error) {
	oldBase := s.StrBase()
	var offs []uint32
	for i := range out.Types {
		out.Types[i].VisitStrings(func(p *uint32) {
			if *p >= oldBase {
				offs = append(offs, *p-oldBase)
			}
		})
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	old := s.Strings
	var buf bytes.Buffer
	newPos := map[uint32]uint32{} // old relative offset -> new relative offset
	if len(old) > 0 && old[0] == 0 {
		buf.WriteByte(0)
		newPos[0] = 0
	}
	for k := 0; k < len(offs); {
		off := offs[k]
		if _, done := newPos[off]; done {
			k++
			continue
		}
		if int(off) >= len(old) {
			return nil, fmt.Errorf("prune: string offset %d is past the string section", oldBase+off)
		}
		start := bytes.LastIndexByte(old[:off], 0) + 1
		end := bytes.IndexByte(old[off:], 0)
		if end < 0 {
			return nil, fmt.Errorf("prune: string at offset %d is not NUL-terminated", oldBase+off)
		}
		end += int(off)
		at := uint32(buf.Len())
		buf.Write(old[start : end+1])
		for ; k < len(offs) && int(offs[k]) <= end; k++ {
			newPos[offs[k]] = at + offs[k] - uint32(start)
		}
	}
	newBase := out.StrBase()
	var baseIdx map[string]uint32
	if opts.NewBase != nil {
		baseIdx = opts.NewBaseStrings
		if baseIdx == nil {
			baseIdx = StringIndex(opts.NewBase)
		}
	}
	copied := map[string]uint32{} // base strings the new base lacks
	var err error
	for i := range out.Types {
		out.Types[i].VisitStrings(func(p *uint32) {
			if err != nil {
				return
			}
			if *p >= oldBase {
				*p = newBase + newPos[*p-oldBase]
				return
			}
			if opts.NewBase == nil {
				return // the base is unchanged
			}
			str, e := s.Base.Str(*p)
			if e != nil {
				err = fmt.Errorf("prune: %w", e)
				return
			}
			if n, ok := baseIdx[str]; ok {
				*p = n
				return
			}
			n, ok := copied[str]
			if !ok {
				if buf.Len() == 0 {
					buf.WriteByte(0)
				}
				n = newBase + uint32(buf.Len())
				buf.WriteString(str)
				buf.WriteByte(0)
				copied[str] = n
			}
			*p = n
		})
	}
	return buf.Bytes(), err
}

// StringIndex maps every string of s and its bases to its first offset.
func StringIndex(s *btf.Spec) map[string]uint32 {
	idx := map[string]uint32{}
	for sp := s; sp != nil; sp = sp.Base {
		base := sp.StrBase()
		str := sp.Strings
		for i := 0; i < len(str); {
			n := bytes.IndexByte(str[i:], 0)
			if n < 0 {
				break
			}
			k := string(str[i : i+n])
			if o, ok := idx[k]; !ok || base+uint32(i) < o {
				idx[k] = base + uint32(i)
			}
			i += n + 1
		}
	}
	return idx
}
