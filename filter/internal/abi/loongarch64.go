package abi

// loongarch64: Procedure Call Standard for the LoongArch Architecture
// (la-abi-specs, lapcs.adoc, "Passing arguments"). The kernel is built for
// the soft-float base ABI, -mabi=lp64s -msoft-float (arch/loongarch/Makefile),
// where no argument uses a floating-point register (FRLEN is 0), so the rules
// for structures with floating-point members do not apply and every argument
// follows the integer rules, which are RISC-V's (locateLP64Pairs):
//
//   - eight argument registers a0-a7 (r4-r11);
//   - a scalar or aggregate of at most 8 bytes takes one register, or a
//     stack slot when none is left;
//   - one of 9 to 16 bytes takes two registers "with adjacent numbers", any
//     pair; when only a7 is left, the low half goes in a7 and the high half
//     on the stack;
//   - anything larger is passed by reference;
//   - the on-stack part of an argument is aligned to the larger of its
//     alignment and 8, at most 16, from the stack pointer at the call;
//   - the even-register rule for 16-byte aligned values applies to variadic
//     arguments only, which the kernel refuses anyway;
//   - a function returning an aggregate larger than 16 bytes receives the
//     address of the result as a hidden first argument in a0.

func locateLoongArch64(args []Arg) []Location {
	return locateLP64Pairs(args, loongarchIntRegs)
}
