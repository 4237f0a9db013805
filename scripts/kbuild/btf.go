package kbuild

import (
	"fmt"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
)

// LoadBTF decodes the BTF of path (an ELF file's .BTF, or a raw blob) on
// base (nil for base BTF). A module with a distilled base (.BTF.base, what
// resolve_btfids --distill_base gives an external module) is decoded on
// that instead.
func LoadBTF(path string, base *btf.Spec) (*btf.Spec, error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, err
	}
	raw, err := f.BTF()
	if err != nil {
		return nil, err
	}
	if f.Section(".BTF.base") != nil {
		data, err := f.SectionData(".BTF.base")
		if err != nil {
			return nil, err
		}
		if base, err = btf.Decode(data, nil); err != nil {
			return nil, elfio.InSection(path, ".BTF.base", err)
		}
	}
	spec, err := btf.Decode(raw, base)
	if err != nil {
		return nil, elfio.InSection(path, ".BTF", err)
	}
	return spec, nil
}

// CheckSorted checks the order resolve_btfids (7.x, sort_btf_by_name)
// leaves a blob's own types in: by name in strcmp order, so the anonymous
// types come first, and types of one name keep their relative order. It
// returns the number of anonymous types.
func CheckSorted(spec *btf.Spec) (anonymous int, err error) {
	prev := ""
	for i := range spec.Types {
		name := spec.Name(&spec.Types[i])
		if name < prev {
			id := spec.FirstID() + btf.TypeID(i)
			return 0, fmt.Errorf("type %d %q sorts before type %d %q", id, name, id-1, prev)
		}
		if name == "" {
			anonymous++
		}
		prev = name
	}
	return anonymous, nil
}

// FuncNames returns the names of the blob's own FUNCs.
func FuncNames(spec *btf.Spec) map[string]bool {
	out := map[string]bool{}
	for n := range FuncCounts(spec) {
		out[n] = true
	}
	return out
}

// FuncCounts counts the blob's own FUNCs by name.
func FuncCounts(spec *btf.Spec) map[string]int {
	out := map[string]int{}
	for i := range spec.Types {
		if spec.Types[i].Kind() == btf.KindFunc {
			out[spec.Name(&spec.Types[i])]++
		}
	}
	return out
}
