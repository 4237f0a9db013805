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
)

func (a Arch) String() string {
	switch a {
	case X86_64:
		return "x86_64"
	case ARM64:
		return "arm64"
	case RISCV64:
		return "riscv64"
	}
	return fmt.Sprintf("arch(%d)", uint8(a))
}

// ParseArch accepts the kernel's, Debian's and GNU's spellings of an
// architecture: x86_64/amd64/x86-64, arm64/aarch64, riscv64. It is also how
// an ELF file's architecture (elfio.File.Arch) finds its model.
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "x86_64", "x86-64", "amd64", "x64":
		return X86_64, nil
	case "arm64", "aarch64":
		return ARM64, nil
	case "riscv64", "riscv":
		return RISCV64, nil
	}
	return UnknownArch, fmt.Errorf("unknown architecture %q (want x86_64, arm64 or riscv64)", s)
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
)

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
	}
	return fmt.Sprintf("reg%d", reg)
}
