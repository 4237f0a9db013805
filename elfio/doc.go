// Package elfio is the container layer of btffilter: it opens a vmlinux, a
// kernel module (plain, signed, or compressed as .ko.gz/.ko.xz/.ko.zst) or a
// raw BTF blob, gives access to its sections and symbols, and writes a
// rewritten image back without disturbing any byte it did not mean to change.
//
// The rules it follows are in /work/shared/FACTS.md: section 5 (an SHF_ALLOC
// .BTF of a linked vmlinux keeps its exact size), section 6 (.BTF_ids symbols)
// and section 7 (module signatures and kbuild's compression settings). The ELF
// format itself is the System V gABI, read through Go's debug/elf.
package elfio
