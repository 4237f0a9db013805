package filter

import (
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/dedup"
	"github.com/btffilter/btffilter/filter/internal/prune"
)

// typeRewrite is the type-level rewrite of one spec: removal, then
// deduplication, with one map from the spec's old IDs to the final ones.
type typeRewrite struct {
	spec    *btf.Spec
	idMap   *prune.IDMap
	removed []btf.TypeID // removed by prune, ascending
	merged  int          // merged away by dedup
}

// rewriteTypes removes funcs (and what only they used) from spec, moves it
// onto popts.NewBase when set, and deduplicates the result; dbase is the
// prepared base for split specs (nil: prepared for this call). The returned
// map sends every old ID of spec (base IDs through popts.BaseMap) to its
// final ID: a merged type to its representative's.
func rewriteTypes(spec *btf.Spec, funcs []btf.TypeID, popts prune.Options, dbase *dedup.Base) (*typeRewrite, error) {
	pr, err := prune.Remove(spec, funcs, popts)
	if err != nil {
		return nil, err
	}
	// pr.Spec is prune's private copy: dedup may rewrite it in place.
	dd, err := dedup.Dedup(pr.Spec, dedup.Options{Base: dbase, InPlace: true})
	if err != nil {
		return nil, err
	}
	first := spec.FirstID()
	to := make([]btf.TypeID, len(spec.Types))
	for i := range to {
		mid, ok := pr.Map.Lookup(first + btf.TypeID(i))
		if !ok {
			continue
		}
		if to[i], ok = dd.Map.Lookup(mid); !ok {
			to[i] = 0
		}
	}
	return &typeRewrite{
		spec:    dd.Spec,
		idMap:   prune.NewIDMap(first, to, popts.BaseMap),
		removed: pr.Removed,
		merged:  dd.Merged,
	}, nil
}
