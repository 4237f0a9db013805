// Package rules decides which FUNCs of a BTF spec go, and why. Every
// decision carries a rule name and one reason string, decided in one place.
//
// Protection (DESIGN.md "Rules", FACTS.md 6) overrides every rule: a FUNC
// named by a .BTF_ids symbol or whose ID a .BTF_ids slot holds, a FUNC tagged
// bpf_kfunc, the _impl twin of either, and a FUNC matching --keep are never
// removed; when a rule fired on one, the decision is reported as protected.
package rules
