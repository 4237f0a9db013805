/* Source of the linked fixtures. Like a vmlinux, they carry an SHF_ALLOC .BTF
 * section (the BTF blob of fixture.c, pulled in with .incbin) whose size is
 * fixed at link time, and a .BTF_ids section with resolve_btfids-style
 * symbols whose values are addresses. */
__asm__(".section .BTF,\"a\"\n"
	".incbin \"" BTF_BLOB "\"\n"
	".previous\n");

__asm__(".section .BTF_ids,\"a\"\n"
	".balign 4\n"
	".globl __BTF_ID__struct__pair__1\n"
	".type __BTF_ID__struct__pair__1, @object\n"
	".size __BTF_ID__struct__pair__1, 4\n"
	"__BTF_ID__struct__pair__1:\n"
	".long 0\n"
	".globl __BTF_ID__set__demo\n"
	".type __BTF_ID__set__demo, @object\n"
	".size __BTF_ID__set__demo, 12\n"
	"__BTF_ID__set__demo:\n"
	".long 2, 0, 0\n"
	".previous\n");

int counter = 1;

void _start(void)
{
	for (;;)
		counter++;
}
