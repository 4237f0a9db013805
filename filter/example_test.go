package filter_test

import (
	"fmt"
	"log"
	"os"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter"
)

// A raw blob, filtered by name only: the FUNC goes, and with it the
// FUNC_PROTO nothing else uses.
func ExampleBlob() {
	raw, err := os.ReadFile("../testdata/x86_64/gcc/base.btf")
	if err != nil {
		log.Fatal(err)
	}
	res, err := filter.Blob(raw, filter.BlobOptions{Judging: filter.Judging{Drop: []string{"wide_middle"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d -> %d types\n", res.TypesBefore, res.TypesAfter)
	for _, r := range res.Removed {
		fmt.Printf("%s [%d]: %s (%s)\n", r.Name, r.BTFID, r.Rule, r.Reason)
	}
	// Output:
	// 108 -> 106 types
	// wide_middle [66]: drop (matches --drop wide_middle)
}

// A linked kernel image judged by the default rules: the ELF gives the
// function symbols, the architecture and the kernel release, and its DWARF
// the real layout of every argument.
func ExampleBlob_defaultRules() {
	f, err := elfio.Open("../testdata/x86_64/vmlinux-like")
	if err != nil {
		log.Fatal(err)
	}
	raw, err := f.BTF()
	if err != nil {
		log.Fatal(err)
	}
	res, err := filter.Blob(raw, filter.BlobOptions{Object: f, DWARF: f})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Removed {
		fmt.Printf("%s: %s: %s\n", r.Name, r.Rule, r.Reason)
	}
	// Output:
	// wide_middle: abi: arg 1 (__int128, 16 bytes): ABI passes it in rsi-rdx, trampoline reads rsi; 1 later argument(s) misread too (kernel 6.1, x86_64)
	// packed_first: abi: arg 0 (struct packed_arg, 13 bytes, packed): ABI passes it on the stack at [sp+0], trampoline reads rdi-rsi; 1 later argument(s) misread too (kernel 6.1, x86_64)
}

// A vmlinux and a module built against it: the module is filtered against
// the rewritten vmlinux, and so moved onto its new type IDs.
func ExampleBlobResult_Base() {
	vmlinux, err := elfio.Open("../testdata/x86_64/vmlinux-like")
	if err != nil {
		log.Fatal(err)
	}
	module, err := elfio.Open("../testdata/modules/module.ko")
	if err != nil {
		log.Fatal(err)
	}
	vraw, err := vmlinux.BTF()
	if err != nil {
		log.Fatal(err)
	}
	mraw, err := module.BTF()
	if err != nil {
		log.Fatal(err)
	}
	drop := filter.Judging{Drop: []string{"queue_push"}}
	v, err := filter.Blob(vraw, filter.BlobOptions{Judging: drop, PadTo: len(vraw)})
	if err != nil {
		log.Fatal(err)
	}
	m, err := filter.Blob(mraw, filter.BlobOptions{Judging: drop, Base: v.Base()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("vmlinux: %d -> %d types, %d bytes (its size is fixed)\n", v.TypesBefore, v.TypesAfter, len(v.BTF))
	fmt.Printf("module: its types start at ID %d, were at %d\n", m.Spec.FirstID(), v.TypesBefore+1)
	// Output:
	// vmlinux: 122 -> 121 types, 3493 bytes (its size is fixed)
	// module: its types start at ID 122, were at 123
}
