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
	idMap   *btf.IDMap
	removed []btf.TypeID // removed by prune, ascending
	merged  int          // merged away by dedup
}

// rewriteTypes removes funcs (and what only they used) from spec, moves it
// onto the base prepared in dbase through baseMap when that is set, and
// deduplicates the result; dbase is the prepared base for split specs (nil:
// prepared for this call). The returned map sends every old ID of spec
// (base IDs through baseMap) to its final ID: a merged type to its
// representative's.
func rewriteTypes(spec *btf.Spec, funcs []btf.TypeID, referenced map[btf.TypeID]bool, dbase *dedup.Base, baseMap *btf.IDMap) (*typeRewrite, error) {
	removed, err := prune.Mark(spec, funcs, referenced)
	if err != nil {
		return nil, err
	}
	dd, err := dedup.Dedup(spec, dedup.Options{Base: dbase, BaseMap: baseMap, Remove: removed})
	if err != nil {
		return nil, err
	}
	return &typeRewrite{spec: dd.Spec, idMap: dd.Map, removed: removed, merged: dd.Merged}, nil
}
