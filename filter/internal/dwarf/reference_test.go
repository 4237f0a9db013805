package dwarf

import (
	"bytes"
	godwarf "debug/dwarf"
	"debug/elf"
	"os"
	"testing"
)

// TestReference: the debug/dwarf reader Reference opens over the scanned
// sections reads every parameter's pointer target as the reader debug/elf
// opens itself (relocations applied by debug/elf for the module), on the
// linked fixture and on the relocatable module.
func TestReference(t *testing.T) {
	for _, path := range []string{"../../../testdata/x86_64/vmlinux-like", "../../../testdata/modules/module.ko"} {
		t.Run(path, func(t *testing.T) {
			image, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run scripts/build-fixtures.sh)", err)
			}
			ef, err := elf.NewFile(bytes.NewReader(image))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Scan(ef, image, Options{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			ours := d.Reference()
			if ours == nil {
				t.Fatal("no reference reader")
			}
			theirs, err := ef.DWARF()
			if err != nil {
				t.Fatal(err)
			}
			read := func(g *godwarf.Data, off uint64) (godwarf.Tag, any) {
				r := g.Reader()
				r.Seek(godwarf.Offset(off))
				e, err := r.Next()
				if err != nil || e == nil {
					t.Fatalf("DIE at 0x%x: %v", off, err)
				}
				return e.Tag, e.Val(godwarf.AttrName)
			}
			n := 0
			for _, f := range d.Funcs {
				for _, p := range f.Params {
					if p.Type == nil || p.Type.Kind != KindPointer || p.Type.Target == 0 {
						continue
					}
					tag, name := read(ours, p.Type.Target)
					wantTag, wantName := read(theirs, p.Type.Target)
					if tag != wantTag || name != wantName {
						t.Fatalf("%s(%s): target 0x%x reads as %v %v, debug/elf says %v %v", f.Name, p.Name, p.Type.Target, tag, name, wantTag, wantName)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatal("no pointer parameter to compare")
			}
			t.Logf("%d pointer targets read the same", n)
		})
	}
	if (&Data{}).Reference() != nil {
		t.Fatal("a Data that Scan did not fill has a reference reader")
	}
}
