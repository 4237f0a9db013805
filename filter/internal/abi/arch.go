package abi

import (
	"fmt"
	"strings"
)

// Arch is a 64-bit architecture with a calling-convention model.
type Arch uint8

// The architectures.
const (
	UnknownArch Arch = iota
	X86_64
	ARM64
	RISCV64
	S390X
	PPC64LE
	LOONGARCH64
)

func (a Arch) String() string {
	switch a {
	case X86_64:
		return "x86_64"
	case ARM64:
		return "arm64"
	case RISCV64:
		return "riscv64"
	case S390X:
		return "s390x"
	case PPC64LE:
		return "ppc64le"
	case LOONGARCH64:
		return "loongarch64"
	}
	return fmt.Sprintf("arch(%d)", uint8(a))
}

// ParseArch accepts the kernel's, Debian's and GNU's spellings of an
// architecture: x86_64/amd64/x86-64, arm64/aarch64, riscv64, s390x,
// ppc64le/ppc64el/powerpc64le (and ppc64/powerpc64/powerpc, see below),
// loongarch64/loong64. It is also how an ELF file's architecture
// (elfio.File.Arch) finds its model.
//
// The powerpc model is the 64-bit ELF V2 ABI, which Linux uses on
// little-endian (Debian's ppc64el); the spellings without "le" name the same
// model, because register and stack-slot assignment do not depend on the
// byte order. A big-endian kernel built for the older ELF V1 ABI is not
// modelled: its stack arguments start 16 bytes further up.
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "x86_64", "x86-64", "amd64", "x64":
		return X86_64, nil
	case "arm64", "aarch64":
		return ARM64, nil
	case "riscv64", "riscv":
		return RISCV64, nil
	case "s390x":
		return S390X, nil
	case "ppc64le", "ppc64el", "powerpc64le", "ppc64", "powerpc64", "powerpc":
		return PPC64LE, nil
	case "loongarch64", "loong64", "loongarch":
		return LOONGARCH64, nil
	}
	return UnknownArch, fmt.Errorf("unknown architecture %q (want x86_64, arm64, riscv64, s390x, ppc64le or loongarch64)", s)
}

// Register numbers are DWARF's for each architecture, so that a location can
// be compared with DW_AT_location (DW_OP_reg*).
var (
	// x86-64 psABI 3.6.2, figure 3.36: rdi 5, rsi 4, rdx 1, rcx 2, r8 8, r9 9;
	// xmm0-xmm7 are 17-24.
	x86IntRegs = []int{5, 4, 1, 2, 8, 9}
	x86SSERegs = []int{17, 18, 19, 20, 21, 22, 23, 24}
	// AArch64 DWARF (aadwarf64): x0-x7 are 0-7, v0-v7 are 64-71.
	arm64IntRegs = []int{0, 1, 2, 3, 4, 5, 6, 7}
	arm64FPRegs  = []int{64, 65, 66, 67, 68, 69, 70, 71}
	// RISC-V DWARF: x10-x17 (a0-a7) are 10-17.
	riscvIntRegs = []int{10, 11, 12, 13, 14, 15, 16, 17}
	// s390x ELF ABI supplement, "DWARF Definition": r0-r15 are 0-15; the
	// argument registers are r2-r6.
	s390xIntRegs = []int{2, 3, 4, 5, 6}
	// 64-bit ELF V2 ABI, "DWARF Register Number Mapping": r0-r31 are 0-31,
	// f0-f31 32-63; the argument registers are r3-r10.
	ppc64IntRegs = []int{3, 4, 5, 6, 7, 8, 9, 10}
	// DWARF for the LoongArch Architecture (la-abi-specs, ladwarf.adoc):
	// r0-r31 are 0-31, f0-f31 32-63; a0-a7 are r4-r11.
	loongarchIntRegs = []int{4, 5, 6, 7, 8, 9, 10, 11}
)

// s390xFPRNames are the floating-point registers in s390x DWARF order, for
// DWARF numbers 16-31.
var s390xFPRNames = [16]int{0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15}

var x86RegNames = map[int]string{
	0: "rax", 1: "rdx", 2: "rcx", 3: "rbx", 4: "rsi", 5: "rdi", 6: "rbp", 7: "rsp",
	8: "r8", 9: "r9", 10: "r10", 11: "r11", 12: "r12", 13: "r13", 14: "r14", 15: "r15",
}

// RegName names a DWARF register of arch as its assembler does.
func RegName(arch Arch, reg int) string {
	switch arch {
	case X86_64:
		if n, ok := x86RegNames[reg]; ok {
			return n
		}
		if reg >= 17 && reg <= 32 {
			return fmt.Sprintf("xmm%d", reg-17)
		}
	case ARM64:
		switch {
		case reg >= 0 && reg <= 30:
			return fmt.Sprintf("x%d", reg)
		case reg == 31:
			return "sp"
		case reg >= 64 && reg <= 95:
			return fmt.Sprintf("v%d", reg-64)
		}
	case RISCV64:
		switch {
		case reg >= 10 && reg <= 17:
			return fmt.Sprintf("a%d", reg-10)
		case reg >= 0 && reg <= 31:
			return fmt.Sprintf("x%d", reg)
		case reg >= 32 && reg <= 63:
			return fmt.Sprintf("f%d", reg-32)
		}
	case S390X:
		switch {
		case reg >= 0 && reg <= 15:
			return fmt.Sprintf("r%d", reg)
		case reg >= 16 && reg <= 31:
			return fmt.Sprintf("f%d", s390xFPRNames[reg-16])
		}
	case PPC64LE:
		switch {
		case reg >= 0 && reg <= 31:
			return fmt.Sprintf("r%d", reg)
		case reg >= 32 && reg <= 63:
			return fmt.Sprintf("f%d", reg-32)
		}
	case LOONGARCH64:
		switch {
		case reg >= 4 && reg <= 11:
			return fmt.Sprintf("a%d", reg-4)
		case reg >= 0 && reg <= 31:
			return fmt.Sprintf("r%d", reg)
		case reg >= 32 && reg <= 63:
			return fmt.Sprintf("f%d", reg-32)
		}
	}
	return fmt.Sprintf("reg%d", reg)
}
