/* Entry point of the linked "vmlinux-like" fixture; it is never run. */
void start_kernel(void);

/* Where a tool finds the kernel release of a vmlinux (docs/facts.md §2, "Versions"). The
 * release names the trampoline model the fixture pretends to belong to. */
__attribute__((used)) const char linux_banner[] =
	"Linux version 6.1.0-fixture-amd64 (fixture@localhost) (gcc-12) "
	"#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-0\n";

__attribute__((noreturn, used)) void _start(void)
{
	start_kernel();
	for (;;)
		;
}

/* The compiler may turn loops and initialisers into calls to these, as in
 * the kernel, which provides its own. */
typedef unsigned long size_t;

__attribute__((used)) void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s)
		while (n--)
			*d++ = *s++;
	else
		while (n--)
			d[n] = s[n];
	return dst;
}

__attribute__((used)) void *memcpy(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

__attribute__((used)) void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
