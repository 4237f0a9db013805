/*
 * A BPF-flavoured object. For BPF targets clang writes .BTF (and .BTF.ext)
 * itself, so this one file gives the big-endian (bpfeb) and little-endian
 * (bpfel) encodings of the same types.
 */
#include "kern.h"

#define SEC(name) __attribute__((section(name), used))

/* A map definition in the style libbpf reads from .maps. */
struct {
	int (*type)[2];
	int (*max_entries)[64];
	u32 *key;
	struct request *value;
} requests SEC(".maps");

/* .data, .bss and .rodata: DATASECs with VARs. */
int hits = 1;
u64 misses;
const volatile u32 limit = 16;
float ratio = 0.5f;
enum wide_mask last_mask;
char _license[] SEC("license") = "GPL";

struct ctx_args {
	u64 pad;
	long id;
	unsigned long args[6];
};

static __attribute__((noinline)) int count(struct request *r, enum wide_mask m)
{
	return r ? (int)(r->ids[0] + (m == WM_HIGH)) : -1;
}

__attribute__((noinline)) __decl_tag("global_func") int global_helper(const struct queue *q,
									     union value *v)
{
	return (int)(q->len + v->u);
}

SEC("tracepoint/syscalls/sys_enter_openat") int on_open(struct ctx_args *ctx)
{
	struct request r = { 0 };
	struct queue q = { 0 };
	union value v = { 0 };

	r.ids[0] = (u32)ctx->id;
	hits += count(&r, WM_HIGH) + global_helper(&q, &v);
	if (hits > (int)limit)
		misses++;
	return 0;
}
