// Package rules decides which FUNCs of a BTF spec go, and why. Every
// decision carries a rule name and one reason string, decided in one place:
// each rule is a file holding its condition and its reason (docs/rules.md,
// docs/facts.md §1-5). It only decides: it reads no file, decodes no DWARF
// (its Input holds what the scanner read) and rewrites nothing.
//
//   - drop (rules.go): the name matches --drop.
//
//   - ambiguous (ambiguous.go): several ELF functions of that name at
//     different addresses; needs only the symbol table.
//
//   - consistent (consistent.go): definitions of that name (with code, or
//     inlined everywhere) with different prototypes in different units.
//
//   - signature (signature.go): the BTF prototype does not describe the code
//     the kernel attaches to (prototype mismatch, ABI-changing clones,
//     reordered parameters in any instance, unexpected registers, including
//     those shifted by a hidden struct-return pointer).
//
//   - abi (abirule.go): the trampoline would misread an argument
//     (filter/internal/abi).
//
// The default rules remove what pahole 1.32 skips, with the exception
// docs/rules.md gives (packed arguments the modelled trampoline reads
// correctly): where pahole judges more than the code the kernel attaches
// to, so do the rules, and their reasons say so.
//
// match.go ties a BTF FUNC to its DWARF subprograms and ELF symbols;
// types.go compares BTF and DWARF types; layout.go turns DWARF layouts into
// filter/internal/abi's.
//
// Protection (docs/rules.md, docs/facts.md §7) overrides every rule: a FUNC
// named by a .BTF_ids symbol or whose ID a .BTF_ids slot holds, a FUNC tagged
// bpf_kfunc, the _impl twin of either, and a FUNC matching --keep are never
// removed; when a rule fired on one, the decision is reported as protected.
package rules
