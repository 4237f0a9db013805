/*
 * A .BTF_ids section laid out the way the kernel's resolve_btfids expects it
 * (see docs/facts.md §7), written with this file's own macros. Every ID word is 0:
 * tests fill them from the BTF of the linked fixture.
 *
 *   __BTF_ID__<kind>__<name>__<n>  a 4-byte slot for one type ID
 *   __BTF_ID__set__<name>          {u32 cnt; u32 ids[cnt]}
 *   __BTF_ID__set8__<name>         {u32 cnt; u32 flags; {u32 id; u32 flags} pairs[cnt]}
 *
 * cnt is written here (resolve_btfids would derive it from the symbol size,
 * which is set too). Compiled without -g: it adds no DWARF and no BTF.
 */

#define FX_STR(x) #x

/* A slot symbol: local, 4 bytes, value 0. */
#define FX_SLOT(kind, name, n)                                                   \
	".local __BTF_ID__" #kind "__" #name "__" FX_STR(n) "\n"                  \
	".type __BTF_ID__" #kind "__" #name "__" FX_STR(n) ", @object\n"         \
	".size __BTF_ID__" #kind "__" #name "__" FX_STR(n) ", 4\n"               \
	"__BTF_ID__" #kind "__" #name "__" FX_STR(n) ":\n"                        \
	".long 0\n"

#define FX_SECTION_BEGIN ".pushsection .BTF_ids, \"a\"\n"
#define FX_SECTION_END ".popsection\n"

/* A single ID list: one func slot, one struct slot, one typedef slot. */
__asm__(FX_SECTION_BEGIN
	".balign 4\n"
	".globl fixture_id_list\n"
	"fixture_id_list:\n"
	FX_SLOT(func, queue_push, 1)
	FX_SLOT(struct, request, 2)
	FX_SLOT(typedef, u64, 3)
	FX_SLOT(union, value, 4)
	FX_SECTION_END);

/* A set: {cnt = 2, ids}. */
__asm__(FX_SECTION_BEGIN
	".balign 4\n"
	".local __BTF_ID__set__fixture_set\n"
	".type __BTF_ID__set__fixture_set, @object\n"
	".size __BTF_ID__set__fixture_set, 12\n"
	"__BTF_ID__set__fixture_set:\n"
	".long 2\n"
	FX_SLOT(func, queue_len, 5)
	FX_SLOT(func, queue_pop, 6)
	FX_SECTION_END);

/* A set8 of kfuncs: {cnt = 3, flags = 1 (BTF_SET8_KFUNCS), pairs}. The pair
 * flags are distinct so a re-sort can be checked to move them with their id. */
#define FX_PAIR(name, n, flags) FX_SLOT(func, name, n) ".long " FX_STR(flags) "\n"

__asm__(FX_SECTION_BEGIN
	".balign 4\n"
	".local __BTF_ID__set8__fixture_kfuncs\n"
	".type __BTF_ID__set8__fixture_kfuncs, @object\n"
	".size __BTF_ID__set8__fixture_kfuncs, 32\n"
	"__BTF_ID__set8__fixture_kfuncs:\n"
	".long 3\n"
	".long 1\n"
	FX_PAIR(bpf_request_release, 7, 0x2)
	FX_PAIR(bpf_request_acquire, 8, 0x1)
	FX_PAIR(request_set_state, 9, 0x10)
	FX_SECTION_END);
