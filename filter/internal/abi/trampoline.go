package abi

import "fmt"

// maxFuncArgs is the kernel's MAX_BPF_FUNC_ARGS.
const maxFuncArgs = 12

// Model names one trampoline model: the architecture and the first kernel
// version it describes.
type Model struct {
	Arch  Arch
	Since Version
	Name  string // e.g. "x86_64 >= 6.6 (save_args)"
}

// models lists, per architecture, the version ranges with different
// trampoline behaviour, oldest first (package comment, "The kernel's
// trampoline"). The first entry of each also covers older kernels.
var models = map[Arch][]Model{
	X86_64: {
		{X86_64, Version{0, 0}, "x86_64 < 6.6: 6 registers, non-struct arguments one register each"},
		{X86_64, Version{6, 6}, "x86_64 >= 6.6: save_args, ceil(size/8) slots, registers then stack"},
	},
	ARM64: {
		{ARM64, Version{0, 0}, "arm64 < 6.4: no fentry on kernel functions"},
		{ARM64, Version{6, 4}, "arm64 6.4-6.16: 8 registers, non-struct arguments one register each"},
		{ARM64, Version{6, 17}, "arm64 >= 6.17: calc_arg_aux, ceil(size/8) slots, registers until one does not fit"},
	},
	RISCV64: {
		{RISCV64, Version{0, 0}, "riscv64 < 6.3: no BPF trampoline"},
		{RISCV64, Version{6, 3}, "riscv64 6.3-6.9: 8 registers, non-struct arguments one register each"},
		{RISCV64, Version{6, 10}, "riscv64 >= 6.10: round_up(size,8)/8 slots, a0-a7 then stack"},
	},
}

// modelFor picks the model of arch for kernel v (v not zero).
func modelFor(arch Arch, v Version) (Model, bool) {
	ms, ok := models[arch]
	if !ok {
		return Model{}, false
	}
	m := ms[0]
	for _, c := range ms[1:] {
		if !v.Less(c.Since) {
			m = c
		}
	}
	return m, true
}

// distill is btf_distill_func_proto (kernel/bpf/btf.c): the FUNCs the kernel
// refuses from BTF alone, whatever the architecture. It returns the refusal,
// or "" when the FUNC is accepted.
func distill(v Version, fn Func) string {
	if len(fn.Params) > maxFuncArgs {
		return fmt.Sprintf("%d arguments, more than MAX_BPF_FUNC_ARGS (%d)", len(fn.Params), maxFuncArgs)
	}
	switch fn.Return.Class {
	case Struct, Union:
		return fmt.Sprintf("returns %s", fn.Return.describe())
	case Float:
		return "returns a floating-point value"
	}
	if fn.Variadic {
		return "variadic"
	}
	for i, a := range fn.Params {
		switch {
		case a.Class == Void || a.Size == 0:
			return fmt.Sprintf("arg %d is void or empty", i)
		case a.Class == Float:
			return fmt.Sprintf("arg %d (%s) is floating point", i, a.describe())
		case a.Size > 16:
			return fmt.Sprintf("arg %d (%s) is larger than 16 bytes", i, a.describe())
		case a.Class == Union && v.Less(Version{6, 3}):
			return fmt.Sprintf("arg %d (%s) is a union (accepted since 6.3)", i, a.describe())
		case a.Class.aggregate() && v.Less(Version{6, 1}):
			return fmt.Sprintf("arg %d (%s) is a struct (accepted since 6.1)", i, a.describe())
		}
	}
	return ""
}

// Trampoline returns where the trampoline of kernel v on arch reads each
// argument of fn, from the BTF-only view of it (sizes, struct or not), or
// why the kernel refuses to attach to fn. A zero v is an error here: pick a
// version, or use Judge for the strictest of all models.
func Trampoline(arch Arch, v Version, fn Func) (locs []Location, refusal string, err error) {
	if v.IsZero() {
		return nil, "", fmt.Errorf("trampoline model for %s needs a kernel version", arch)
	}
	m, ok := modelFor(arch, v)
	if !ok {
		return nil, "", fmt.Errorf("no trampoline model for %s", arch)
	}
	for i, a := range fn.Params {
		if err := a.check(); err != nil {
			return nil, "", fmt.Errorf("arg %d: %w", i, err)
		}
	}
	if r := distill(v, fn); r != "" {
		return nil, r, nil
	}
	switch {
	case arch == X86_64 && m.Since.IsZero():
		locs, refusal = trampolineOneRegEach(fn.Params, x86IntRegs, "x86_64 before 6.6")
	case arch == X86_64:
		locs, refusal = trampolineX86(fn.Params)
	case arch == ARM64 && m.Since.IsZero():
		return nil, "arm64 before 6.4 has no fentry on kernel functions", nil
	case arch == ARM64 && m.Since == (Version{6, 4}):
		locs, refusal = trampolineOneRegEach(fn.Params, arm64IntRegs, "arm64 before 6.17")
	case arch == ARM64:
		locs = trampolineARM64(fn.Params)
	case arch == RISCV64 && m.Since.IsZero():
		return nil, "riscv64 before 6.3 has no BPF trampoline", nil
	case arch == RISCV64 && m.Since == (Version{6, 3}):
		locs, refusal = trampolineOneRegEach(fn.Params, riscvIntRegs, "riscv64 before 6.10")
	default:
		locs = trampolineRISCV64(fn.Params)
	}
	return locs, refusal, nil
}

// trampolineOneRegEach is the older JITs (x86-64 6.1, arm64 and riscv64
// before their 12-argument support): registers only, in order; a struct
// takes ceil(size/8) registers and any other argument exactly one, whatever
// its size; too many and the JIT refuses.
func trampolineOneRegEach(args []Arg, regs []int, which string) ([]Location, string) {
	if len(args) > len(regs) {
		return nil, fmt.Sprintf("%d arguments, %s handles %d", len(args), which, len(regs))
	}
	n := 0
	for _, a := range args {
		n += btfRegs(a)
	}
	if n > len(regs) {
		return nil, fmt.Sprintf("arguments need %d registers, %s handles %d", n, which, len(regs))
	}
	out := make([]Location, len(args))
	next := 0
	for i, a := range args {
		k := btfRegs(a)
		out[i] = Location{Slots: regRun(regs, next, k)}
		next += k
	}
	return out, ""
}

// btfRegs is the register count of the older JITs: BTF_FMODEL_STRUCT_ARG
// arguments ceil(size/8), the rest one.
func btfRegs(a Arg) int {
	if a.Class.aggregate() {
		return a.slots()
	}
	return 1
}

// trampolineX86 is save_args (x86-64 from 6.6): an argument takes its slots
// in registers if they all fit, else the next stack slots; the count of
// "registers" (struct slots, one per other argument) is at most 12.
func trampolineX86(args []Arg) ([]Location, string) {
	n := 0
	for _, a := range args {
		n += btfRegs(a)
	}
	if n > maxFuncArgs {
		return nil, fmt.Sprintf("arguments need %d slots, x86_64 handles %d", n, maxFuncArgs)
	}
	out := make([]Location, len(args))
	nregs, nstack := 0, 0
	for i, a := range args {
		k := a.slots()
		if nregs+k <= len(x86IntRegs) {
			out[i] = Location{Slots: regRun(x86IntRegs, nregs, k)}
			nregs += k
			continue
		}
		out[i] = Location{Slots: stackRun(8*nstack, k)}
		nstack += k
	}
	return out, ""
}

// trampolineARM64 is calc_arg_aux (arm64 from 6.17): registers in order until
// an argument does not fit, then everything on consecutive stack slots.
func trampolineARM64(args []Arg) []Location {
	out := make([]Location, len(args))
	nregs, nstack, inRegs := 0, 0, true
	for i, a := range args {
		k := a.slots()
		if inRegs && nregs+k <= len(arm64IntRegs) {
			out[i] = Location{Slots: regRun(arm64IntRegs, nregs, k)}
			nregs += k
			continue
		}
		inRegs = false
		out[i] = Location{Slots: stackRun(8*nstack, k)}
		nstack += k
	}
	return out
}

// trampolineRISCV64 is the riscv64 JIT from 6.10: all slots in a row, the
// first eight in a0-a7, the rest on the stack.
func trampolineRISCV64(args []Arg) []Location {
	out := make([]Location, len(args))
	slot := 0
	for i, a := range args {
		var slots []Slot
		for k := 0; k < a.slots(); k++ {
			if slot < len(riscvIntRegs) {
				slots = append(slots, reg(riscvIntRegs[slot]))
			} else {
				slots = append(slots, stack(8*(slot-len(riscvIntRegs))))
			}
			slot++
		}
		out[i] = Location{Slots: slots}
	}
	return out
}
