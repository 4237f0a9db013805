/* Source of the relocatable fixtures: a struct, a global and a function, so
 * that the objects have .text, .data/.bss, a symbol table and (for the BPF
 * targets) a .BTF section describing them. */
struct pair {
	int a;
	long b;
};

int counter = 1;

int add(struct pair *p, int x)
{
	return p->a + (int)p->b + x + counter;
}
