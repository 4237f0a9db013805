// Package filter runs the pipeline of DESIGN.md over a set of files: open
// (elfio), decode (btf), decide (rules), rewrite (prune, btfids), re-check
// (check), write back (elfio). It owns the order of a run: base BTF files
// first, then split BTF (modules) against the rewritten base, so a vmlinux
// and its modules given together stay consistent.
package filter
