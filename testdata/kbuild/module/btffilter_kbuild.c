// SPDX-License-Identifier: GPL-2.0
/*
 * An out-of-tree module built with M= against the kernels of
 * scripts/build-kernel.sh, whose BTF the wrapper (cmd/btffilter-pahole)
 * filters in modfinal. Its functions are the cases the abi rule decides
 * (docs/facts.md §2, testdata/abi/expected-x86_64.tsv), controls that every
 * build keeps, and names that BTF_ID and a kfunc set refer to, which
 * resolve_btfids must find after the filter ran.
 *
 * Every function is global, noinline and called from init through a
 * volatile pointer, so that gcc neither inlines, clones nor drops it, and
 * each keeps its ftrace call site (fentry needs one).
 */
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#ifndef __bpf_kfunc
#define __bpf_kfunc __used noinline
#endif

/* 13 bytes, members at offsets 1 and 5: passed in memory on x86-64. */
struct kb_packed {
	char c;
	int i;
	long l;
} __packed;

/* 16-byte aligned: on the stack it starts on a 16-byte boundary. */
struct kb_al16 {
	long a, b;
} __aligned(16);

/* Declared here: the kernel builds with -Wmissing-prototypes. */
long btffilter_kbuild_add(long a, long b);
long btffilter_kbuild_ptr(const struct kb_packed *p, long a);
long btffilter_kbuild_packed(long a, struct kb_packed x);
long btffilter_kbuild_i128(long a, __int128 x, long b);
long btffilter_kbuild_i128_stack(long a, long b, long c, long d, long e,
				 long f, long g, __int128 x, long h);
long btffilter_kbuild_al16_stack(long a, long b, long c, long d, long e,
				 long f, long g, long h, long i,
				 struct kb_al16 x, long j);
long btffilter_kbuild_protected(long a, struct kb_packed x);
u64 btffilter_kbuild_kfunc(u64 x);

/* Controls: every trampoline model reads these right. */
noinline long btffilter_kbuild_add(long a, long b)
{
	return a + b;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_add);

noinline long btffilter_kbuild_ptr(const struct kb_packed *p, long a)
{
	return p->c + p->i + p->l + a;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_ptr);

/* Packed struct by value after one register argument: removed (6.1, 7.2). */
noinline long btffilter_kbuild_packed(long a, struct kb_packed x)
{
	return a + x.c + x.i + x.l;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_packed);

/*
 * __int128 in rsi-rdx: the 6.1 trampoline gives it one register and reads b
 * from rdx (removed); 7.2 counts two slots (kept).
 */
noinline long btffilter_kbuild_i128(long a, __int128 x, long b)
{
	return a + (long)(x >> 64) + (long)x + b;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_i128);

/*
 * Nine arguments, the __int128 one 16-byte aligned on the stack after g: the
 * 7.2 trampoline reads it 8 bytes too early (removed); 6.1 attaches to at
 * most six arguments (refused by the kernel, so kept).
 */
noinline long btffilter_kbuild_i128_stack(long a, long b, long c, long d, long e,
					  long f, long g, __int128 x, long h)
{
	return a + b + c + d + e + f + g + (long)(x >> 64) + (long)x + h;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_i128_stack);

/* The same with a 16-byte aligned struct after three stack arguments. */
noinline long btffilter_kbuild_al16_stack(long a, long b, long c, long d, long e,
					  long f, long g, long h, long i,
					  struct kb_al16 x, long j)
{
	return a + b + c + d + e + f + g + h + i + x.a + x.b + j;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_al16_stack);

/*
 * Would be removed like btffilter_kbuild_packed, but BTF_ID names it below:
 * resolve_btfids must find it after the filter, so the filter keeps it.
 */
noinline long btffilter_kbuild_protected(long a, struct kb_packed x)
{
	return a - x.c - x.i - x.l;
}
EXPORT_SYMBOL_GPL(btffilter_kbuild_protected);

__bpf_kfunc u64 btffilter_kbuild_kfunc(u64 x)
{
	return x * 3;
}

BTF_ID_LIST(btffilter_kbuild_ids)
BTF_ID(func, btffilter_kbuild_protected)
BTF_ID(func, btffilter_kbuild_kfunc)

#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(btffilter_kbuild_kfunc_ids)
BTF_ID_FLAGS(func, btffilter_kbuild_kfunc)
BTF_KFUNCS_END(btffilter_kbuild_kfunc_ids)
#else
BTF_SET8_START(btffilter_kbuild_kfunc_ids)
BTF_ID_FLAGS(func, btffilter_kbuild_kfunc)
BTF_SET8_END(btffilter_kbuild_kfunc_ids)
#endif

static const struct btf_kfunc_id_set btffilter_kbuild_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &btffilter_kbuild_kfunc_ids,
};

static long (*volatile kb_add)(long, long) = btffilter_kbuild_add;
static long (*volatile kb_ptr)(const struct kb_packed *, long) = btffilter_kbuild_ptr;
static long (*volatile kb_packed)(long, struct kb_packed) = btffilter_kbuild_packed;
static long (*volatile kb_i128)(long, __int128, long) = btffilter_kbuild_i128;
static long (*volatile kb_i128_stack)(long, long, long, long, long, long, long,
				      __int128, long) = btffilter_kbuild_i128_stack;
static long (*volatile kb_al16_stack)(long, long, long, long, long, long, long,
				      long, long, struct kb_al16, long) = btffilter_kbuild_al16_stack;
static long (*volatile kb_protected)(long, struct kb_packed) = btffilter_kbuild_protected;
static u64 (*volatile kb_kfunc)(u64) = btffilter_kbuild_kfunc;

static int __init btffilter_kbuild_init(void)
{
	struct kb_packed p = { .c = 1, .i = 2, .l = 3 };
	struct kb_al16 q = { .a = 4, .b = 5 };
	long sum;
	int err;

	/*
	 * resolve_btfids wrote the BTF IDs of the functions BTF_ID names into
	 * .BTF_ids; a zero means it did not find a name. Loading fails then,
	 * which the boot test sees.
	 */
	if (!btffilter_kbuild_ids[0] || !btffilter_kbuild_ids[1]) {
		pr_err("btffilter_kbuild: unresolved BTF IDs %u %u\n",
		       btffilter_kbuild_ids[0], btffilter_kbuild_ids[1]);
		return -ENOENT;
	}
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &btffilter_kbuild_kfunc_set);
	if (err) {
		pr_err("btffilter_kbuild: register_btf_kfunc_id_set: %d\n", err);
		return err;
	}
	sum = kb_add(1, 2) + kb_ptr(&p, 1) + kb_packed(1, p) + kb_i128(1, 2, 3) +
	      kb_i128_stack(1, 2, 3, 4, 5, 6, 7, 8, 9) +
	      kb_al16_stack(1, 2, 3, 4, 5, 6, 7, 8, 9, q, 10) + kb_protected(1, p) +
	      kb_kfunc(1);
	pr_info("btffilter_kbuild: loaded, BTF IDs %u %u, sum %ld\n",
		btffilter_kbuild_ids[0], btffilter_kbuild_ids[1], sum);
	return 0;
}

static void __exit btffilter_kbuild_exit(void)
{
}

module_init(btffilter_kbuild_init);
module_exit(btffilter_kbuild_exit);
MODULE_DESCRIPTION("btffilter kbuild test module: arguments BTF cannot describe, and BTF_ID names");
MODULE_LICENSE("GPL");
