package e2e

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// TraceableFuncs returns the names of the BTF FUNCs of a module file (split
// BTF on its own .BTF.base when it has one, else on base, the vmlinux BTF)
// that fentry can be expected to attach to once the module is loaded, in
// BTF order:
//   - an ELF function symbol of that name lies in a .text section (not
//     .init.text, freed after init, nor .exit.text);
//   - the function has an ftrace call site: a record in __mcount_loc (x86)
//     or __patchable_function_entries (arm64) points into it or into the
//     few bytes before it (arm64 call ops place the NOPs before the entry);
//     code built without ftrace (lib/crc7.ko, for example) has none;
//   - the name is a single FUNC in the module and absent from base (the
//     vmlinux BTF in either case), so that resolving it by name, as
//     cilium/ebpf does, finds this very function.
func TraceableFuncs(path string, base *btf.Spec) ([]string, error) {
	ko, err := readModule(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// On its distilled base (.BTF.base) when it has one.
	spec, err := moduleSpec(path, f, base)
	if err != nil {
		return nil, err
	}
	traced, err := ftracedFuncs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	count := map[string]int{}
	var order []string
	for typ, err := range spec.All() {
		if err != nil {
			return nil, fmt.Errorf("%s: module BTF: %w", path, err)
		}
		fn, ok := typ.(*btf.Func)
		if !ok {
			continue
		}
		if count[fn.Name] == 0 {
			order = append(order, fn.Name)
		}
		count[fn.Name]++
	}
	var out []string
	for _, name := range order {
		if count[name] != 1 || !traced[name] {
			continue
		}
		var f *btf.Func
		if err := base.TypeByName(name, &f); !errors.Is(err, btf.ErrNotFound) {
			continue
		}
		out = append(out, name)
	}
	return out, nil
}

// ftracedFuncs returns the names of the function symbols in .text sections
// that hold an ftrace call-site record.
func ftracedFuncs(f *elf.File) (map[string]bool, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbol table: %w", err)
	}
	// Function symbols per section, sorted by address.
	funcs := map[elf.SectionIndex][]elf.Symbol{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		name := f.Sections[s.Section].Name
		if name != ".text" && !strings.HasPrefix(name, ".text.") {
			continue
		}
		funcs[s.Section] = append(funcs[s.Section], s)
	}
	for _, l := range funcs {
		sort.Slice(l, func(i, j int) bool { return l[i].Value < l[j].Value })
	}
	out := map[string]bool{}
	for _, rs := range f.Sections {
		if rs.Type != elf.SHT_RELA || int(rs.Info) >= len(f.Sections) {
			continue
		}
		target := f.Sections[rs.Info].Name
		if target != "__mcount_loc" && target != "__patchable_function_entries" {
			continue
		}
		data, err := rs.Data()
		if err != nil {
			return nil, fmt.Errorf("section %s at offset %#x: %w", rs.Name, rs.Offset, err)
		}
		if f.Class != elf.ELFCLASS64 || len(data)%24 != 0 {
			return nil, fmt.Errorf("section %s at offset %#x: size %d is not a whole number of Elf64_Rela", rs.Name, rs.Offset, len(data))
		}
		for off := 0; off < len(data); off += 24 {
			info := f.ByteOrder.Uint64(data[off+8:])
			addend := int64(f.ByteOrder.Uint64(data[off+16:]))
			symIdx := int(info >> 32)
			// The table from f.Symbols leaves out the null symbol 0.
			if symIdx == 0 || symIdx > len(syms) {
				return nil, fmt.Errorf("section %s at offset %#x: relocation %d names symbol %d of %d", rs.Name, rs.Offset, off/24, symIdx, len(syms))
			}
			s := syms[symIdx-1]
			if name := funcAt(funcs[s.Section], s.Value+uint64(addend)); name != "" {
				out[name] = true
			}
		}
	}
	return out, nil
}

// funcAt names the function of sorted that contains addr or starts at most
// 16 bytes after it.
func funcAt(sorted []elf.Symbol, addr uint64) string {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i].Value > addr })
	if i > 0 {
		s := sorted[i-1]
		if addr < s.Value+s.Size {
			return s.Name
		}
	}
	if i < len(sorted) && sorted[i].Value-addr <= 16 {
		return sorted[i].Name
	}
	return ""
}
