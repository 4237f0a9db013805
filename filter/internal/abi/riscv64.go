package abi

// RISC-V ELF psABI, integer calling convention (LP64): what the kernel,
// built without floating-point registers, uses.

func locateRISCV64(args []Arg) []Location {
	return locateLP64Pairs(args, riscvIntRegs)
}

// locateLP64Pairs is the integer convention RISC-V LP64 and LoongArch LP64S
// share: eight argument registers; a value of at most 8 bytes takes one
// register or an 8-byte stack slot; one of 9 to 16 bytes takes two
// registers, any two in a row, or the last register and the first stack
// slot, or two stack slots aligned to the larger of its alignment and 8 (at
// most 16); anything larger is passed by reference. Stack slots start at
// the stack pointer at the call.
func locateLP64Pairs(args []Arg, regs []int) []Location {
	out := make([]Location, len(args))
	ngr, nsaa := 0, 0
	next := func(align int) Slot {
		if ngr < len(regs) {
			s := reg(regs[ngr])
			ngr++
			return s
		}
		nsaa = roundUp(nsaa, align)
		s := stack(nsaa)
		nsaa += 8
		return s
	}
	for i, a := range args {
		switch {
		case a.Size == 0:
			continue
		case a.Size > 16:
			// Passed by reference: the address takes the argument's place.
			out[i] = Location{Slots: []Slot{next(8)}, ByRef: true}
		case a.Size > 8:
			// A pair: any two registers, or the last register and the
			// stack, or the stack aligned to the type (at most 16).
			align := 8
			if a.realAlign() >= 16 {
				align = 16
			}
			first := next(align)
			out[i] = Location{Slots: []Slot{first, next(8)}}
		default:
			out[i] = Location{Slots: []Slot{next(8)}}
		}
	}
	return out
}
