/*
 * Types shared by base.c (the "kernel") and module.c (the "module"), so that
 * the module's split BTF refers back to types that live in the base BTF.
 */
#ifndef FIXTURE_KERN_H
#define FIXTURE_KERN_H

#ifndef __has_attribute
#define __has_attribute(x) 0
#endif

/* clang records these in DWARF and pahole turns them into DECL_TAG/TYPE_TAG;
 * gcc 12 does not know them, so they vanish there. */
#if __has_attribute(btf_decl_tag)
#define __decl_tag(x) __attribute__((btf_decl_tag(x)))
#else
#define __decl_tag(x)
#endif
#if __has_attribute(btf_type_tag)
#define __type_tag(x) __attribute__((btf_type_tag(x)))
#else
#define __type_tag(x)
#endif

#define __user __type_tag("user")
#define __rcu __type_tag("rcu")
#define __kfunc __decl_tag("bpf_kfunc")
#define __fn __attribute__((noinline, used))
#define __percpu_data __attribute__((section(".data..percpu")))

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;
typedef _Bool bool;

/* Declared only: BTF carries it as FWD. */
struct device;

enum state {
	ST_IDLE,
	ST_RUNNING,
	ST_STOPPED = 7,
};

/* Needs 64 bits: ENUM64 (pahole >= 1.24, clang BPF). */
enum wide_mask {
	WM_LOW = 1ULL,
	WM_HIGH = 1ULL << 40,
	WM_ALL = ~0ULL,
};

/* A signed enum with a negative value. */
enum errcode {
	E_FAIL = -1,
	E_OK = 0,
};

struct list_node {
	struct list_node *next, *prev;
};

/* Bitfields, a nested union, a restrict pointer and const/volatile. */
struct flags {
	u32 ready : 1;
	u32 mode : 3;
	u32 level : 12;
	u32 : 0;
	u64 seq : 48;
	volatile u32 counter;
	const char *restrict label;
};

union value {
	u64 u;
	s64 s;
	double d;
	float f;
	u8 bytes[8];
};

struct request;

/* A function pointer member: the FUNC_PROTO of complete() is used by this
 * member only, never by a FUNC. */
typedef void (*complete_fn)(struct request *req, int status, void *ctx);

struct request {
	struct list_node node;
	enum state state;
	enum wide_mask mask;
	struct flags flags;
	union value val;
	u32 ids[4];
	char name[16];
	struct device *dev;
	complete_fn complete;
	long (*transform)(const struct request *req, unsigned long arg, u16 width);
	void __user *ubuf;
	struct request __rcu *peer;
} __decl_tag("request_tag");

struct queue {
	struct list_node head;
	unsigned int len;
	struct request *reqs[8];
	const volatile int *status;
};

/* Exported by base.c and used by module.c. */
extern struct queue main_queue;
int queue_push(struct queue *q, struct request *req);
int queue_len(const struct queue *q);
struct request *queue_pop(struct queue *q);

#endif
