// SPDX-License-Identifier: GPL-2.0
/*
 * A BPF_PROG_TYPE_SYSCALL program that calls the kfunc of the ABI probe
 * module (abiprobe.c here, abiprobe_kfunc_mix) and returns what it got.
 * The loader finds the kfunc by name in the module's BTF; the verifier then
 * allows the call only if that FUNC's ID is in the module's registered kfunc
 * set, that is, only if the module's .BTF_ids name it. Built by
 * scripts/e2e (TestBootAcceptance) with clang -target bpfel -O2 -g.
 */
typedef unsigned int __u32;
typedef unsigned long long __u64;

extern __u64 abiprobe_kfunc_mix(__u64 a, __u32 b) __attribute__((section(".ksyms")));

__attribute__((section("syscall"), used)) int abiprobe_call_mix(void *ctx)
{
	return (int)abiprobe_kfunc_mix(40, 2);
}

char _license[] __attribute__((section("license"), used)) = "GPL";
