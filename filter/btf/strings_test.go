package btf_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

// A new table stores each string once, in first-seen order, and finds it
// again at the same offset after growing.
func TestStringTableAdd(t *testing.T) {
	tests := []struct {
		name  string
		hint  int
		words []string
	}{
		{"repeats", 1, []string{"a", "b", "a", "", "ab", "b", "ba"}},
		{"prefixes and suffixes", 1, []string{"list_head", "list", "head", "list_head", "ist_head", "list"}},
		{"many, growing", 1, func() []string {
			var w []string
			for i := 0; i < 5000; i++ {
				w = append(w, fmt.Sprintf("s%d", i%1700))
			}
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := btf.NewStringTable(tt.hint, 0)
			tab.Add(nil)
			at := map[string]uint32{}
			var order []string
			for _, w := range tt.words {
				off := tab.Add([]byte(w))
				out := tab.Bytes()
				end := bytes.IndexByte(out[off:], 0)
				if end < 0 || string(out[off:int(off)+end]) != w {
					t.Fatalf("%q: offset %d holds %q", w, off, out[off:])
				}
				if prev, ok := at[w]; ok && prev != off {
					t.Fatalf("%q: offset %d, earlier %d", w, off, prev)
				} else if !ok {
					at[w] = off
					order = append(order, w)
				}
				if got, ok := tab.Find([]byte(w)); !ok || got != off {
					t.Fatalf("Find(%q) = %d, %v; Add gave %d", w, got, ok, off)
				}
			}
			want := []byte{0}
			for _, w := range order {
				if w != "" {
					want = append(append(want, w...), 0)
				}
			}
			if !bytes.Equal(tab.Bytes(), want) {
				t.Fatalf("string table %q, want %q", tab.Bytes(), want)
			}
			if tab.Len() != len(want) {
				t.Fatalf("Len %d, want %d", tab.Len(), len(want))
			}
		})
	}
}

// An indexed section finds every string at its first offset, knows nothing
// of suffixes or of bytes past the last NUL, and Add never writes into the
// caller's array.
func TestIndexStrings(t *testing.T) {
	backing := make([]byte, 0, 64)
	section := append(backing, "\x00int\x00long\x00int\x00tail"...)
	section = section[:len(section)-len("tail")] // "tail" stays in the array, past len
	spare := append([]byte(nil), backing[:cap(backing)]...)
	tab := btf.IndexStrings(section)
	for _, tc := range []struct {
		str  string
		off  uint32
		have bool
	}{
		{"", 0, true},
		{"int", 1, true},
		{"long", 5, true},
		{"ong", 0, false}, // a suffix is not a string start
		{"tail", 0, false},
	} {
		off, ok := tab.Find([]byte(tc.str))
		if ok != tc.have || (ok && off != tc.off) {
			t.Errorf("Find(%q) = %d, %v; want %d, %v", tc.str, off, ok, tc.off, tc.have)
		}
	}
	if off := tab.Add([]byte("char")); off != uint32(len(section)) {
		t.Errorf("Add appended at %d, want %d", off, len(section))
	}
	if !bytes.Equal(backing[:cap(backing)], spare) {
		t.Error("Add wrote into the indexed section's array")
	}
	if got := string(tab.Bytes()[len(section):]); got != "char\x00" {
		t.Errorf("after Add the table ends with %q", got)
	}
}

func ExampleStringTable() {
	tab := btf.NewStringTable(4, 32)
	tab.Add(nil) // base BTF starts with the empty string
	a := tab.Add([]byte("task_struct"))
	b := tab.Add([]byte("pid"))
	c := tab.Add([]byte("task_struct"))
	fmt.Println(a, b, c, fmt.Sprintf("%q", tab.Bytes()))
	// Output: 1 13 1 "\x00task_struct\x00pid\x00"
}
