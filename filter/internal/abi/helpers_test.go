package abi

import (
	"fmt"
	"strings"
)

// Hand-built argument types for the tests.
var (
	tLong  = Arg{Name: "long", Class: Int, Size: 8, Align: 8}
	tInt   = Arg{Name: "int", Class: Int, Size: 4, Align: 4}
	tChar  = Arg{Name: "char", Class: Int, Size: 1, Align: 1}
	tPtr   = Arg{Name: "void *", Class: Pointer, Size: 8, Align: 8}
	tI128  = Arg{Name: "__int128", Class: Int128, Size: 16, Align: 16}
	tDbl   = Arg{Name: "double", Class: Float, Size: 8, Align: 8}
	tFloat = Arg{Name: "float", Class: Float, Size: 4, Align: 4}

	// struct {char c; int i; long l;} __packed: 13 bytes, misaligned.
	tPkMis = Arg{Name: "struct pk", Class: Struct, Size: 13, Align: 1, Packed: true,
		Members: []Member{{0, tChar}, {1, tInt}, {5, tLong}}}
	// struct {int a; int b; char c;} __packed: 9 bytes, aligned members.
	tPkOK = Arg{Name: "struct pk_ok", Class: Struct, Size: 9, Align: 1,
		Members: []Member{{0, tInt}, {4, tInt}, {8, tChar}}}
	// struct {char c; int i;} __packed: 5 bytes, misaligned.
	tPkSmall = Arg{Name: "struct pk_small", Class: Struct, Size: 5, Align: 1, Packed: true,
		Members: []Member{{0, tChar}, {1, tInt}}}
	tS8   = Arg{Name: "struct s8", Class: Struct, Size: 8, Align: 8, Members: []Member{{0, tLong}}}
	tS12  = Arg{Name: "struct s12", Class: Struct, Size: 12, Align: 4, Members: []Member{{0, tInt}, {4, tInt}, {8, tInt}}}
	tS16  = Arg{Name: "struct s16", Class: Struct, Size: 16, Align: 8, Members: []Member{{0, tLong}, {8, tLong}}}
	tS24  = Arg{Name: "struct s24", Class: Struct, Size: 24, Align: 8, Members: []Member{{0, tLong}, {8, tLong}, {16, tLong}}}
	tAl16 = Arg{Name: "struct al16s", Class: Struct, Size: 16, Align: 8, ExplicitAlign: 16,
		Members: []Member{{0, tLong}, {8, tLong}}}
	tAl16m = Arg{Name: "struct al16m", Class: Struct, Size: 16, Align: 16,
		Members: []Member{{0, tLong}, {8, tLong}}}
	tI128s = Arg{Name: "struct i128s", Class: Struct, Size: 16, Align: 16, Members: []Member{{0, tI128}}}
	tUnion = Arg{Name: "union u", Class: Union, Size: 8, Align: 8, Members: []Member{{0, tLong}, {0, tInt}}}
	// struct {double x, y;}: an HFA on arm64, two SSE eightbytes on x86-64.
	tDD = Arg{Name: "struct dd", Class: Struct, Size: 16, Align: 8, Members: []Member{{0, tDbl}, {8, tDbl}}}
	// struct {double d; long l;}: SSE then INTEGER.
	tDL = Arg{Name: "struct dl", Class: Struct, Size: 16, Align: 8, Members: []Member{{0, tDbl}, {8, tLong}}}
	// struct {float a; int b;}: one eightbyte holding float and int: INTEGER.
	tFI = Arg{Name: "struct fi", Class: Struct, Size: 8, Align: 4, Members: []Member{{0, tFloat}, {4, tInt}}}
	// struct {long a __aligned(16);}: 16 bytes, the second eightbyte padding.
	tPad = Arg{Name: "struct pad", Class: Struct, Size: 16, Align: 16, Members: []Member{{0, tLong}}}
)

// args builds a list: n copies of long, then the rest.
func longs(n int, rest ...Arg) []Arg {
	out := make([]Arg, 0, n+len(rest))
	for i := 0; i < n; i++ {
		out = append(out, tLong)
	}
	return append(out, rest...)
}

// locs formats a location list compactly, the inverse of loc.
func locs(arch Arch, ls []Location) string {
	var out []string
	for _, l := range ls {
		var parts []string
		for _, s := range l.Slots {
			if s.onStack() {
				parts = append(parts, fmt.Sprintf("sp%d", s.Stack))
			} else {
				parts = append(parts, RegName(arch, s.Reg))
			}
		}
		p := strings.Join(parts, "-")
		if l.ByRef {
			p = "&" + p
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}
