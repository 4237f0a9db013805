package abi

// s390x: ELF Application Binary Interface s390x Supplement (IBM,
// "Parameter Passing"), as GCC implements it (gcc/config/s390/s390.cc,
// s390_pass_by_reference and s390_function_arg). The kernel is built with
// -msoft-float (arch/s390/Makefile; every unit's DW_AT_producer in the Debian
// 7.2 vmlinux says so), so floating-point values travel like integers of
// their size: only the integer rules apply.
//
//   - Five argument registers, r2-r6, then 8-byte slots of the caller's
//     parameter area, which starts 160 bytes above the stack pointer at the
//     call (after the register save area). Every argument takes exactly one
//     register or one slot; a value narrower than 8 bytes sits in its
//     low-order (big-endian: rightmost) bytes.
//   - An aggregate (struct, union, complex) of exactly 1, 2, 4 or 8 bytes is
//     passed like an integer of that size. Any other aggregate, whatever its
//     size (3, 5, 12, 16 bytes; a packed 13-byte struct), and any scalar
//     larger than 8 bytes (__int128, long double) is passed by reference:
//     the caller makes a copy and passes its address in the argument's
//     register or slot.
//   - A function returning an aggregate or a scalar larger than 8 bytes
//     receives the address of the result as a hidden first argument in r2.

// s390xArgBase is the offset of the first stack argument from the stack
// pointer at the call (the CFA is this address: DW_OP_fbreg 0 names it).
const s390xArgBase = 160

// s390xByRef reports the arguments passed by reference.
func s390xByRef(a Arg) bool {
	if a.Class.aggregate() {
		switch a.Size {
		case 1, 2, 4, 8:
			return false
		}
		return true
	}
	return a.Size > 8
}

func locateS390X(args []Arg) []Location {
	out := make([]Location, len(args))
	ngr, nsaa := 0, s390xArgBase
	for i, a := range args {
		var s Slot
		if ngr < len(s390xIntRegs) {
			s = reg(s390xIntRegs[ngr])
			ngr++
		} else {
			s = stack(nsaa)
			nsaa += 8
		}
		out[i] = Location{Slots: []Slot{s}, ByRef: s390xByRef(a)}
	}
	return out
}
