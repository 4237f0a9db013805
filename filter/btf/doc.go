// Package btf decodes and encodes raw BTF blobs, base and split, exactly as
// they are stored: every record keeps its words, so decoding then encoding an
// unchanged blob gives the same bytes. It owns what every rewrite shares: the
// string table (StringTable) and the map from old type IDs to new ones
// (IDMap). It reads no file and knows nothing of ELF, DWARF or the rules.
//
// The format is the kernel's (Documentation/bpf/btf.rst); the rules a blob
// must obey to load are summarised in docs/facts.md §6 and checked by
// Validate. A Spec is a plain value: callers build a new Spec to change one.
package btf
