/* Parameter layouts for the DWARF scanner's layout tests
 * (filter/internal/dwarf/layout_test.go): one function per case of docs/facts.md §3.
 * Built by build.sh; every function is kept out of line and reads all of
 * its arguments, so that each one has a location at entry. */

#define __noinline __attribute__((noinline, used))
#define __packed __attribute__((packed))

struct packed_mis {		/* packed, member b misaligned */
	char a;
	int b;
	long c;
} __packed;

struct packed_aligned {		/* packed, but every member aligned: undetectable */
	long a;
	long b;
} __packed;

struct packed_tail {		/* packed, members aligned, size 5 */
	int a;
	char b;
} __packed;

struct aligned_struct {		/* aligned(16) on the struct */
	long a;
} __attribute__((aligned(16)));

struct aligned_member {		/* aligned(16) on a member */
	long a;
	long b __attribute__((aligned(16)));
};

struct with_int128 {
	__int128 v;
};

typedef struct {		/* anonymous struct through a typedef */
	int x;
	int y;
} anon_t;

typedef const struct packed_mis cpacked_t;	/* typedef'd const packed struct */

struct bits {			/* ordinary bit fields */
	unsigned int a : 3;
	unsigned int b : 7;
	unsigned int c : 22;
	unsigned char d;
};

struct packed_bits {		/* packed bit field straddling an int */
	unsigned char a;
	unsigned int b : 30;
	unsigned int c : 2;
} __packed;

union packed_union {
	char c;
	int i;
} __packed;

struct outer {			/* a packed member at an aligned offset */
	long x;
	struct packed_mis in;
};

struct arr {
	char tag;
	double d[3];
};

volatile long sink;

__noinline long f_packed_mis(struct packed_mis p, long y) { sink = p.b + y; return p.c; }
__noinline long f_packed_aligned(struct packed_aligned p) { return p.a + p.b; }
__noinline long f_packed_tail(long x, struct packed_tail p) { return x + p.a + p.b; }
__noinline long f_aligned_struct(long x, struct aligned_struct s) { return x + s.a; }
__noinline long f_aligned_member(long x, struct aligned_member s) { return x + s.a + s.b; }
__noinline long f_int128(long x, __int128 v, long y) { return x + (long)v + y; }
__noinline long f_uint128(unsigned __int128 v, long y) { return (long)(v >> 3) + y; }
__noinline long f_with_int128(long x, struct with_int128 s) { return x + (long)s.v; }
__noinline long f_anon(anon_t a) { return a.x * a.y; }
__noinline long f_cpacked(long x, cpacked_t p) { return x + p.a + p.b; }
__noinline long f_bits(struct bits b) { return b.a + b.b + b.c + b.d; }
__noinline long f_packed_bits(struct packed_bits b) { return b.a + b.b + b.c; }
__noinline long f_packed_union(union packed_union u) { return u.i; }
__noinline long f_outer(struct outer o) { return o.x + o.in.b; }
__noinline double f_arr(struct arr a) { return a.d[0] + a.d[2] + a.tag; }
__noinline double f_complex(_Complex double z, double w) { return __real__ z + __imag__ z + w; }
__noinline long f_const_volatile(const volatile long x, long *const restrict p) { return x + *p; }
__noinline long f_variadic(int n, ...) { return n; }
