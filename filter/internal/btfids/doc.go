// Package btfids reads the kernel's .BTF_ids section and rewrites the BTF
// type IDs stored in it after a renumbering.
//
// The section is made by the macros of include/linux/btf_ids.h and filled by
// tools/bpf/resolve_btfids; its layout and the remapping rules are in
// docs/facts.md §7. The package works on the section's bytes plus the ELF
// symbols that lie in it; finding those in a file is the caller's job, and
// what the IDs mean (BTF) is not its business.
//
// Layout, as the macros emit it (every unit is a 4-byte word in the byte
// order of the ELF file):
//
//	BTF_ID(kind, name)       __BTF_ID__<kind>__<name>__<N>: one ID word
//	BTF_ID_UNUSED            one zero word, no symbol
//	BTF_ID_LIST(label)       only a label, no data of its own
//	BTF_SET_START(name)      __BTF_ID__set__<name>: {u32 cnt; u32 ids[cnt]}
//	BTF_SET8_START(name)     __BTF_ID__set8__<name>:
//	BTF_KFUNCS_START(name)     {u32 cnt; u32 flags; {u32 id; u32 flags} pairs[cnt]}
//	BTF_ID_FLAGS(kind, name, f) an ID word with its own symbol, then the word f
//
// resolve_btfids writes each symbol's ID, writes cnt from the set symbol's
// size, and sorts every set by id (set8 pairs move with their flags) because
// the kernel binary-searches them. After that sort, the entry symbols of a
// set no longer name the IDs at their offsets (in the Debian 6.1 vmlinux,
// __BTF_ID__func__cubictcp_init__N holds the ID of cubictcp_acked), and a
// set may hold BTF_ID_UNUSED zeros (6.1's btf_id_deny), which sort first.
// So set entries are found through cnt and belong to their set. A set8 header's flags word is 0 on older
// kernels (6.1 emits ".zero 8") and BTF_SET8_KFUNCS (1) for kfunc sets on
// newer ones; this package never interprets or changes it.
package btfids
