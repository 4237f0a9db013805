// Package elfio is the container layer of btffilter: it opens a vmlinux, a
// kernel module (plain, signed, or compressed as .ko.gz/.ko.xz/.ko.zst) or a
// raw BTF blob, answers the questions its ELF answers (sections, symbols,
// whether it is a module, its kernel release and architecture), and writes a
// rewritten image back without disturbing any byte it did not mean to
// change, replacing the file atomically. It knows the containers, not what
// is in them: it does not decode BTF or DWARF.
//
// The kernel facts it follows are in docs/facts.md: §6 (an SHF_ALLOC .BTF of
// a linked vmlinux keeps its exact size), §7 (.BTF_ids symbols) and §8
// (module signatures and kbuild's compression settings). The ELF format
// itself is the System V gABI, read through Go's debug/elf. Every error
// names the file (Error).
package elfio
