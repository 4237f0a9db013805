// Package prune decides which types go with a set of removed FUNCs: the
// FUNCs themselves, the DECL_TAGs that annotate them, and the FUNC_PROTOs
// nothing else refers to any more. It only marks; it never rewrites a spec.
// Removing the marked types, renumbering the kept ones densely in their
// original order (which keeps sorted vmlinux BTF sorted, docs/facts.md) and
// rebuilding the string table is one step of deduplication's compaction, so
// a rewrite has one ID map (filter/btf.IDMap).
package prune
