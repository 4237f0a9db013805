#include "shared.h"

struct sock {
	u32 family;
	struct task *owner;
	struct stats st;
	volatile const u64 *counters[4];
};

struct sock global_sock;
struct ops b_ops;

int b_handle(struct task *t, struct sock *sk, u32 arg)
{
	return (int)(sk->family + arg) + (t != 0);
}
