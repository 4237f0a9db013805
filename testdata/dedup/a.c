#include "shared.h"

struct task {
	int pid;
	struct task *parent;
	struct sock *sk;
	struct list_head children;
	enum state st;
};

struct task global_task;
struct ops a_ops;
struct stats a_stats[2];

int a_handle(struct task *t, struct sock *sk, u32 arg)
{
	return t->pid + (int)arg + (sk != 0) + a_stats[0].mode;
}
