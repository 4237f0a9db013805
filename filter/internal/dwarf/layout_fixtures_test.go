package dwarf

import (
	"os"
	"path/filepath"
	"testing"
)

// layoutVariants are the objects testdata/dwarf/build.sh makes from
// layout.c.
var layoutVariants = []string{
	"x86_64-gcc", "x86_64-clang", "aarch64-gcc", "aarch64-clang",
	"riscv64-clang", "x86_64-gcc-dwarf4", "x86_64-clang-dwarf4", "x86_64-gcc-gz",
	"s390x-gcc", "s390x-clang", "ppc64le-gcc", "ppc64le-clang", "riscv64-gcc",
	"loongarch64-gcc",
}

func layoutPath(variant string) string {
	return filepath.Join("..", "..", "..", "testdata", "dwarf", "layout-"+variant+".o")
}

// layoutObjects lists the layout fixtures, failing when one is missing.
func layoutObjects(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, v := range layoutVariants {
		p := layoutPath(v)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("fixture %s missing (run testdata/dwarf/build.sh): %v", p, err)
		}
		out = append(out, p)
	}
	return out
}
