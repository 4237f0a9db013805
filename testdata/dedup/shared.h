/* Types shared by the three units; each unit sees a different part of the
 * graph completely and the rest through forward declarations. */
#ifndef SHARED_H
#define SHARED_H

typedef unsigned int u32;
typedef unsigned long long u64;

struct task;
struct sock;

enum state { ST_IDLE, ST_BUSY, ST_DONE };

struct list_head {
	struct list_head *next, *prev;
};

struct stats {
	u64 packets;
	u64 bytes;
	unsigned int flags : 3;
	unsigned int mode : 5;
	u32 hist[8];
};

typedef int (*handler_fn)(struct task *t, struct sock *sk, u32 arg);

struct ops {
	handler_fn handle;
	const char *name;
	struct list_head link;
};
#endif
