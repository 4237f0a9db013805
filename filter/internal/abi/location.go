package abi

import (
	"fmt"
	"strings"
)

// Slot is one 8-byte piece of an argument: a register, or a stack offset.
type Slot struct {
	// Reg is a DWARF register number, or -1 for a stack slot.
	Reg int
	// Stack is the slot's byte offset in the stack argument area (the
	// caller's stack pointer at the call: the CFA on x86-64, arm64 and
	// riscv64, DW_OP_fbreg with a DW_OP_call_frame_cfa frame base), when
	// Reg is -1.
	Stack int
}

func reg(r int) Slot         { return Slot{Reg: r} }
func stack(off int) Slot     { return Slot{Reg: -1, Stack: off} }
func (s Slot) onStack() bool { return s.Reg < 0 }

// Location is where an argument is at function entry: its 8-byte pieces in
// order. ByRef means the single slot holds the address of a copy (AAPCS64
// B.4, RISC-V aggregates over 16 bytes). An empty Location is an argument
// that is passed nowhere (a zero-sized struct).
type Location struct {
	Slots []Slot
	ByRef bool
}

// Equal reports the same pieces in the same places.
func (l Location) Equal(m Location) bool {
	if l.ByRef != m.ByRef || len(l.Slots) != len(m.Slots) {
		return false
	}
	for i := range l.Slots {
		if l.Slots[i] != m.Slots[i] {
			return false
		}
	}
	return true
}

// Format writes the location for a reason string: "x2-x3", "rdi",
// "[sp+16]", "a7 and [sp+0]", "x2 (address of a copy)".
func (l Location) Format(arch Arch) string {
	if len(l.Slots) == 0 {
		return "nowhere"
	}
	var regs []string
	var parts []string
	first := -1
	flush := func() {
		if len(regs) > 0 {
			parts = append(parts, strings.Join(regs, "-"))
			regs = nil
		}
	}
	for _, s := range l.Slots {
		if !s.onStack() {
			regs = append(regs, RegName(arch, s.Reg))
			continue
		}
		flush()
		if first < 0 {
			first = s.Stack
			parts = append(parts, fmt.Sprintf("[sp+%d]", s.Stack))
		}
	}
	flush()
	out := strings.Join(parts, " and ")
	if l.ByRef {
		out += " (address of a copy)"
	}
	return out
}

// inRegs reports whether every slot is a register.
func (l Location) inRegs() bool {
	for _, s := range l.Slots {
		if s.onStack() {
			return false
		}
	}
	return len(l.Slots) > 0
}

// stackRun is n consecutive stack slots from off.
func stackRun(off, n int) []Slot {
	out := make([]Slot, n)
	for i := range out {
		out[i] = stack(off + 8*i)
	}
	return out
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }
