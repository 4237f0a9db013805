// Package btf decodes and encodes raw BTF blobs, base and split, exactly as
// they are stored: every record keeps its words, so decoding then encoding an
// unchanged blob gives the same bytes.
//
// The format is the kernel's (Documentation/bpf/btf.rst); the rules a blob
// must obey to load are summarised in FACTS.md section 5 and checked by
// Validate. A Spec is a plain value: callers build a new Spec to change one.
package btf
