// Package dwarf is a fast, lean reader of the DWARF that the filter's rules
// need: every subprogram, its formal parameters with their location at
// function entry, and the real layout of each parameter and return type
// (docs/facts.md §1-5; DWARF 5 standard, dwarfstd.org). It is the one
// package that decodes DWARF; it knows no BTF and no rule.
//
// # Contract
//
// Scan (or Open, which maps the file read-only) returns a Data holding one
// Func per DW_TAG_subprogram DIE, in .debug_info order and sorted by DIE
// offset: definitions, declarations (Declaration), abstract inline roots
// (Inline != 0) and concrete out-of-line instances or clones (Origin != 0).
// For each:
//
//   - Name, LinkageName, External, Prototyped, CallingConvention and Return
//     are resolved through DW_AT_abstract_origin and DW_AT_specification:
//     the DIE's own attribute wins, then its origin's, up to 8 links.
//     Declaration, Inline and LowPC are the DIE's own. LowPC is DW_AT_low_pc,
//     or the first non-empty range of DW_AT_ranges (gcc's hot/cold split).
//     CallingConvention CCNocall marks clang clones whose ABI changed.
//   - Params are the DW_TAG_formal_parameter children in DIE order (Name,
//     Type and Artificial resolved through the parameter's abstract origin);
//     a concrete instance may list fewer parameters than its origin, which
//     Data.FuncAt finds. Variadic is set by DW_TAG_unspecified_parameters.
//   - Param.Loc is the parameter's location at the entry address: an
//     expression location as is, or the location-list entry covering LowPC
//     (DWARF 4 .debug_loc, DWARF 5 .debug_loclists through sec_offset or
//     loclistx). Registers are DWARF numbers; LocFrame offsets are relative
//     to Func.FrameBase.
//   - Types are peeled of typedefs (the outermost name kept in Typedef),
//     const, volatile, restrict and atomic; their size, alignment, members
//     and inferred packing are described on Type. Pointers are not followed
//     (Target holds the pointee's DIE offset). Types are cached per unit by
//     DIE offset and shared: callers must not modify them.
//
// Packing is inferred from layout (DWARF has no attribute for it): a
// packed aggregate whose members all sit at multiples of their alignment
// and whose size is a multiple of the largest is indistinguishable from an
// unpacked one and is reported unpacked; its layout, and so its calling
// convention, is the same, except for its alignment when nested.
//
// # Inputs
//
// DWARF 2 to 5 in 32- and 64-bit formats, from gcc and clang: all standard
// forms (strx*, addrx*, rnglistx, loclistx, data16, implicit_const,
// ref_addr, indirect) and the sections .debug_str_offsets, .debug_addr,
// .debug_rnglists, .debug_loclists, .debug_line_str, .debug_ranges and
// .debug_loc. Relocatable objects have their .rela/.rel relocations applied
// (x86-64, aarch64, riscv64 including ADD/SUB/SET pairs, s390x, ppc64,
// loongarch64 including ADD/SUB pairs and ULEB128 differences, i386, arm;
// sections.go names the sources); every relocation is checked before the
// scan, and an unknown type is an error naming it. Compressed sections
// (SHF_COMPRESSED) are decompressed by debug/elf. Linked files are read in
// place from the caller's image, without a copy: their relocations
// (vmlinux keeps them with --emit-relocs) are already applied.
//
// # Memory
//
// A relocatable object read from an image (a module) is relocated without
// being held (relocate.go): the relocation and symbol tables are read in
// place, .debug_info is relocated one unit at a time, when a worker first
// needs the unit, into an anonymous mapping of the section's size, and the
// unit's pages are given back when no worker needs it any more; a unit's
// relocations are found through a sample of the table's offsets (the
// tables are in offset order; one that is not is sorted through an index
// of 4 bytes an entry). Sections no relocation targets are read in place;
// the others (.debug_loclists, .debug_rnglists, .debug_addr,
// .debug_str_offsets, .debug_loc, .debug_ranges) are copied and relocated
// whole. The scan of a module then holds, besides what it decodes, at most
// the units its workers read at once (each worker's unit, the units its
// references lead into, and the last 4 units the readers after the scan
// asked about), the relocated copies of the indexed sections, and a 64 KiB
// window of the tables per worker; the image's pages are let go as they
// are passed (Options.Evict).
//
// Not followed, counted in Data.Unsupported: type units (DW_FORM_ref_sig8),
// supplementary and alternate files (DW_FORM_ref_sup*, GNU_ref_alt),
// split DWARF (.dwo). Such types have Kind KindUnsupported.
//
// # Speed
//
// Units are scanned in parallel (Options.Workers), each worker parsing the
// abbreviation table of the unit it takes into a table it reuses, so that
// memory grows with the workers, not the units. Each DIE the rules do not
// need is skipped by the sizes of its attribute forms, precomputed per
// abbreviation, without decoding; only subprograms (those Options.Want
// accepts), their parameters and the types those reach are decoded. A
// caller whose image is a file mapping has the pages of each scanned unit
// dropped (Options.Evict), so a vmlinux's DWARF is never resident at once. Errors name the section, the unit
// offset and the DIE offset; no input makes the scanner panic.
//
// FindDebugInfo locates separate debug information (a -dbg package's
// tree) for a stripped file, by build-id or by path.
package dwarf
