package abi

import "fmt"

// RuleName is the stable name of the rule in reports and --rules.
const RuleName = "abi"

// Outcome is what the rule decides for one FUNC.
type Outcome uint8

// The outcomes. Refused FUNCs are kept: the kernel never attaches to them,
// so the trampoline cannot misread them.
const (
	Keep Outcome = iota
	Remove
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Keep:
		return "keep"
	case Remove:
		return "remove"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Verdict is the rule's decision on one FUNC and its reason.
type Verdict struct {
	Outcome Outcome
	Rule    string // RuleName
	// Arg is the first argument (0-based) the trampoline misreads, -1 when
	// none does.
	Arg int
	// Model is the trampoline model that decided.
	Model string
	// Reason is one sentence: for Remove, the argument, its type and both
	// locations; for Refused, why the kernel refuses the FUNC.
	Reason string
}

// Locate returns where the calling convention of arch puts each argument at
// function entry (package comment, "The real calling conventions").
func Locate(arch Arch, args []Arg) ([]Location, error) {
	for i, a := range args {
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("arg %d: %w", i, err)
		}
		if a.Class == Void {
			return nil, fmt.Errorf("arg %d: void parameter", i)
		}
	}
	switch arch {
	case X86_64:
		return locateX86(args), nil
	case ARM64:
		return locateARM64(args), nil
	case RISCV64:
		return locateRISCV64(args), nil
	case S390X:
		return locateS390X(args), nil
	case PPC64LE:
		return locatePPC64LE(args), nil
	case LOONGARCH64:
		return locateLoongArch64(args), nil
	}
	return nil, fmt.Errorf("no calling-convention model for %s", arch)
}

// ReturnsInMemory reports whether a function of arch returning ret receives
// the address of the result as a hidden first argument, in the register the
// first parameter would otherwise take, so that every parameter arrives one
// place later (package comment, "The real calling conventions"): x86-64
// aggregates of class MEMORY (over 16 bytes or with an unaligned field);
// riscv64, loongarch64 and ppc64le aggregates over 16 bytes; s390x every
// aggregate and every scalar over 8 bytes. arm64 passes the address in x8,
// which shifts nothing.
func ReturnsInMemory(arch Arch, ret Arg) bool {
	switch arch {
	case X86_64:
		return ret.Class.aggregate() && (ret.Size > 16 || ret.Packed)
	case RISCV64, LOONGARCH64, PPC64LE:
		return ret.Class.aggregate() && ret.Size > 16
	case S390X:
		return ret.Class != Void && (ret.Class.aggregate() || ret.Size > 8)
	}
	return false
}

// Judge decides whether the trampoline of kernel v on arch misreads an
// argument of fn. A zero v judges with every model of arch: the FUNC is
// removed if any of them misreads it, refused if all refuse it.
func Judge(arch Arch, v Version, fn Func) (Verdict, error) {
	if !v.IsZero() {
		return judgeOne(arch, v, fn)
	}
	ms, ok := models[arch]
	if !ok {
		return Verdict{}, fmt.Errorf("no trampoline model for %s", arch)
	}
	var first *Verdict
	for _, m := range ms {
		v := m.Since
		if v.IsZero() {
			v = Version{6, 1}
		}
		vd, err := judgeOne(arch, v, fn)
		if err != nil {
			return Verdict{}, err
		}
		switch {
		case vd.Outcome == Remove:
			return vd, nil
		case first == nil || first.Outcome == Refused && vd.Outcome == Keep:
			first = &vd
		}
	}
	return *first, nil
}

// judgeOne applies the model of one kernel version.
func judgeOne(arch Arch, v Version, fn Func) (Verdict, error) {
	m, _ := modelFor(arch, v)
	vd := Verdict{Rule: RuleName, Arg: -1, Model: m.Name}
	tramp, refusal, err := Trampoline(arch, v, fn)
	if err != nil {
		return Verdict{}, err
	}
	if refusal != "" {
		vd.Outcome = Refused
		vd.Reason = fmt.Sprintf("kernel %s refuses it (%s), so the trampoline never reads it", v, refusal)
		return vd, nil
	}
	real, err := Locate(arch, fn.Params)
	if err != nil {
		return Verdict{}, err
	}
	for i := range real {
		if real[i].Equal(tramp[i]) {
			continue
		}
		later := 0
		for j := i + 1; j < len(real); j++ {
			if !real[j].Equal(tramp[j]) {
				later++
			}
		}
		vd.Outcome = Remove
		vd.Arg = i
		vd.Reason = fmt.Sprintf("arg %d (%s): ABI passes it %s, trampoline reads %s",
			i, fn.Params[i].describe(), phrase(arch, real[i]), tramp[i].Format(arch))
		if later > 0 {
			vd.Reason += fmt.Sprintf("; %d later argument(s) misread too", later)
		}
		vd.Reason += fmt.Sprintf(" (kernel %s, %s)", v, arch)
		return vd, nil
	}
	vd.Outcome = Keep
	return vd, nil
}

// phrase says where an argument is: "in x2-x3", "on the stack at [sp+0]",
// "in a7 and on the stack at [sp+0]", "by reference in x2".
func phrase(arch Arch, l Location) string {
	if len(l.Slots) == 0 {
		return "nowhere (zero-sized)"
	}
	if l.ByRef {
		return "by reference, its address " + phrase(arch, Location{Slots: l.Slots})
	}
	if l.inRegs() {
		return "in " + l.Format(arch)
	}
	if l.Slots[0].onStack() {
		return "on the stack at " + l.Format(arch)
	}
	// Registers first, then the stack: RISC-V's a7 split.
	n := 0
	for n < len(l.Slots) && !l.Slots[n].onStack() {
		n++
	}
	return "in " + Location{Slots: l.Slots[:n]}.Format(arch) + " and on the stack at " +
		Location{Slots: l.Slots[n:]}.Format(arch)
}

// AlignFromStack returns params with the alignment of an aggregate raised
// to 16 where the code shows it and the type does not: gcc for riscv64 (12
// and 16) writes no DW_AT_alignment for aligned(16) on a struct, yet aligns
// such an argument to 16 on the stack as the psABI says (docs/facts.md §9),
// so the layout alone puts it 8 bytes too low, and misses that the
// trampoline, which reads consecutive slots, misreads it. entry(i) is
// argument i's entry location on the stack as the callee's DWARF gives it,
// as an offset from the CFA (DW_OP_fbreg with DW_OP_call_frame_cfa as the
// frame base), ok false when it has none there.
//
// An aggregate is raised when Locate puts it by value on the stack at an
// offset that is not a multiple of 16 and entry puts it at the next
// multiple of 16: only a 16-byte alignment explains that. Arguments are
// taken in order, each one located after the earlier ones were raised.
// Only for riscv64, loongarch64 and x86-64, whose models count stack slots
// from the CFA and align a stack argument to its alignment when it is 16;
// arm64 aligns a composite to its natural alignment, where the attribute on
// the type does not count (AAPCS64 B.6). The other architectures' params
// are returned as they are.
func AlignFromStack(arch Arch, params []Arg, entry func(i int) (off int, ok bool)) []Arg {
	switch arch {
	case RISCV64, LOONGARCH64, X86_64:
	default:
		return params
	}
	out := params
	for i := range params {
		a := out[i]
		if !a.Class.aggregate() || a.realAlign() >= 16 {
			continue
		}
		got, ok := entry(i)
		if !ok {
			continue
		}
		locs, err := Locate(arch, out)
		if err != nil {
			return params
		}
		l := locs[i]
		if l.ByRef || len(l.Slots) == 0 || !l.Slots[0].onStack() {
			continue
		}
		at := l.Slots[0].Stack
		if at%16 == 0 || got != roundUp(at, 16) {
			continue
		}
		if &out[0] == &params[0] {
			out = append([]Arg(nil), params...)
		}
		out[i].ExplicitAlign = 16
	}
	return out
}
