/*
 * A small "module": split BTF on top of base.c's BTF. It uses the shared
 * types of kern.h (these dedup into the base) and adds its own.
 */
#include "kern.h"

enum mod_op {
	MOP_READ = 1,
	MOP_WRITE,
	MOP_FLUSH,
};

struct mod_ctx {
	struct queue *q;
	struct request pending;
	enum mod_op last_op;
	u16 ports[3];
	struct {
		u32 hits;
		u32 misses;
	} stats;
	union {
		void *priv;
		unsigned long cookie;
	};
	int (*handler)(struct mod_ctx *ctx, enum mod_op op);
};

typedef struct mod_ctx mod_ctx_t;

__percpu_data int mod_percpu_hits;

static struct mod_ctx the_ctx;

__fn int mod_submit(struct mod_ctx *ctx, struct request *req)
{
	ctx->stats.hits++;
	return queue_push(ctx->q, req);
}

__fn int mod_flush(struct mod_ctx *ctx, enum mod_op op)
{
	ctx->last_op = op;
	while (queue_pop(ctx->q))
		ctx->stats.misses++;
	return queue_len(&main_queue);
}

__fn __kfunc int bpf_mod_ctx_hits(const mod_ctx_t *ctx)
{
	return (int)ctx->stats.hits;
}

__fn mod_ctx_t *mod_ctx_get(void)
{
	mod_percpu_hits++;
	the_ctx.q = &main_queue;
	the_ctx.handler = mod_flush;
	return &the_ctx;
}

__fn long mod_port_sum(const u16 ports[3], u8 scale)
{
	return (long)(ports[0] + ports[1] + ports[2]) * scale;
}

/* What a module loader and a tool read: .modinfo strings (the vermagic
 * names the kernel release) and a placeholder for .gnu.linkonce.this_module
 * (a real module holds its struct module there; this one holds only a name,
 * so no consumer must parse it). */
#ifdef __aarch64__
#define FIXTURE_VERMAGIC "6.1.0-fixture-arm64 SMP mod_unload modversions aarch64"
#elif defined(__x86_64__)
#define FIXTURE_VERMAGIC "6.1.0-fixture-amd64 SMP preempt mod_unload modversions "
#else
#define FIXTURE_VERMAGIC "6.1.0-fixture SMP mod_unload "
#endif
#define MODINFO(tag, str)                                                           \
	static const char __modinfo_##tag[]                                         \
		__attribute__((section(".modinfo"), used, aligned(1))) = #tag "=" str
MODINFO(license, "GPL");
MODINFO(name, "module");
MODINFO(vermagic, FIXTURE_VERMAGIC);

__attribute__((section(".gnu.linkonce.this_module"), used)) char this_module_name[64] = "module";

int init_module(void)
{
	return mod_ctx_get() ? 0 : -1;
}
