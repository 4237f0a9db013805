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
	S390X: {
		{S390X, Version{0, 0}, "s390x < 6.3: no BPF trampoline"},
		{S390X, Version{6, 3}, "s390x >= 6.3: one register or slot per argument, r2-r6 then stack, over 8 bytes through a pointer"},
	},
	PPC64LE: {
		{PPC64LE, Version{0, 0}, "ppc64le < 6.13: no BPF trampoline"},
		{PPC64LE, Version{6, 13}, "ppc64le >= 6.13: round_up(size,8)/8 slots, r3-r10 then the parameter save area"},
	},
	LOONGARCH64: {
		{LOONGARCH64, Version{0, 0}, "loongarch64 < 6.17: no BPF trampoline"},
		{LOONGARCH64, Version{6, 17}, "loongarch64 6.17-6.18: 8 registers, one register per argument, struct arguments refused"},
		{LOONGARCH64, Version{6, 19}, "loongarch64 >= 6.19: round_up(size,8)/8 slots, a0-a7 then stack"},
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
		case a.Class == Union && v.Less(Version{6, 18}):
			return fmt.Sprintf("arg %d (%s) is a union (accepted since 6.18)", i, a.describe())
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
	if m.Since.IsZero() && arch != X86_64 {
		if arch == ARM64 {
			return nil, "arm64 before 6.4 has no fentry on kernel functions", nil
		}
		return nil, fmt.Sprintf("%s before %s has no BPF trampoline", arch, models[arch][1].Since), nil
	}
	switch arch {
	case X86_64:
		if m.Since.IsZero() {
			locs, refusal = trampolineOneRegEach(fn.Params, x86IntRegs, "x86_64 before 6.6")
		} else {
			locs, refusal = trampolineX86(fn.Params)
		}
	case ARM64:
		if m.Since == (Version{6, 4}) {
			locs, refusal = trampolineOneRegEach(fn.Params, arm64IntRegs, "arm64 before 6.17")
		} else {
			locs = trampolineARM64(fn.Params)
		}
	case RISCV64:
		if m.Since == (Version{6, 3}) {
			locs, refusal = trampolineOneRegEach(fn.Params, riscvIntRegs, "riscv64 before 6.10")
		} else {
			locs = trampolineRISCV64(fn.Params)
		}
	case S390X:
		locs = trampolineS390X(fn.Params)
	case PPC64LE:
		locs, refusal = trampolinePPC64LE(fn.Params)
	case LOONGARCH64:
		if m.Since == (Version{6, 17}) {
			locs, refusal = trampolineLoongArch64Regs(fn.Params)
		} else {
			locs = trampolineLoongArch64(fn.Params)
		}
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
	return slotsInRow(args, func(k int) Slot {
		if k < len(riscvIntRegs) {
			return reg(riscvIntRegs[k])
		}
		return stack(8 * (k - len(riscvIntRegs)))
	})
}

// slotsInRow gives each argument round_up(size,8)/8 slots, counted across
// all arguments without alignment; where(k) is where slot k is read.
func slotsInRow(args []Arg, where func(k int) Slot) []Location {
	out := make([]Location, len(args))
	slot := 0
	for i, a := range args {
		slots := make([]Slot, a.slots())
		for k := range slots {
			slots[k] = where(slot)
			slot++
		}
		out[i] = Location{Slots: slots}
	}
	return out
}

// trampolineS390X is the s390x JIT from 6.3 (arch/s390/net/bpf_jit_comp.c,
// __arch_prepare_bpf_trampoline): argument i is read from r2+i for i < 5 and
// from the caller's parameter area at 160 + 8*(i-5) otherwise, one register
// or slot per argument whatever its size; an argument of 9 to 16 bytes is
// taken to be passed by reference, and its 16 bytes are copied from the
// address found there. An argument of at most 8 bytes is taken to be there
// by value. The JIT's own limit, 32 stack arguments, is beyond
// MAX_BPF_FUNC_ARGS.
func trampolineS390X(args []Arg) []Location {
	out := make([]Location, len(args))
	for i, a := range args {
		var s Slot
		if i < len(s390xIntRegs) {
			s = reg(s390xIntRegs[i])
		} else {
			s = stack(s390xArgBase + 8*(i-len(s390xIntRegs)))
		}
		out[i] = Location{Slots: []Slot{s}, ByRef: a.Size > 8}
	}
	return out
}

// trampolinePPC64LE is the powerpc JIT from 6.13
// (arch/powerpc/net/bpf_jit_comp.c, __arch_prepare_bpf_trampoline and
// bpf_trampoline_save_args): every argument takes round_up(size,8)/8 slots
// in a row, without alignment; slot k is read from r3+k for k < 8 and from
// the caller's parameter save area at 32 + 8*k otherwise. More than
// MAX_BPF_FUNC_ARGS slots are refused.
func trampolinePPC64LE(args []Arg) ([]Location, string) {
	n := 0
	for _, a := range args {
		n += a.slots()
	}
	if n > maxFuncArgs {
		return nil, fmt.Sprintf("arguments need %d slots, ppc64le handles %d", n, maxFuncArgs)
	}
	return slotsInRow(args, ppc64Doubleword), ""
}

// trampolineLoongArch64Regs is the first LoongArch JIT trampoline, 6.17
// and 6.18 (arch/loongarch/net/bpf_jit.c, __arch_prepare_bpf_trampoline and
// store_args(ctx, nargs, args_off)): at most eight arguments, each saved
// from one register a0-a7 whatever its size; struct arguments are refused.
// Until 6.19 (and 6.18.y) functions of modules were refused as well, which
// this model, judging a FUNC without knowing where it lives, does not know.
func trampolineLoongArch64Regs(args []Arg) ([]Location, string) {
	for i, a := range args {
		if a.Class.aggregate() {
			return nil, fmt.Sprintf("arg %d (%s) is a struct or union, which loongarch64 before 6.19 refuses", i, a.describe())
		}
	}
	return trampolineOneRegEach(args, loongarchIntRegs, "loongarch64 before 6.19")
}

// trampolineLoongArch64 is the LoongArch JIT with struct and 12-argument
// support (store_args(ctx, nr_arg_slots, args_off) and restore_stk_args, in
// the Debian 7.2 kernel's DWARF): every argument takes round_up(size,8)/8
// slots in a row; slot k < 8 is saved from a0+k, later slots are copied
// from the caller's stack at 8*(k-8), as riscv64 does.
func trampolineLoongArch64(args []Arg) []Location {
	return slotsInRow(args, func(k int) Slot {
		if k < len(loongarchIntRegs) {
			return reg(loongarchIntRegs[k])
		}
		return stack(8 * (k - len(loongarchIntRegs)))
	})
}
