package filter

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/btfids"
	"github.com/btffilter/btffilter/filter/internal/dedup"
	"github.com/btffilter/btffilter/filter/internal/prune"
)

// The rewrite stage: the FUNCs the judge removed, and what only they used,
// go (prune marks them); deduplication then drops them, merges duplicates,
// moves split BTF onto its rewritten base and renumbers what is left in its
// order, all in one step, so one ID map (btf.IDMap) says where every old
// type went. .BTF_ids is remapped through that map.

// rewritten is a spec after the rewrite stage.
type rewritten struct {
	spec    *btf.Spec
	idMap   *btf.IDMap
	removed []btf.TypeID // the types removed, ascending: FUNCs, their DECL_TAGs, orphaned FUNC_PROTOs
	merged  int          // types merged away by dedup
	adopted int          // old base types taken into split BTF
}

// rewrite removes funcs from spec. base is what spec extends (nil for base
// BTF); when it was rewritten, spec moves onto the new base. referenced
// lists the IDs something outside the spec holds (.BTF_ids), whose
// FUNC_PROTOs stay. padTo, when not 0, is the exact size the encoded result
// must have: the string section is padded with NULs to it. consume says
// that spec is not used afterwards: its types become the result's,
// rewritten where they are (dedup.Options.InPlace), instead of a copy.
// validate, when not nil, is the load stage's validation of spec, left to
// run beside the deduplication's string pass (dedup.Options.Beside); its
// error is the rewrite's.
func rewrite(spec *btf.Spec, funcs []btf.TypeID, base *Base, referenced map[btf.TypeID]bool, padTo int, consume bool, validate func() error) (*rewritten, error) {
	if validate != nil && len(funcs) > 0 {
		// Pruning reads the graph: only a validated one.
		if err := validate(); err != nil {
			return nil, err
		}
		validate = nil
	}
	removed, err := prune.Mark(spec, funcs, referenced)
	if err != nil {
		return nil, err
	}
	opts := dedup.Options{Remove: removed, InPlace: consume, Beside: validate}
	if base != nil {
		if opts.Base, err = base.dedupIndex(); err != nil {
			return nil, fmt.Errorf("base %s: %w", base.describe(), err)
		}
		if base.rewritten() {
			opts.BaseMap = base.idMap
		}
	}
	dd, err := dedup.Dedup(spec, opts)
	if err != nil {
		return nil, err
	}
	if padTo > 0 {
		// The kernel reads vmlinux BTF between linker symbols fixed at
		// link time: keep the exact size, padding the string section.
		n := dd.Spec.EncodedLen()
		if n > padTo {
			return nil, fmt.Errorf("rewritten .BTF (%d bytes) is larger than the allocated section (%d bytes)", n, padTo)
		}
		dd.Spec.Strings = append(dd.Spec.Strings, make([]byte, padTo-n)...)
	}
	return &rewritten{spec: dd.Spec, idMap: dd.Map, removed: removed, merged: dd.Merged, adopted: dd.Adopted}, nil
}

// remapBTFIDs rewrites the .BTF_ids section for the new type IDs of m.
func remapBTFIDs(ids *btfids.Section, m *btf.IDMap) ([]byte, error) {
	return ids.Remap(func(old uint32) (uint32, bool) {
		n, ok := m.Lookup(btf.TypeID(old))
		return uint32(n), ok
	})
}
