// Package filter makes kernel BTF truthful: it removes the FUNCs whose
// signature BTF cannot describe, deduplicates what is left and writes the
// result back. It is the pipeline, and the library API of the project.
//
// Blob filters one BTF blob in memory (raw base BTF, or split BTF on a
// Base) and returns the new blob, the map from old type IDs to new ones and
// every decision with its reason. Run does the same for files (a vmlinux,
// modules, raw blobs) and writes them back; both go through the same
// stages, one file each, in the order data flows (docs/architecture.md):
//
//	load.go     load: open, classify, decode on the right base, .BTF_ids,
//	            kernel release, the DWARF source (elfio answers ELF questions)
//	judge.go    judge: the rules over BTF, symbols and DWARF (internal/rules)
//	rewrite.go  rewrite: removal and deduplication as one ID map, .BTF_ids
//	verify.go   verify: every output check, on the encoded bytes
//	commit.go   commit: signature policy, section rewrite, read-back,
//	            recompression, atomic replace
//	blob.go     Blob: judge, rewrite, verify on one blob
//	run.go      Run: bases before their modules, workers, reports
//
// No stage reaches back: each takes what the one before it produced. The
// rooms the stages use live under internal/ and are not meant for other
// programs; filter/btf (the codec) and elfio (the containers) are.
//
// Memory is the process's: while Blob or Run checks an output of 1 MiB or
// more, the garbage collector's target is lowered to half of what it was
// (runtime/debug.SetGCPercent; left alone when the collector is off);
// while Blob or Run decodes and validates an input of 1 MiB or more, and
// while Run rewrites and encodes a large input it no longer needs, until
// that input's garbage is collected at once (runtime.GC), the collector is
// off (a soft memory limit still holds); what the first of these found is
// restored when the last one ends. A program that tunes its own collector
// should know this.
package filter
