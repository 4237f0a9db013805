// Package dedup merges duplicate BTF types the way libbpf's btf__dedup does
// (libbpf 1.7, src/btf.c; summarised in docs/facts.md §10), so that BTF
// rewritten by the filter is as compact as the kernel's own tools make it.
// Its compaction is also where the types prune marked are dropped and split
// BTF moves onto a rewritten base, so that one rewrite yields one ID map.
// It works on specs only: no file, no DWARF, no rule.
//
// # The problem
//
// BTF is produced per compilation unit (by pahole from DWARF, or by clang for
// BPF objects) and then glued together. Every unit describes the types it
// uses, so the same struct appears once per unit; and a unit that only saw
// "struct sock;" describes it as a FWD, while another unit has the full
// definition. Merging therefore has to do more than drop byte-identical
// records: two descriptions are the same type when their whole type graphs
// (everything reachable through members, pointers, typedefs) correspond,
// where a FWD may stand for a struct or union of its name, and those graphs
// may have cycles (a list node points to itself).
//
// # The passes
//
// Every type gets a canonical representative; the output keeps exactly the
// types that are their own representative, in their original order, and
// every reference is rewritten to the representative's new ID. A candidate
// table indexes canonical types by a key made of the fields that must be
// equal for two types to merge: the name, the info word, the size, the
// member names and offsets, and (for reference types, once known) the
// referenced IDs.
//
//  1. Strings. Every string a type refers to is looked up by content; equal
//     strings get one offset, unreferenced ones disappear, and from then on
//     two names are equal exactly when their offsets are. Split BTF reuses the
//     base's offset when the base has the string.
//  2. Primitive types: INT, FLOAT and FWD merge with an equal canonical type.
//     An enum with no values (vlen 0) is a forward declaration: it merges into
//     a full ENUM or ENUM64 of the same name, and a canonical forward enum is
//     redirected to a full enum of its name met later.
//  3. STRUCT, UNION and TYPEDEF. For each one still without a representative,
//     every canonical candidate with the same key is tried in turn with a
//     simultaneous depth-first walk of both graphs. The walk records in a
//     hypothetical map which candidate-side type each canonical-side type
//     stands for. Reaching a pair already in the map means a cycle closed
//     consistently; reaching a canonical-side type already mapped to a
//     different type is a contradiction, unless the two candidate-side types
//     are themselves structurally identical (compilers sometimes emit two
//     copies of one array or struct inside a single unit; identity is checked
//     to a depth of 16). A FWD is equivalent to a struct or union of the same
//     name and the matching kind flag. When the walk succeeds, the hypothetical
//     map is committed: FWDs point at the struct they matched, and structs
//     reached from the new one are mapped to their canonical counterparts
//     when those are already final. Otherwise the type is canonical itself.
//  4. Leftover FWDs. A FWD that no walk resolved is pointed at the struct or
//     union of the same name when exactly one canonical one has that name.
//  5. Reference types: PTR, CONST, VOLATILE, RESTRICT, TYPE_TAG, DECL_TAG,
//     ARRAY, FUNC and FUNC_PROTO. Walking bottom-up, each one first has its
//     referenced IDs replaced by their representatives; then it is keyed on
//     all its fields and merges with an exactly equal canonical type. Chains
//     of reference types always end in a type fixed by the earlier passes, so
//     this is a plain recursion; a loop made only of reference types is an
//     error, as it is for the kernel.
//  6. Compaction. The canonical types keep their relative order, so sorted
//     vmlinux BTF stays sorted, and get dense new IDs.
//  7. Remapping. Every reference is replaced by its representative's new ID.
//
// VAR and DATASEC are never merged: each describes one variable or section.
//
// # Removal and rebasing
//
// Options.Remove lists types the result leaves out: they take part in no
// pass (never canonical, never a candidate), no kept type may refer to one,
// and compaction gives them no new ID. Options.BaseMap moves a split spec
// onto a rewritten base: before the passes, references to the old base go
// through the map and own IDs shift to follow the new base's last ID, and
// the string pass finds base names again by content in the new base
// (carrying a name the new base lost in the split string table). The
// passes then see only the result's numbering.
//
// # Memory
//
// The input spec is not modified. A run makes one private copy of its types
// (the records and one slab of their extra words); the passes rewrite that
// copy, and compaction moves the kept records to its front, where they become
// the output, so no other per-type copy is made. With Options.InPlace even
// that copy is saved: the input's own records are rewritten, as libbpf's
// btf__dedup rewrites its btf object, and so are its extra words when their
// addresses show that no two types share them (as in decoded specs); the
// input is consumed, and its old string section goes once the new one is
// built. Beside the types a run holds, per type ID, a representative and a
// hypothetical-map slot (four bytes each); the candidate table, a chained
// hash table on flat arrays (16 bytes per canonical type, 8 per bucket, sized
// up front); the new string table; and a table of 4-byte offsets into it that
// finds a string by content. Compaction stores the new IDs in the
// hypothetical map, whose walks are over, and turns the representatives into
// the returned ID map. Nothing is allocated per type.
//
// # Split BTF
//
// For split BTF the base is immutable: its types are all canonical and are
// put in the candidate table first, so split types equal to base types map
// onto them, and the base keeps every type and ID. Two consequences follow
// libbpf: a walk that would need to resolve a base FWD into a split struct
// counts as a mismatch for the struct being merged, though the base FWD is
// still read as that struct from the split side; and a canonical base
// forward enum may likewise be read as a full split enum. Unlike libbpf 1.7,
// base TYPEDEFs are keyed the same way as split ones, so a split TYPEDEF
// equal to a base TYPEDEF maps onto it (libbpf 1.7 keys base typedefs with
// the referenced ID included, and misses them).
//
// # Faithfulness to libbpf
//
// Among several canonical candidates with the same key, the oldest (lowest
// ID) is tried first. Where libbpf compares two arrays for structural
// identity it reads both arrays' element and index types from the first one,
// so identical arrays come down to the same name, info, size word and
// element count; this package does the same, so that its output stays equal
// to libbpf's.
package dedup
