// Package prune removes FUNC entries from a BTF spec, together with the
// DECL_TAGs that annotate them and the FUNC_PROTOs nothing refers to any
// more, then renumbers the kept types densely in their original order and
// drops the strings nothing refers to any more.
//
// Keeping the relative order of kept types is what keeps sorted vmlinux BTF
// sorted (FACTS.md 5). Split BTF can be moved onto a new base at the same
// time: base type IDs go through the base's IDMap and base strings are found
// again by content in the new base (or copied into the split string table
// when the new base lost them).
package prune
