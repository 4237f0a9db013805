/*
 * One function per calling-convention case of docs/facts.md §3 and its near
 * misses, for the `abi` rule (package filter/internal/abi). Every function is global,
 * noinline and used, so the compilers keep its signature, its parameters and
 * their entry locations; each body reads every parameter so that DWARF gives
 * them a location. Built by scripts/build-abi-fixtures.sh.
 *
 * The expected verdicts are in expected-<arch>.tsv, derived by hand.
 */
#define __packed __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))
#define fn __attribute__((noinline, used)) long

/* 13 bytes; i at offset 1 and l at offset 5 are misaligned. */
struct pk_mis { char c; int i; long l; } __packed;
/* 9 bytes, alignment 1, but every member at a multiple of its alignment. */
struct pk_ok { int a; int b; char c; } __packed;
/* 5 bytes; i at offset 1 is misaligned. */
struct pk_small { char c; int i; } __packed;
/* 5 bytes, members at offset 0. */
union pku { int i; char c[5]; } __packed;
/* 8 bytes; the int inside s (offset 1) is misaligned. */
union pku_mis { struct pk_small s; long l; } __packed;

struct s8 { long a; };
struct s12 { int a, b, c; };
struct s16 { long a, b; };
struct s24 { long a, b, c; };
/* aligned(16) on the struct: natural alignment 8 (AAPCS64 B.6). */
struct al16s { long a, b; } __aligned(16);
/* aligned(16) on a member: natural alignment 16. */
struct al16m { long a __aligned(16); long b; };
struct i128s { __int128 v; };

typedef struct pk_mis pk_mis_t;
typedef struct { char c; int i; long l; } __packed anon_pk_t;

enum colour { RED, GREEN, BLUE };

#define PK(x) ((x).c + (x).i + (x).l)
#define OK(x) ((x).a + (x).b + (x).c)
#define SM(x) ((x).c + (x).i)

/* Packed struct with misaligned members at positions 1, 3, 6, 7, 9. */
fn pk_mis_p1(struct pk_mis x, long a) { return PK(x) + a; }
fn pk_mis_p3(long a, long b, struct pk_mis x, long c) { return a + b + PK(x) + c; }
fn pk_mis_p6(long a, long b, long c, long d, long e, struct pk_mis x, long f)
{ return a + b + c + d + e + PK(x) + f; }
fn pk_mis_p7(long a, long b, long c, long d, long e, long f, struct pk_mis x, long g)
{ return a + b + c + d + e + f + PK(x) + g; }
fn pk_mis_p9(long a, long b, long c, long d, long e, long f, long g, long h,
	     struct pk_mis x, long i)
{ return a + b + c + d + e + f + g + h + PK(x) + i; }

/* Packed struct whose members are all aligned, same positions. */
fn pk_ok_p1(struct pk_ok x, long a) { return OK(x) + a; }
fn pk_ok_p3(long a, long b, struct pk_ok x, long c) { return a + b + OK(x) + c; }
fn pk_ok_p6(long a, long b, long c, long d, long e, struct pk_ok x, long f)
{ return a + b + c + d + e + OK(x) + f; }
fn pk_ok_p7(long a, long b, long c, long d, long e, long f, struct pk_ok x, long g)
{ return a + b + c + d + e + f + OK(x) + g; }
fn pk_ok_p9(long a, long b, long c, long d, long e, long f, long g, long h,
	    struct pk_ok x, long i)
{ return a + b + c + d + e + f + g + h + OK(x) + i; }

/* A one-slot packed struct: at position 6 it fits the last register. */
fn pk_small_p1(struct pk_small x, long a) { return SM(x) + a; }
fn pk_small_p6(long a, long b, long c, long d, long e, struct pk_small x, long f)
{ return a + b + c + d + e + SM(x) + f; }

/* The same packed struct behind a typedef, a qualifier, or anonymous. */
fn pk_typedef(pk_mis_t x, long a) { return PK(x) + a; }
fn pk_const(const struct pk_mis x, long a) { return PK(x) + a; }
fn pk_anon(struct { char c; int i; long l; } __packed x, long a) { return PK(x) + a; }
fn pk_anon_typedef(anon_pk_t x, long a) { return PK(x) + a; }
fn pk_ptr(struct pk_mis *p, long a) { return PK(*p) + a; }

/* Packed unions. */
fn pk_union(union pku x, long a) { return x.i + x.c[4] + a; }
fn pk_union_mis(union pku_mis x, long a) { return x.l + x.s.i + a; }

/* aligned(16) on the struct and on a member, struct holding __int128. */
fn al16s_p1(long a, struct al16s x, long b) { return a + x.a + x.b + b; }
fn al16m_p1(long a, struct al16m x, long b) { return a + x.a + x.b + b; }
fn al16m_p2(long a, long b, struct al16m x, long c) { return a + b + x.a + x.b + c; }
fn i128s_p1(long a, struct i128s x, long b) { return a + (long)(x.v >> 64) + (long)x.v + b; }
fn i128s_p2(long a, long b, struct i128s x, long c)
{ return a + b + (long)(x.v >> 64) + (long)x.v + c; }

/* __int128 and unsigned __int128 at odd and even positions. */
fn i128_p1(long a, __int128 x, long b) { return a + (long)(x >> 64) + (long)x + b; }
fn i128_p2(long a, long b, __int128 x, long c) { return a + b + (long)(x >> 64) + (long)x + c; }
fn u128_p0(unsigned __int128 x, long b) { return (long)(x >> 64) + (long)x + b; }
fn u128_p1(long a, unsigned __int128 x, long b) { return a + (long)(x >> 64) + (long)x + b; }
fn u128_p5(long a, long b, long c, long d, long e, unsigned __int128 x, long f)
{ return a + b + c + d + e + (long)(x >> 64) + (long)x + f; }
fn i128_p7(long a, long b, long c, long d, long e, long f, long g, __int128 x, long h)
{ return a + b + c + d + e + f + g + (long)(x >> 64) + (long)x + h; }

/* 16-byte aligned arguments after one 8-byte stack argument. */
fn i128_stack(long a, long b, long c, long d, long e, long f, long g, long h,
	      long i, __int128 x, long j)
{ return a + b + c + d + e + f + g + h + i + (long)(x >> 64) + (long)x + j; }
fn al16s_stack(long a, long b, long c, long d, long e, long f, long g, long h,
	       long i, struct al16s x, long j)
{ return a + b + c + d + e + f + g + h + i + x.a + x.b + j; }
fn al16m_stack(long a, long b, long c, long d, long e, long f, long g, long h,
	       long i, struct al16m x, long j)
{ return a + b + c + d + e + f + g + h + i + x.a + x.b + j; }

/* 8-, 12-, 16- and 24-byte structs. */
fn s8_p1(long a, struct s8 x, long b) { return a + x.a + b; }
fn s12_p1(long a, struct s12 x, long b) { return a + x.a + x.b + x.c + b; }
fn s16_p1(long a, struct s16 x, long b) { return a + x.a + x.b + b; }
fn s24_p1(long a, struct s24 x, long b) { return a + x.a + x.b + x.c + b; }

/* Structs pushed to the stack when the registers run out. */
fn s16_stack6(long a, long b, long c, long d, long e, struct s16 x, long f)
{ return a + b + c + d + e + x.a + x.b + f; }
fn s16_stack8(long a, long b, long c, long d, long e, long f, long g, struct s16 x, long h)
{ return a + b + c + d + e + f + g + x.a + x.b + h; }

/* 6 to 13 scalar arguments. */
fn args6(long a, long b, long c, long d, long e, long f)
{ return a + b + c + d + e + f; }
fn args7(long a, long b, long c, long d, long e, long f, long g)
{ return a + b + c + d + e + f + g; }
fn args8(long a, long b, long c, long d, long e, long f, long g, char h)
{ return a + b + c + d + e + f + g + h; }
fn args9(long a, long b, long c, long d, long e, long f, long g, long h, long i)
{ return a + b + c + d + e + f + g + h + i; }
fn args10(long a, long b, long c, long d, long e, long f, long g, long h, long i, int j)
{ return a + b + c + d + e + f + g + h + i + j; }
fn args11(long a, long b, long c, long d, long e, long f, long g, long h, long i, long j,
	  long k)
{ return a + b + c + d + e + f + g + h + i + j + k; }
fn args12(long a, long b, long c, long d, long e, long f, long g, long h, long i, long j,
	  long k, short l)
{ return a + b + c + d + e + f + g + h + i + j + k + l; }
fn args13(long a, long b, long c, long d, long e, long f, long g, long h, long i, long j,
	  long k, long l, long m)
{ return a + b + c + d + e + f + g + h + i + j + k + l + m; }

/* Small scalars of every kind. */
fn scalars(char c, short s, int i, enum colour e, void *p, _Bool b)
{ return c + s + i + e + (long)p + b; }

/* What the kernel refuses whatever the layout. */
__attribute__((noinline, used)) struct s8 ret_struct(long a) { struct s8 r = { a }; return r; }
fn variadic(long a, ...) { return a; }
