// Package abi knows where a function's arguments really are and where the
// kernel's BPF trampoline looks for them, per architecture and kernel
// version, and judges (rule "abi") the FUNCs whose arguments the trampoline
// would misread. It is docs/facts.md §1-4 turned into code. It works on the
// layouts and locations it is given: it reads no BTF, no DWARF and no file.
//
// # The problem
//
// A BTF FUNC_PROTO gives each parameter a type and a size, never its
// alignment or its packing. The trampoline behind fentry, fexit and fmod_ret
// (arch_prepare_bpf_trampoline) places arguments from that alone. When the
// compiler's calling convention puts an argument somewhere else, the
// trampoline saves the wrong bytes, and for fexit/fmod_ret hands the traced
// function clobbered arguments. Such a FUNC must not be in BTF.
//
// # The real calling conventions (Locate)
//
// x86-64, System V psABI 3.2.3 ("Parameter Passing"). Each argument is
// classified per eightbyte: INTEGER (general registers rdi rsi rdx rcx r8
// r9), SSE (xmm0-xmm7) or MEMORY. An aggregate larger than 16 bytes, or one
// with a field at an offset that is not a multiple of the field's alignment
// (a packed struct with a misaligned member), is MEMORY: it goes on the
// stack and uses no register, so the next argument takes the register it
// would have had. An aggregate of at most 16 bytes whose eightbytes do not
// all fit in the remaining registers goes on the stack whole, and later
// arguments still get registers. An eightbyte that is only padding takes no
// register. On the stack every argument takes a multiple of 8 bytes, at an
// offset aligned to 16 when the type's alignment is 16 (__int128, any
// aligned(16) struct) and to 8 otherwise. gcc never splits an __int128
// between r9 and the stack; clang before 18 did (docs/facts.md §3): the model
// follows the psABI and gcc.
//
// arm64, AAPCS64 (ARM-software/abi-aa, aapcs64.rst, "Parameter passing
// rules"). B.4: a composite larger than 16 bytes that is not a homogeneous
// floating-point aggregate (HFA) is replaced by a pointer to a copy. B.5/B.6:
// a composite's alignment is its natural alignment (the largest alignment of
// its top-level members, member-level aligned attributes included, an
// attribute on the composite itself ignored), taken as 8 when at most 8 and
// 16 when at least 16. C.9: integers and pointers of up to 8 bytes take the
// next of x0-x7. C.10: an argument with alignment 16 first rounds the next
// register number (NGRN) up to even. C.11: a 16-byte integer takes a register
// pair if NGRN < 7. C.12: a composite takes consecutive registers if it fits
// in the ones left; C.13: otherwise NGRN becomes 8 and it and every later
// integer argument go on the stack. C.14: the stack offset (NSAA) is rounded
// up to max(8, natural alignment); C.16: each stack argument takes at least
// 8 bytes. Floating-point scalars and HFAs use v0-v7 the same way (C.1-C.6).
//
// riscv64, RISC-V ELF psABI, integer calling convention (LP64, the kernel's
// ABI: no floating-point registers). Eight argument registers a0-a7. A scalar
// or aggregate of at most 8 bytes takes one register; of 9 to 16 bytes, a
// pair of registers, any pair: when only a7 is left the first half goes in
// a7 and the second on the stack. Larger ones are passed by reference. The
// even-register rule for 16-byte aligned values applies to variadic
// arguments only, which the kernel refuses anyway. Stack arguments are
// aligned to the larger of their alignment and 8, at most 16.
//
// loongarch64, LoongArch procedure call standard (la-abi-specs, lapcs.adoc)
// for the kernel's soft-float base ABI LP64S (arch/loongarch/Makefile): the
// same integer rules as riscv64, on a0-a7 (r4-r11). loongarch64.go.
//
// s390x, ELF ABI s390x Supplement, "Parameter Passing" (the kernel is built
// with -msoft-float). Five argument registers r2-r6, then 8-byte slots from
// 160 bytes above the stack pointer; every argument takes one register or
// slot. Aggregates of exactly 1, 2, 4 or 8 bytes are passed like integers;
// every other aggregate, and every scalar over 8 bytes (__int128), is passed
// by reference to a caller-made copy. Every aggregate result comes back
// through a hidden pointer in r2. s390x.go.
//
// ppc64le, 64-bit ELF V2 ABI, "Parameter Passing" (the kernel is built with
// -msoft-float). Arguments fill the doublewords of the parameter save area,
// passed in r3-r10 for the first eight and in memory from 32 bytes above the
// stack pointer for the rest; aggregates are passed by value, split between
// registers and memory when they straddle r10; an aggregate aligned to 16
// starts at an even doubleword (a scalar __int128 does not, with gcc and
// clang). ppc64le.go.
//
// # The kernel's trampoline (Trampoline)
//
// btf_distill_func_proto (kernel/bpf/btf.c) refuses a FUNC with more than 12
// arguments (MAX_BPF_FUNC_ARGS), a struct or union return, variadic
// arguments, a void or zero-sized argument, an argument larger than 16 bytes,
// or an argument that is not an integer, enum, pointer or struct (floats);
// unions are accepted as arguments since 6.18 ("bpf: Allow union argument in
// trampoline based programs", September 2025). The JITs then place each
// argument from its size alone, in 8-byte slots:
//
//   - x86-64 from 6.6 (arch/x86/net/bpf_jit_comp.c, save_args): an argument
//     takes ceil(size/8) slots; if they fit in the registers left it takes
//     them, otherwise it goes to the next stack slots, and later arguments may
//     still use registers. Stack slots are consecutive: no 16-byte alignment.
//     More than 12 registers' worth of arguments is refused.
//   - x86-64 before 6.6 (6.1): at most 6 arguments and 6 registers; a struct
//     takes ceil(size/8) registers, any other argument one register whatever
//     its size (so a 16-byte __int128 takes one).
//   - arm64 from 6.17 (arch/arm64/net/bpf_jit_comp.c, calc_arg_aux): slots
//     are ceil(size/8); arguments take x0-x7 in order until one does not fit;
//     it and everything after it go to consecutive stack slots. No even
//     register pairs, no 16-byte stack alignment.
//   - arm64 6.4 to 6.16: at most 8 registers, no stack; structs take
//     ceil(size/8) registers, other arguments one. Before 6.4 arm64 has no
//     fentry on kernel functions at all (observed on 6.1: ENOTSUPP).
//   - riscv64 from 6.10 (arch/riscv/net/bpf_jit_comp64.c): every argument
//     takes round_up(size,8)/8 slots; the first 8 slots are a0-a7, the rest
//     consecutive stack slots (so an argument may straddle a7 and the stack).
//   - riscv64 6.3 to 6.9: at most 8 registers, structs take ceil(size/8),
//     other arguments one. Before 6.3 there is no riscv64 trampoline.
//   - s390x from 6.3 (arch/s390/net/bpf_jit_comp.c, __arch_prepare_bpf_trampoline):
//     argument i is read from r2+i, then from 160+8*(i-5) above the stack
//     pointer, one register or slot each; an argument of 9 to 16 bytes is
//     taken to be passed by reference (its 16 bytes are copied from the
//     address found there), one of up to 8 bytes by value. So a 3-, 5-, 6-
//     or 7-byte aggregate, which the ABI passes by reference, is misread.
//     Before 6.3 there is no s390x trampoline (and Debian's s390x kernels,
//     built for z10, have no BPF JIT at all).
//   - ppc64le from 6.13 (arch/powerpc/net/bpf_jit_comp.c,
//     bpf_trampoline_save_args): round_up(size,8)/8 slots in a row, r3-r10,
//     then the caller's parameter save area at 32+8*k; more than 12 slots
//     refused. No alignment, so an aggregate aligned to 16 at an odd
//     doubleword is misread. Before 6.13 there is no ppc64 trampoline.
//   - loongarch64 from 6.19 (arch/loongarch/net/bpf_jit.c, store_args with
//     nr_arg_slots): riscv64's slots in a row, a0-a7 then the stack;
//     6.17 and 6.18: at most 8 arguments, one register each, struct
//     arguments refused; before 6.17 no trampoline.
//
// Only 6.1 and 7.2 (x86-64, arm64) were observed (docs/facts.md §4); the other
// version boundaries follow the kernel history and are not verified. The
// riscv64, ppc64le and loongarch64 7.2 models were matched against the JIT
// helpers the Debian 7.2 kernels' DWARF shows (docs/facts.md §9).
//
// # The rule (Judge)
//
// A FUNC is removed when some argument's true location differs from the
// slots the trampoline of that kernel reads for it; the reason names the
// first such argument and both locations (its misplacement shifts the
// later ones). A FUNC the kernel refuses anyway is kept: the trampoline never
// reads it, so the rule does not fire.
package abi
