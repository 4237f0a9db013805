#include "shared.h"

struct task {
	int pid;
	struct task *parent;
	struct sock *sk;
	struct list_head children;
	enum state st;
};

struct sock {
	u32 family;
	struct task *owner;
	struct stats st;
	volatile const u64 *counters[4];
};

/* Same name, different layout: must stay a separate type. */
struct stats_v2 {
	u64 packets;
	unsigned int flags : 4;
	unsigned int mode : 4;
};

struct ops c_ops;
struct stats_v2 c_stats;
enum state c_state;

int c_handle(struct task *t, struct sock *sk, u32 arg)
{
	return t->pid + (int)sk->family + (int)arg + c_stats.mode;
}
