// SPDX-License-Identifier: GPL-2.0
/*
 * abiprobe: functions whose arguments have the shapes of docs/facts.md §3,
 * called with known bytes, for the ABI probe of scripts/e2e (abiprobe.go).
 *
 * Writing a function's name to /proc/abiprobe calls that function once, from
 * this module, with every argument filled with its own bytes: byte k of
 * argument i is ((i + 1) << 4) | k. The function copies what it received
 * into a record; reading /proc/abiprobe prints the record of the last call:
 *
 *	fn NAME
 *	arg I SIZE HEX        (one line per argument, HEX in memory order)
 *
 * A tracer attached to a probe function sees the argument slots the
 * trampoline saved; the record shows what the function itself got, which
 * differs from the bytes sent when an fexit trampoline called it with
 * clobbered arguments. Names start with abp_ (probe functions) or abiprobe_
 * (the rest), so that they are found in this module's BTF alone.
 *
 * Every probe function is noipa: gcc neither inlines nor clones it, and
 * calls it with the calling convention as written.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#define ABIPROBE_MAXARGS 13

struct abiprobe_record {
	const char *name;
	int nargs;
	unsigned char size[ABIPROBE_MAXARGS];
	unsigned char bytes[ABIPROBE_MAXARGS][32];
};

static struct abiprobe_record abiprobe_got;

static void abiprobe_begin(const char *name)
{
	memset(&abiprobe_got, 0, sizeof(abiprobe_got));
	abiprobe_got.name = name;
}

static void abiprobe_rec(int i, const void *p, size_t n)
{
	if (i >= ABIPROBE_MAXARGS || n > sizeof(abiprobe_got.bytes[i]))
		return;
	abiprobe_got.size[i] = n;
	memcpy(abiprobe_got.bytes[i], p, n);
	if (i + 1 > abiprobe_got.nargs)
		abiprobe_got.nargs = i + 1;
}

static void abiprobe_fill(unsigned char *b, size_t n, int i)
{
	size_t k;

	for (k = 0; k < n; k++)
		b[k] = ((i + 1) << 4) | k;
}

/* A probe function's parameters are a0, a1, ...; its caller's arguments
 * are built in unions u0, u1, ... of the parameter type and its bytes. */
#define REC(i) abiprobe_rec(i, &a##i, sizeof(a##i))
#define FILL(i, T) union { T v; unsigned char b[sizeof(T)]; } u##i; \
	abiprobe_fill(u##i.b, sizeof(T), i)

#define PARAMS1(T0) T0 a0
#define PARAMS2(T0, T1) PARAMS1(T0), T1 a1
#define PARAMS3(T0, T1, T2) PARAMS2(T0, T1), T2 a2
#define PARAMS4(T0, T1, T2, T3) PARAMS3(T0, T1, T2), T3 a3
#define PARAMS5(T0, T1, T2, T3, T4) PARAMS4(T0, T1, T2, T3), T4 a4
#define PARAMS6(T0, T1, T2, T3, T4, T5) PARAMS5(T0, T1, T2, T3, T4), T5 a5
#define PARAMS7(T0, T1, T2, T3, T4, T5, T6) PARAMS6(T0, T1, T2, T3, T4, T5), T6 a6
#define PARAMS8(T0, T1, T2, T3, T4, T5, T6, T7) PARAMS7(T0, T1, T2, T3, T4, T5, T6), T7 a7
#define PARAMS9(T0, T1, T2, T3, T4, T5, T6, T7, T8) PARAMS8(T0, T1, T2, T3, T4, T5, T6, T7), T8 a8
#define PARAMS10(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9) PARAMS9(T0, T1, T2, T3, T4, T5, T6, T7, T8), T9 a9
#define PARAMS11(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10) PARAMS10(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9), T10 a10
#define PARAMS12(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11) PARAMS11(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10), T11 a11
#define PARAMS13(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12) PARAMS12(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11), T12 a12
#define RECS1 REC(0)
#define RECS2 RECS1; REC(1)
#define RECS3 RECS2; REC(2)
#define RECS4 RECS3; REC(3)
#define RECS5 RECS4; REC(4)
#define RECS6 RECS5; REC(5)
#define RECS7 RECS6; REC(6)
#define RECS8 RECS7; REC(7)
#define RECS9 RECS8; REC(8)
#define RECS10 RECS9; REC(9)
#define RECS11 RECS10; REC(10)
#define RECS12 RECS11; REC(11)
#define RECS13 RECS12; REC(12)
#define FILLS1(T0) FILL(0, T0)
#define FILLS2(T0, T1) FILLS1(T0); FILL(1, T1)
#define FILLS3(T0, T1, T2) FILLS2(T0, T1); FILL(2, T2)
#define FILLS4(T0, T1, T2, T3) FILLS3(T0, T1, T2); FILL(3, T3)
#define FILLS5(T0, T1, T2, T3, T4) FILLS4(T0, T1, T2, T3); FILL(4, T4)
#define FILLS6(T0, T1, T2, T3, T4, T5) FILLS5(T0, T1, T2, T3, T4); FILL(5, T5)
#define FILLS7(T0, T1, T2, T3, T4, T5, T6) FILLS6(T0, T1, T2, T3, T4, T5); FILL(6, T6)
#define FILLS8(T0, T1, T2, T3, T4, T5, T6, T7) FILLS7(T0, T1, T2, T3, T4, T5, T6); FILL(7, T7)
#define FILLS9(T0, T1, T2, T3, T4, T5, T6, T7, T8) FILLS8(T0, T1, T2, T3, T4, T5, T6, T7); FILL(8, T8)
#define FILLS10(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9) FILLS9(T0, T1, T2, T3, T4, T5, T6, T7, T8); FILL(9, T9)
#define FILLS11(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10) FILLS10(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9); FILL(10, T10)
#define FILLS12(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11) FILLS11(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10); FILL(11, T11)
#define FILLS13(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12) FILLS12(T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11); FILL(12, T12)
#define ARGS1 u0.v
#define ARGS2 ARGS1, u1.v
#define ARGS3 ARGS2, u2.v
#define ARGS4 ARGS3, u3.v
#define ARGS5 ARGS4, u4.v
#define ARGS6 ARGS5, u5.v
#define ARGS7 ARGS6, u6.v
#define ARGS8 ARGS7, u7.v
#define ARGS9 ARGS8, u8.v
#define ARGS10 ARGS9, u9.v
#define ARGS11 ARGS10, u10.v
#define ARGS12 ARGS11, u11.v
#define ARGS13 ARGS12, u12.v
#define PROBE_FN __attribute__((__noipa__, __used__)) long

/* PROBE(N, NAME, T0, ..., TN-1) defines the probe function NAME and
 * call_NAME, which calls it with the known bytes. */
#define PROBE(n, name, ...) \
	PROBE_FN name(PARAMS##n(__VA_ARGS__)); \
	PROBE_FN name(PARAMS##n(__VA_ARGS__)) \
	{ abiprobe_begin(#name); RECS##n; return 0; } \
	static void call_##name(void) \
	{ FILLS##n(__VA_ARGS__); name(ARGS##n); }

/* 13 bytes; i at offset 1 and l at offset 5 are misaligned. */
struct pk_mis { char c; int i; long l; } __packed;
/* 9 bytes, alignment 1, every member at a multiple of its alignment. */
struct pk_ok { int a; int b; char c; } __packed;
/* 5 bytes; i at offset 1 is misaligned. */
struct pk_small { char c; int i; } __packed;
/* 5 bytes, members at offset 0. */
union pku { int i; char c[5]; } __packed;
/* 8 bytes; the int inside s (offset 1) is misaligned. */
union pku_mis { struct pk_small s; long l; } __packed;
typedef struct pk_mis pk_mis_t;
typedef struct { char c; int i; long l; } __packed anon_pk_t;
/* Only its type is used (__typeof__): a parameter of anonymous struct type. */
extern struct { char c; int i; long l; } __packed abiprobe_anon_pk;

/* aligned(16) on the struct: natural alignment 8 (AAPCS64 B.6). */
struct al16s { long a, b; } __aligned(16);
/* aligned(16) on a member: natural alignment 16. */
struct al16m { long a __aligned(16); long b; };
struct i128s { __int128 v; };
union u128u { __int128 v; long l[2]; };
typedef struct al16m al16m_t;
typedef __int128 s128_t;
extern struct { long a __aligned(16); long b; } abiprobe_anon_al16;

struct s8 { long a; };
struct s12 { int a, b, c; };
struct s16 { long a, b; };
struct s24 { long a, b, c; };
union u8 { long l; int i; };
enum colour { RED, GREEN, BLUE };

#define L long
#define ANON_PK __typeof__(abiprobe_anon_pk)
#define ANON_AL16 __typeof__(abiprobe_anon_al16)

#define CASES(X) \
	/* packed, misaligned members, in registers and on the stack */ \
	X(2, abp_pk_mis_p0, struct pk_mis, L) \
	X(4, abp_pk_mis_p2, L, L, struct pk_mis, L) \
	X(7, abp_pk_mis_p5, L, L, L, L, L, struct pk_mis, L) \
	X(10, abp_pk_mis_p8, L, L, L, L, L, L, L, L, struct pk_mis, L) \
	X(2, abp_pk_small_p0, struct pk_small, L) \
	X(7, abp_pk_small_p5, L, L, L, L, L, struct pk_small, L) \
	/* packed, every member aligned */ \
	X(2, abp_pk_ok_p0, struct pk_ok, L) \
	X(4, abp_pk_ok_p2, L, L, struct pk_ok, L) \
	X(10, abp_pk_ok_p8, L, L, L, L, L, L, L, L, struct pk_ok, L) \
	/* typedef'd, const, anonymous, union variants */ \
	X(2, abp_pk_typedef, pk_mis_t, L) \
	X(2, abp_pk_const, const struct pk_mis, L) \
	X(2, abp_pk_anon, ANON_PK, L) \
	X(2, abp_pk_anon_typedef, anon_pk_t, L) \
	X(2, abp_pk_union, union pku, L) \
	X(2, abp_pk_union_mis, union pku_mis, L) \
	/* __int128 at even and odd positions, in registers and on the stack */ \
	X(2, abp_u128_p0, unsigned __int128, L) \
	X(3, abp_i128_p1, L, __int128, L) \
	X(4, abp_i128_p2, L, L, __int128, L) \
	X(7, abp_u128_p5, L, L, L, L, L, unsigned __int128, L) \
	X(8, abp_i128_p6, L, L, L, L, L, L, __int128, L) \
	X(9, abp_i128_p7, L, L, L, L, L, L, L, __int128, L) \
	X(11, abp_i128_p9, L, L, L, L, L, L, L, L, L, __int128, L) \
	X(3, abp_i128_typedef_p1, L, s128_t, L) \
	X(3, abp_i128_const_p1, L, const __int128, L) \
	/* 16-byte aligned aggregates */ \
	X(3, abp_al16s_p1, L, struct al16s, L) \
	X(3, abp_al16m_p1, L, struct al16m, L) \
	X(4, abp_al16m_p2, L, L, struct al16m, L) \
	X(3, abp_i128s_p1, L, struct i128s, L) \
	X(4, abp_i128s_p2, L, L, struct i128s, L) \
	X(9, abp_al16s_p7, L, L, L, L, L, L, L, struct al16s, L) \
	X(9, abp_al16m_p7, L, L, L, L, L, L, L, struct al16m, L) \
	X(11, abp_al16s_p9, L, L, L, L, L, L, L, L, L, struct al16s, L) \
	X(11, abp_al16m_p9, L, L, L, L, L, L, L, L, L, struct al16m, L) \
	X(3, abp_al16m_typedef_p1, L, al16m_t, L) \
	X(3, abp_al16m_const_p1, L, const struct al16m, L) \
	X(3, abp_al16_anon_p1, L, ANON_AL16, L) \
	X(3, abp_u128u_p1, L, union u128u, L) \
	X(9, abp_u128u_p7, L, L, L, L, L, L, L, union u128u, L) \
	/* controls: every model reads these correctly */ \
	X(6, abp_ctl_scalars, char, short, int, enum colour, void *, L) \
	X(2, abp_ctl_pk_ptr, struct pk_mis *, L) \
	X(3, abp_ctl_s8_p1, L, struct s8, L) \
	X(3, abp_ctl_s12_p1, L, struct s12, L) \
	X(3, abp_ctl_s16_p1, L, struct s16, L) \
	X(7, abp_ctl_s16_p5, L, L, L, L, L, struct s16, L) \
	X(9, abp_ctl_s16_p7, L, L, L, L, L, L, L, struct s16, L) \
	X(3, abp_ctl_u8_p1, L, union u8, L) \
	X(6, abp_ctl_args6, L, L, L, L, L, L) \
	X(7, abp_ctl_args7, L, L, L, L, L, L, L) \
	X(9, abp_ctl_args9, L, L, L, L, L, L, L, L, char) \
	X(12, abp_ctl_args12, L, L, L, L, L, L, L, L, L, L, L, short) \
	/* what the kernel refuses whatever the layout */ \
	X(13, abp_ref_args13, L, L, L, L, L, L, L, L, L, L, L, L, L) \
	X(3, abp_ref_s24_p1, L, struct s24, L)

CASES(PROBE)

/* A struct return and a variadic function: refused by the kernel. */
__attribute__((__noipa__, __used__)) struct s8 abp_ref_ret_s8(long a0);
__attribute__((__noipa__, __used__)) struct s8 abp_ref_ret_s8(long a0)
{
	struct s8 r = { 0 };

	abiprobe_begin(__func__);
	REC(0);
	return r;
}

static void call_abp_ref_ret_s8(void)
{
	FILL(0, long);
	abp_ref_ret_s8(u0.v);
}

PROBE_FN abp_ref_variadic(long a0, ...);
PROBE_FN abp_ref_variadic(long a0, ...)
{
	abiprobe_begin(__func__);
	REC(0);
	return 0;
}

static void call_abp_ref_variadic(void)
{
	FILL(0, long);
	abp_ref_variadic(u0.v, 1L);
}

struct abiprobe_case {
	const char *name;
	void (*call)(void);
};

#define ENTRY(n, name, ...) { #name, call_##name },

static const struct abiprobe_case abiprobe_cases[] = {
	CASES(ENTRY)
	{ "abp_ref_ret_s8", call_abp_ref_ret_s8 },
	{ "abp_ref_variadic", call_abp_ref_variadic },
};

static ssize_t abiprobe_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *off)
{
	char name[64];
	size_t n = min(len, sizeof(name) - 1);
	size_t i;

	if (copy_from_user(name, buf, n))
		return -EFAULT;
	name[n] = 0;
	strim(name);
	for (i = 0; i < ARRAY_SIZE(abiprobe_cases); i++) {
		if (!strcmp(abiprobe_cases[i].name, name)) {
			abiprobe_cases[i].call();
			return len;
		}
	}
	return -ENOENT;
}

static int abiprobe_show(struct seq_file *m, void *v)
{
	int i, k;

	seq_printf(m, "fn %s\n", abiprobe_got.name ? abiprobe_got.name : "-");
	for (i = 0; i < abiprobe_got.nargs; i++) {
		seq_printf(m, "arg %d %d ", i, abiprobe_got.size[i]);
		for (k = 0; k < abiprobe_got.size[i]; k++)
			seq_printf(m, "%02x", abiprobe_got.bytes[i][k]);
		seq_putc(m, '\n');
	}
	return 0;
}

static int abiprobe_open(struct inode *inode, struct file *file)
{
	return single_open(file, abiprobe_show, NULL);
}

static const struct proc_ops abiprobe_ops = {
	.proc_open = abiprobe_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = abiprobe_write,
};

#ifdef ABIPROBE_BTF_IDS
/*
 * .BTF_ids: a BTF_ID_LIST and a kfunc set, which resolve_btfids fills with
 * BTF IDs of this module's .BTF, numbered after its distilled .BTF.base. A
 * filter that renumbers .BTF must map them, or init fails (an ID of 0, or
 * one that is no FUNC, and register_btf_kfunc_id_set refuses the set), or a
 * BPF program's call of the kfunc is refused (an ID of another FUNC). Only
 * where kbuild runs resolve_btfids (scripts/build-abiprobe.sh): elsewhere
 * the IDs would stay 0.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

__bpf_kfunc_start_defs();

/*
 * Called by the syscall program of kfunc.bpf.c, whose return
 * value the guest compares with this sum.
 */
__bpf_kfunc u64 abiprobe_kfunc_mix(u64 a, u32 b)
{
	return a * 1000 + b;
}

/* A second kfunc, so that the set has more than one ID to sort and map. */
__bpf_kfunc u64 abiprobe_kfunc_neg(u64 a)
{
	return -a;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(abiprobe_kfunc_ids)
BTF_ID_FLAGS(func, abiprobe_kfunc_neg)
BTF_ID_FLAGS(func, abiprobe_kfunc_mix)
BTF_KFUNCS_END(abiprobe_kfunc_ids)

static const struct btf_kfunc_id_set abiprobe_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &abiprobe_kfunc_ids,
};

BTF_ID_LIST(abiprobe_btf_ids)
BTF_ID(struct, abiprobe_record)
BTF_ID(func, abiprobe_kfunc_mix)

static int abiprobe_register(void)
{
	int err;

	if (!abiprobe_btf_ids[0] || !abiprobe_btf_ids[1]) {
		pr_err("abiprobe: unresolved BTF IDs %u %u\n", abiprobe_btf_ids[0], abiprobe_btf_ids[1]);
		return -ENOENT;
	}
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &abiprobe_kfunc_set);
	if (err)
		pr_err("abiprobe: register_btf_kfunc_id_set: %d\n", err);
	return err;
}
#else
static int abiprobe_register(void)
{
	return 0;
}
#endif

static int __init abiprobe_init(void)
{
	int err;

	if (!proc_create("abiprobe", 0600, NULL, &abiprobe_ops))
		return -ENOMEM;
	err = abiprobe_register();
	if (err)
		remove_proc_entry("abiprobe", NULL);
	return err;
}

static void __exit abiprobe_exit(void)
{
	remove_proc_entry("abiprobe", NULL);
}

module_init(abiprobe_init);
module_exit(abiprobe_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("btffilter ABI probe: functions of every argument shape, called with known bytes");
