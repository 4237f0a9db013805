/*
 * A small "kernel": types of every shape BTF can describe, per-CPU variables
 * (pahole 1.24 emits VAR/DATASEC only for .data..percpu), and many small
 * functions that survive -O2 as out-of-line global symbols.
 */
#include "kern.h"

struct queue main_queue;

/* pahole 1.24 only encodes variables of the .data..percpu section. */
__percpu_data int cpu_counter = 1;
__percpu_data struct flags cpu_flags __decl_tag("percpu_tag");
__percpu_data unsigned long cpu_hist[4];

int tick_total;
const char banner[] = "fixture kernel 1.0";

/* Functions sharing one prototype: int (struct queue *, struct request *). */
__fn int queue_push(struct queue *q, struct request *req)
{
	if (q->len >= 8)
		return E_FAIL;
	q->reqs[q->len++] = req;
	return E_OK;
}

__fn int queue_push_front(struct queue *q, struct request *req)
{
	unsigned int i;

	if (q->len >= 8)
		return E_FAIL;
	for (i = q->len; i > 0; i--)
		q->reqs[i] = q->reqs[i - 1];
	q->reqs[0] = req;
	q->len++;
	return E_OK;
}

__fn int queue_remove(struct queue *q, struct request *req)
{
	unsigned int i;

	for (i = 0; i < q->len; i++)
		if (q->reqs[i] == req) {
			q->reqs[i] = q->reqs[--q->len];
			return E_OK;
		}
	return E_FAIL;
}

__fn int queue_len(const struct queue *q)
{
	return (int)q->len;
}

__fn struct request *queue_pop(struct queue *q)
{
	return q->len ? q->reqs[--q->len] : (struct request *)0;
}

/* A kfunc: must never be removed by a filter. */
__fn __kfunc struct request *bpf_request_acquire(struct request *req)
{
	req->flags.counter++;
	return req;
}

__fn __kfunc void bpf_request_release(struct request *req)
{
	req->flags.counter--;
}

__fn int request_set_state(struct request *req, enum state st)
{
	req->state = st;
	return req->state == ST_RUNNING;
}

__fn enum wide_mask request_mask(const struct request *req, enum wide_mask add)
{
	return (enum wide_mask)(req->mask | add);
}

__fn u64 request_seq(const struct request *req)
{
	return req->flags.seq;
}

__fn double value_as_double(union value v)
{
	return v.d + (double)v.f;
}

__fn union value value_from_u64(u64 x)
{
	union value v;

	v.u = x;
	return v;
}

__fn long request_copy_name(struct request *req, const char *restrict src, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n && i < sizeof(req->name) - 1; i++)
		req->name[i] = src[i];
	req->name[i] = 0;
	return (long)i;
}

__fn int request_read_user(struct request *req, void __user *dst, u32 len)
{
	req->ubuf = dst;
	return (int)len;
}

__fn bool request_has_dev(const struct request *req)
{
	return req->dev != 0;
}

__fn void request_complete(struct request *req, int status)
{
	if (req->complete)
		req->complete(req, status, req->ubuf);
}

__fn int cpu_counter_add(int delta)
{
	cpu_counter += delta;
	cpu_hist[delta & 3]++;
	tick_total += delta;
	return cpu_counter;
}

/* Eight scalar arguments: more than x86-64 has registers. */
__fn long sum8(long a, long b, long c, long d, long e, long f, long g, long h)
{
	return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8;
}

/* A by-value struct of 16 bytes and a pointer to volatile. */
struct pair {
	long first;
	long second;
};

__fn long pair_sum(struct pair p, volatile int *sink)
{
	*sink = (int)p.first;
	return p.first + p.second;
}

/* Arguments whose real ABI location differs from the one BTF alone implies
 * (docs/facts.md §3 and §4): a packed struct with a misaligned member (x86-64
 * passes it in memory, shifting y into the first register) and a 16-byte
 * aligned __int128 (arm64 starts it at an even register). pahole 1.24 keeps
 * FUNCs for both. */
struct packed_arg {
	char c;
	int i;
	long l;
} __attribute__((packed));

__fn long packed_first(struct packed_arg p, long y)
{
	return p.l + p.i + p.c + y;
}

#ifdef __SIZEOF_INT128__
__fn long wide_middle(long a, __int128 x, long y)
{
	return a + (long)(x >> 64) + (long)x + y;
}
#endif

__fn const char *kernel_banner(void)
{
	return banner;
}

/* A trivial entry point for the linked "vmlinux-like" executable. */
__fn void start_kernel(void)
{
	struct request r = { 0 };

	queue_push(&main_queue, &r);
	cpu_counter_add(1);
}
