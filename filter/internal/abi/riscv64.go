package abi

// RISC-V ELF psABI, integer calling convention (LP64): what the kernel,
// built without floating-point registers, uses.

func locateRISCV64(args []Arg) []Location {
	out := make([]Location, len(args))
	ngr, nsaa := 0, 0
	next := func(align int) Slot {
		if ngr < len(riscvIntRegs) {
			s := reg(riscvIntRegs[ngr])
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
			// A pair: any two registers, or a7 and the stack, or the stack
			// aligned to the type (at most 16).
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
