package dwarf

import (
	"bytes"
	godwarf "debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestTypeName: every parameter's pointer target is named as debug/elf's own
// reader (relocations applied by debug/elf for the module) describes that
// DIE, on the linked fixture and on the relocatable module.
func TestTypeName(t *testing.T) {
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
			theirs, err := ef.DWARF()
			if err != nil {
				t.Fatal(err)
			}
			// want names the DIE at off from debug/elf's reader, for
			// the kinds the fixtures' pointers point to.
			want := func(off uint64) string {
				r := theirs.Reader()
				r.Seek(godwarf.Offset(off))
				e, err := r.Next()
				if err != nil || e == nil {
					t.Fatalf("DIE at 0x%x: %v", off, err)
				}
				name, _ := e.Val(godwarf.AttrName).(string)
				switch e.Tag {
				case godwarf.TagStructType:
					return "struct " + name
				case godwarf.TagUnionType:
					return "union " + name
				case godwarf.TagTypedef:
					return "typedef " + name
				case godwarf.TagBaseType:
					size, _ := e.Val(godwarf.AttrByteSize).(int64)
					return fmt.Sprintf("%s (%d bytes)", name, size)
				}
				return ""
			}
			n := 0
			for _, f := range d.Funcs {
				for _, p := range f.Params {
					if p.Type == nil || p.Type.Kind != KindPointer || p.Type.Target == 0 {
						continue
					}
					w := want(p.Type.Target)
					if w == "" {
						continue
					}
					got, err := d.TypeName(p.Type.Target)
					if err != nil || got != w {
						t.Fatalf("%s(%s): target 0x%x is named %q (%v), debug/elf reads %q", f.Name, p.Name, p.Type.Target, got, err, w)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatal("no pointer parameter to compare")
			}
			t.Logf("%d pointer targets named the same", n)

			if got, err := d.TypeName(0); got != "void" || err != nil {
				t.Errorf("TypeName(0) = %q, %v; want void", got, err)
			}
			// Past the end of .debug_info: an error naming the DIE,
			// not ErrUnnamed.
			bad := uint64(len(d.sec.info)) + 16
			if _, err := d.TypeName(bad); err == nil || errors.Is(err, ErrUnnamed) || !strings.Contains(err.Error(), fmt.Sprintf("%#x", bad)) {
				t.Errorf("TypeName(%#x) error %v, want one naming the DIE", bad, err)
			}
		})
	}
	if _, err := (&Data{}).TypeName(1); err == nil {
		t.Fatal("a Data that Scan did not fill names types")
	}
}

// TestTypeNameUnnamed: a compile unit DIE is no type: ErrUnnamed.
func TestTypeNameUnnamed(t *testing.T) {
	d, err := Open("../../../testdata/x86_64/gcc/base.o", Options{})
	if err != nil {
		t.Fatal(err)
	}
	off := d.Units[0].Offset + 11 // the DIE after a DWARF 4/5 unit header
	if d.Units[0].Version >= 5 {
		off++
	}
	if _, err := d.TypeName(off); !errors.Is(err, ErrUnnamed) {
		t.Fatalf("TypeName of the unit DIE: %v, want ErrUnnamed", err)
	}
}
