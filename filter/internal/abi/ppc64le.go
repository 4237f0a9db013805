package abi

// ppc64le: 64-bit ELF V2 ABI Specification (OpenPOWER), "Parameter Passing
// in Registers" and "Parameter Save Area", as GCC implements it
// (gcc/config/rs6000/rs6000-call.cc, rs6000_function_arg_boundary and
// rs6000_function_arg). The kernel is built with -msoft-float
// (arch/powerpc/Makefile), so no argument uses a floating-point or vector
// register: only the integer rules apply.
//
//   - Every argument is mapped onto the parameter save area, a sequence of
//     8-byte doublewords at 32 bytes above the stack pointer at the call
//     (after the frame header: back chain, CR, LR and TOC save words). A
//     scalar takes one doubleword; an aggregate ceil(size/8), passed by
//     value whatever its size.
//   - Doubleword k is passed in r3+k for k < 8, and in memory at its place
//     in the save area otherwise; an aggregate can have its first part in
//     registers and the rest in memory.
//   - An aggregate whose alignment is 16 or more (a member or the struct
//     itself aligned(16), a struct holding an __int128) starts at an even
//     doubleword, leaving a register or slot unused. A scalar __int128 does
//     not: GCC and clang give it the next doubleword, odd or even
//     (observed with GCC 12 and clang 14).
//   - A function returning an aggregate larger than 16 bytes receives the
//     address of the result as a hidden first argument in r3; aggregates of
//     up to 16 bytes come back in r3 and r4.

// ppc64ArgBase is the offset of the parameter save area from the stack
// pointer at the call (the CFA).
const ppc64ArgBase = 32

// ppc64Doubleword is where doubleword k of the parameter save area is
// passed.
func ppc64Doubleword(k int) Slot {
	if k < len(ppc64IntRegs) {
		return reg(ppc64IntRegs[k])
	}
	return stack(ppc64ArgBase + 8*k)
}

func locatePPC64LE(args []Arg) []Location {
	out := make([]Location, len(args))
	dw := 0
	for i, a := range args {
		if a.Size == 0 {
			continue
		}
		if a.Class.aggregate() && a.realAlign() >= 16 {
			dw = roundUp(dw, 2)
		}
		n := a.slots()
		slots := make([]Slot, n)
		for k := range slots {
			slots[k] = ppc64Doubleword(dw + k)
		}
		dw += n
		out[i] = Location{Slots: slots}
	}
	return out
}
