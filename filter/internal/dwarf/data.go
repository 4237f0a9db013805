package dwarf

import (
	"encoding/binary"
	"sort"
)

// Data is the result of a scan: every compilation unit and every subprogram
// DIE of one ELF file, in .debug_info order. It is read-only after Scan
// returns and safe for concurrent use.
type Data struct {
	Machine   uint16           // the ELF e_machine
	ByteOrder binary.ByteOrder // the ELF byte order
	AddrSize  int              // 4 or 8
	Units     []Unit
	// Funcs holds every DW_TAG_subprogram DIE (definitions, declarations,
	// abstract inline roots and concrete instances), sorted by Offset.
	Funcs []Func
	// Unsupported counts the places where the input used a feature the
	// scanner does not follow (type units through DW_FORM_ref_sig8,
	// supplementary or alternate object files, split DWARF); the affected
	// types have Kind KindUnsupported and the affected names are empty.
	Unsupported int

	// sec is what Scan read, and namer TypeName's reader over it.
	sec   *sections
	namer *namer
}

// Unit is one compilation (or partial) unit.
type Unit struct {
	Offset   uint64 // offset of the unit header in .debug_info
	Version  int    // 2..5
	Name     string // DW_AT_name of the unit DIE
	Producer string // DW_AT_producer (e.g. "GNU C11 12.2.0 ...", "clang version 14...")
	LowPC    uint64 // DW_AT_low_pc of the unit DIE (the base address)
}

// Func is one DW_TAG_subprogram DIE. Name, LinkageName, External, Return,
// CallingConvention and Prototyped are resolved through DW_AT_abstract_origin
// and DW_AT_specification (the DIE's own attribute wins); Declaration, Inline,
// LowPC and the parameter locations are the DIE's own.
type Func struct {
	Offset      uint64 // DIE offset in .debug_info
	Unit        int    // index in Data.Units
	Name        string
	LinkageName string
	External    bool
	Declaration bool // DW_AT_declaration: a prototype, not a definition
	Prototyped  bool
	// Inline is DW_AT_inline (InlNotInlined when absent). A DIE with
	// Inline != 0 is an abstract instance root: it has no code of its own.
	Inline uint8
	// CallingConvention is DW_AT_calling_convention, 0 when absent. clang
	// marks clones whose ABI it changed with CCNocall.
	CallingConvention uint8
	// Origin is the DIE offset named by DW_AT_abstract_origin (a concrete
	// out-of-line instance of an inlined function, or a gcc clone), and
	// Specification the one named by DW_AT_specification (a definition of
	// an earlier declaration); 0 when absent. Data.FuncAt finds them.
	Origin        uint64
	Specification uint64
	// LowPC is the entry address: DW_AT_low_pc, or the start of the first
	// range of DW_AT_ranges. HasPC says whether either was present. In a
	// relocatable object the address is relative to its text section.
	LowPC uint64
	HasPC bool
	// FrameBase is DW_AT_frame_base, the base of LocFrame parameter
	// offsets: LocCFA for DW_OP_call_frame_cfa (gcc: the first stack
	// argument is at CFA+0 on x86-64 and arm64), or a register (clang at -O2
	// on x86-64: rsp, with the first stack argument at rsp+8 at entry);
	// LocNone when absent.
	FrameBase Location
	// Return is the return type after peeling; nil for void.
	Return *Type
	// Params are the DW_TAG_formal_parameter children in order; Variadic
	// is set by a DW_TAG_unspecified_parameters child.
	Params   []Param
	Variadic bool
}

// Param is one DW_TAG_formal_parameter. Name and Type are resolved through
// DW_AT_abstract_origin when the DIE has one.
type Param struct {
	Offset     uint64 // DIE offset
	Origin     uint64 // DW_AT_abstract_origin, 0 when absent
	Name       string
	Type       *Type // after peeling; nil when the DIE has no type
	Artificial bool
	Loc        Location // where the value is at function entry
}

// LocKind says what a Location is.
type LocKind uint8

const (
	// LocNone: no DW_AT_location (a declaration, or optimized out).
	LocNone LocKind = iota
	// LocReg: in DWARF register Reg (DW_OP_reg*, DW_OP_regx, or
	// DW_OP_entry_value of one).
	LocReg
	// LocFrame: in memory at the frame base + Offset (DW_OP_fbreg).
	LocFrame
	// LocBreg: in memory at register Reg + Offset (DW_OP_breg*, DW_OP_bregx).
	LocBreg
	// LocPieces: a composite (DW_OP_piece); see Location.Pieces.
	LocPieces
	// LocConst: a constant (DW_AT_const_value, or an expression ending in
	// DW_OP_stack_value / DW_OP_implicit_value that is not an entry value).
	LocConst
	// LocEmpty: a location list with no entry covering the entry address.
	LocEmpty
	// LocOther: an expression the scanner does not classify.
	LocOther
	// LocCFA: the canonical frame address (DW_OP_call_frame_cfa); only in
	// Func.FrameBase.
	LocCFA
)

var locNames = [...]string{"none", "reg", "frame", "breg", "pieces", "const", "empty", "other", "cfa"}

func (k LocKind) String() string {
	if int(k) < len(locNames) {
		return locNames[k]
	}
	return "?"
}

// Location is the first location description of a parameter that is valid at
// the function's entry address. Registers are DWARF register numbers (x86-64:
// 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15;
// arm64: 0-30 x0-x30, 31 sp, 64-95 v0-v31; riscv: 0-31 x0-x31, 32-63 f0-f31).
type Location struct {
	Kind       LocKind
	Reg        int
	Offset     int64
	EntryValue bool // the value is DW_OP_entry_value(reg): in Reg at entry
	// Computed: the value is register Reg's, narrowed or masked
	// (DW_OP_breg Reg 0, DW_OP_convert/and/shr..., DW_OP_stack_value).
	Computed bool
	FromList bool    // taken from a location list entry covering LowPC
	Pieces   []Piece // for LocPieces, in order
}

// Piece is one part of a composite location.
type Piece struct {
	Kind   LocKind // LocReg, LocFrame, LocBreg, LocConst, LocNone (optimized-out part), LocOther
	Reg    int
	Offset int64
	Size   int64 // bytes
	// Computed as in Location.
	Computed bool
}

// Kind is the shape of a type after peeling typedefs and qualifiers.
type Kind uint8

const (
	KindUnknown Kind = iota // a tag the scanner does not model
	KindVoid                // DW_TAG_unspecified_type, or a qualifier/typedef of nothing
	KindInt                 // base type with an integer or character encoding
	KindBool
	KindFloat // DW_ATE_float, DW_ATE_complex_float
	KindPointer
	KindStruct
	KindUnion
	KindEnum
	KindArray
	KindFunc        // DW_TAG_subroutine_type (only behind a pointer in C)
	KindUnsupported // a reference the scanner does not follow (type units)
)

var kindNames = [...]string{"unknown", "void", "int", "bool", "float", "pointer", "struct", "union", "enum", "array", "func", "unsupported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Type is a type's real layout after peeling typedefs, const, volatile,
// restrict and atomic. Types are shared between parameters of the same unit
// (cached by DIE offset) and must not be modified.
type Type struct {
	Offset uint64 // DIE offset of the peeled type
	Kind   Kind
	Name   string // name of the peeled type ("" for anonymous ones)
	// Typedef is the name of the outermost typedef peeled, if any.
	Typedef  string
	Size     int64 // DW_AT_byte_size (arrays: element size * count; -1 unknown)
	Encoding uint8 // DW_ATE_* for base types and enums (from the base type)
	// Align is the alignment the compiler uses: the natural alignment raised
	// by any DW_AT_alignment met on the typedef/qualifier chain or the type.
	// Natural is the alignment without the attribute on the type itself:
	// base types their size (complex: half), pointers the address size,
	// arrays their element, aggregates the maximum over their members of the
	// member's alignment (the member type's Align, raised by the member's
	// DW_AT_alignment), or 1 when the aggregate is Packed. Explicit is the
	// largest DW_AT_alignment on the chain or the type (0 if none).
	Align    int64
	Natural  int64
	Explicit int64
	// Packed is inferred for aggregates (docs/facts.md §3): a member at a byte
	// offset that is not a multiple of its alignment, a bit field that
	// straddles a unit of its type's size, or a size that is not a multiple
	// of the largest member alignment. Misaligned is the first condition
	// only (an unaligned field, class MEMORY for x86-64), and
	// UnalignedField is Misaligned here or in any nested aggregate.
	Packed         bool
	Misaligned     bool
	UnalignedField bool
	Incomplete     bool     // a declaration without a size (struct foo;)
	Members        []Member // struct and union members in order
	// Elem is the element type of an array, and Count its total number of
	// elements (the product of all dimensions; 0 for a flexible array).
	Elem  *Type
	Count int64
	// Target is the DIE offset of a pointer's target (not decoded: the
	// calling convention needs only the pointer itself).
	Target uint64
}

// Member is one member of a struct or union.
type Member struct {
	Name      string
	Type      *Type
	Offset    int64 // byte offset (for bit fields, the byte that holds the first bit)
	BitOffset int64 // bit offset from the start of the aggregate
	BitSize   int64 // 0 unless a bit field
	Align     int64 // DW_AT_alignment on the member, 0 if none
}

// FuncAt returns the subprogram whose DIE is at offset off.
func (d *Data) FuncAt(off uint64) (*Func, bool) {
	i := sort.Search(len(d.Funcs), func(i int) bool { return d.Funcs[i].Offset >= off })
	if i < len(d.Funcs) && d.Funcs[i].Offset == off {
		return &d.Funcs[i], true
	}
	return nil, false
}

// Is128 reports whether t is a 16-byte integer (__int128 or unsigned __int128).
func (t *Type) Is128() bool {
	return t != nil && t.Kind == KindInt && t.Size == 16
}
