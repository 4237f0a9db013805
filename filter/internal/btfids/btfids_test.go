package btfids

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// plus returns a map that adds d to every ID.
func plus(d uint32) func(uint32) (uint32, bool) {
	return func(old uint32) (uint32, bool) { return old + d, true }
}

// table returns a map from a fixed table; IDs not in it are removed.
func table(t map[uint32]uint32) func(uint32) (uint32, bool) {
	return func(old uint32) (uint32, bool) {
		n, ok := t[old]
		return n, ok
	}
}

func TestRemap(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *builder)
		m     func(uint32) (uint32, bool)
		want  []uint32 // output words
	}{
		{
			name: "single ids",
			build: func(b *builder) {
				b.label("one").id("struct", "sk_buff", 7)
				b.label("two").id("func", "vfs_close", 300)
				b.id("typedef", "pid_t", 12).id("union", "thread_union", 13)
			},
			m:    plus(1000),
			want: []uint32{1007, 1300, 1012, 1013},
		},
		{
			name: "list with unused slots",
			build: func(b *builder) {
				b.label("bpf_skb_output_btf_ids").id("struct", "sk_buff", 40).unused().id("struct", "task_struct", 41).unused()
			},
			m:    plus(5),
			want: []uint32{45, 0, 46, 0},
		},
		{
			name: "unresolved slot stays zero",
			build: func(b *builder) {
				b.id("func", "missing", 0).id("func", "present", 9)
			},
			m:    table(map[uint32]uint32{9: 3}),
			want: []uint32{0, 3},
		},
		{
			name: "set stays sorted under a monotonic map",
			build: func(b *builder) {
				b.set("btf_id_deny", 3).id("func", "a", 5).id("func", "b", 9).id("func", "c", 20)
			},
			m:    table(map[uint32]uint32{5: 4, 9: 8, 20: 19}),
			want: []uint32{3, 4, 8, 19},
		},
		{
			name: "set re-sorted after a non-monotonic map",
			build: func(b *builder) {
				b.set("s", 4).id("func", "a", 5).id("func", "b", 9).id("func", "c", 20).id("func", "d", 21)
			},
			m:    table(map[uint32]uint32{5: 30, 9: 2, 20: 17, 21: 1}),
			want: []uint32{4, 1, 2, 17, 30},
		},
		{
			name: "set with unresolved and unnamed entries",
			build: func(b *builder) {
				// Entries without symbols are reached through cnt only;
				// the zero sorts first and stays zero.
				b.set("s", 4).raw(50, 0).id("func", "x", 60).raw(70)
			},
			m:    table(map[uint32]uint32{50: 80, 60: 10, 70: 20}),
			want: []uint32{4, 0, 10, 20, 80},
		},
		{
			name: "set8 kfuncs re-sorted with flags moving",
			build: func(b *builder) {
				b.set8("bpf_kfunc_ids", 3, 1).
					idFlags("func", "bpf_a", 100, 0x11).
					idFlags("func", "bpf_b", 200, 0x22).
					idFlags("func", "bpf_c", 300, 0x33)
			},
			m:    table(map[uint32]uint32{100: 250, 200: 50, 300: 150}),
			want: []uint32{3, 1, 50, 0x22, 150, 0x33, 250, 0x11},
		},
		{
			name: "set8 flags equal to ids are never mapped",
			build: func(b *builder) {
				// Header flags and pair flags hold values that are also
				// IDs: a remap by value must leave them alone.
				b.set8("s8", 2, 7).idFlags("func", "f", 7, 7).idFlags("func", "g", 2, 2)
			},
			m:    table(map[uint32]uint32{7: 8, 2: 3}),
			want: []uint32{2, 7, 3, 2, 8, 7},
		},
		{
			name: "each word mapped once",
			build: func(b *builder) {
				// Every set entry is found both by its symbol and by cnt;
				// a non-idempotent map shows a second application.
				b.set("s", 2).id("func", "a", 1).id("func", "b", 2)
				b.set8("k", 1, 0).idFlags("func", "a", 1, 9)
				b.id("func", "a", 1)
			},
			m:    plus(1000),
			want: []uint32{2, 1001, 1002, 1, 0, 1001, 9, 1001},
		},
		{
			name: "set8 equal ids keep their order",
			build: func(b *builder) {
				b.set8("k", 3, 1).idFlags("func", "a", 9, 1).idFlags("func", "b", 5, 2).idFlags("func", "c", 5, 3)
			},
			m:    plus(0),
			want: []uint32{3, 1, 5, 2, 5, 3, 9, 1},
		},
		{
			name: "everything together",
			build: func(b *builder) {
				b.label("btf_ksym_iter_id").id("struct", "kallsym_iter", 11)
				b.set8("rstat", 2, 0).idFlags("func", "cgroup_rstat_updated", 40, 0).idFlags("func", "cgroup_rstat_flush", 41, 4)
				b.set("allow", 2).id("func", "vfs_truncate", 30).id("func", "dentry_open", 31)
				b.label("list").id("struct", "path", 12).unused()
			},
			m:    table(map[uint32]uint32{11: 11, 40: 33, 41: 32, 30: 31, 31: 30, 12: 1}),
			want: []uint32{11, 2, 0, 32, 4, 33, 0, 2, 30, 31, 1, 0},
		},
	}
	for _, tc := range tests {
		for _, order := range byteOrders {
			t.Run(tc.name+"/"+order.String(), func(t *testing.T) {
				b := newBuilder(order)
				tc.build(b)
				in := b.bytes()
				keep := bytes.Clone(in)
				s, err := Parse(in, order, b.syms)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				out, err := s.Remap(tc.m)
				if err != nil {
					t.Fatalf("Remap: %v", err)
				}
				if got := words(order, out); !slices.Equal(got, tc.want) {
					t.Errorf("Remap words\n got %v\nwant %v", got, tc.want)
				}
				if !bytes.Equal(in, keep) {
					t.Errorf("Remap changed its input")
				}
				// The result is a valid section in its own right, with
				// every set sorted.
				s2, err := Parse(out, order, b.syms)
				if err != nil {
					t.Fatalf("Parse of the output: %v", err)
				}
				if !setsSorted(s2, out) {
					t.Errorf("output sets not sorted: %v", words(order, out))
				}
				// Remapping the sorted output with the identity is a no-op.
				again, err := s2.Remap(plus(0))
				if err != nil {
					t.Fatalf("identity Remap: %v", err)
				}
				if !bytes.Equal(again, out) {
					t.Errorf("identity Remap changed a sorted section\n got %v\nwant %v", words(order, again), words(order, out))
				}
			})
		}
	}
}

func TestRemapRemoved(t *testing.T) {
	tests := []struct {
		name    string
		build   func(b *builder)
		removed uint32
		want    string // symbol and offset named in the error
	}{
		{
			name:    "plain slot",
			build:   func(b *builder) { b.id("struct", "a", 3).id("func", "victim", 4) },
			removed: 4,
			want:    "symbol __BTF_ID__func__victim__2 at offset 0x4",
		},
		{
			// After sorting, the per-entry symbol at an offset need not
			// be the one whose ID sits there, so the set is named.
			name:    "set8 entry with its own symbol",
			build:   func(b *builder) { b.set8("k", 2, 1).idFlags("func", "ok", 5, 0).idFlags("func", "bpf_gone", 6, 0) },
			removed: 6,
			want:    "symbol __BTF_ID__set8__k at offset 0x10",
		},
		{
			name:    "set entry without a symbol",
			build:   func(b *builder) { b.set("deny", 2).raw(5, 6) },
			removed: 5,
			want:    "symbol __BTF_ID__set__deny at offset 0x4",
		},
	}
	for _, tc := range tests {
		for _, order := range byteOrders {
			t.Run(tc.name+"/"+order.String(), func(t *testing.T) {
				b := newBuilder(order)
				tc.build(b)
				s, err := Parse(b.bytes(), order, b.syms)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				out, err := s.Remap(func(old uint32) (uint32, bool) { return old, old != tc.removed })
				if err == nil {
					t.Fatalf("Remap succeeded (%v), want an error for removed ID %d", out, tc.removed)
				}
				if !errors.Is(err, ErrRemovedID) {
					t.Errorf("error %q does not wrap ErrRemovedID", err)
				}
				if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.HasSuffix(msg, ": "+strconv.FormatUint(uint64(tc.removed), 10)) {
					t.Errorf("error %q: want it to name %q and old ID %d", msg, tc.want, tc.removed)
				}
			})
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name  string
		data  []uint32
		syms  []Symbol
		order binary.ByteOrder
		want  string
	}{
		{
			name: "set cnt past the end",
			data: []uint32{3, 1, 2},
			syms: []Symbol{{"__BTF_ID__set__s", 0}},
			want: "symbol __BTF_ID__set__s at offset 0x0: cnt 3 runs past the end",
		},
		{
			name: "set8 cnt past the end",
			data: []uint32{1, 0, 5},
			syms: []Symbol{{"__BTF_ID__set8__k", 0}},
			want: "symbol __BTF_ID__set8__k at offset 0x0: cnt 1 runs past the end",
		},
		{
			name: "set8 header past the end",
			data: []uint32{0, 0, 0},
			syms: []Symbol{{"__BTF_ID__set8__k", 8}},
			want: "symbol __BTF_ID__set8__k at offset 0x8: set8 header runs past the end",
		},
		{
			name: "huge cnt",
			data: []uint32{0xffffffff, 0},
			syms: []Symbol{{"__BTF_ID__set8__k", 0}},
			want: "symbol __BTF_ID__set8__k at offset 0x0: cnt 4294967295 runs past the end",
		},
		{
			name: "symbol past the end",
			data: []uint32{1, 2},
			syms: []Symbol{{"__BTF_ID__func__f__1", 8}},
			want: "symbol __BTF_ID__func__f__1 at offset 0x8: past the end",
		},
		{
			name: "symbol far past the end",
			data: []uint32{1},
			syms: []Symbol{{"__BTF_ID__func__f__1", 1 << 63}},
			want: "symbol __BTF_ID__func__f__1 at offset 0x8000000000000000: past the end",
		},
		{
			name: "unaligned symbol",
			data: []uint32{1, 2},
			syms: []Symbol{{"__BTF_ID__struct__s__1", 2}},
			want: "symbol __BTF_ID__struct__s__1 at offset 0x2: not aligned",
		},
		{
			name: "no kind",
			data: []uint32{1},
			syms: []Symbol{{"__BTF_ID__func", 0}},
			want: "symbol __BTF_ID__func at offset 0x0: no kind",
		},
		{
			name: "no counter suffix",
			data: []uint32{1},
			syms: []Symbol{{"__BTF_ID__func__f", 0}},
			want: "symbol __BTF_ID__func__f at offset 0x0: no __<N> suffix",
		},
		{
			name: "set without a name",
			data: []uint32{0},
			syms: []Symbol{{"__BTF_ID__set__", 0}},
			want: "symbol __BTF_ID__set__ at offset 0x0: no set name",
		},
		{
			name: "overlapping sets",
			data: []uint32{2, 5, 0, 7},
			syms: []Symbol{{"__BTF_ID__set__a", 0}, {"__BTF_ID__set__b", 8}},
			want: "symbol __BTF_ID__set__b at offset 0x8: set overlaps __BTF_ID__set__a",
		},
		{
			name: "id symbol on a set8 flags word",
			data: []uint32{1, 0, 5, 1},
			syms: []Symbol{{"__BTF_ID__set8__k", 0}, {"__BTF_ID__func__f__1", 12}},
			want: "symbol __BTF_ID__func__f__1 at offset 0xc: word is a set8 flags word of __BTF_ID__set8__k",
		},
		{
			name: "id symbol on a set count",
			data: []uint32{1, 5},
			syms: []Symbol{{"__BTF_ID__set__s", 0}, {"__BTF_ID__struct__x__9", 0}},
			want: "symbol __BTF_ID__struct__x__9 at offset 0x0: word is a set count of __BTF_ID__set__s",
		},
		{
			name:  "no byte order",
			data:  []uint32{1},
			order: nil,
			want:  "no byte order",
		},
	}
	for _, tc := range tests {
		orders := byteOrders
		if tc.order == nil && tc.syms == nil {
			orders = []binary.ByteOrder{nil}
		}
		for _, order := range orders {
			name := tc.name + "/nil"
			enc := binary.ByteOrder(binary.LittleEndian)
			if order != nil {
				name = tc.name + "/" + order.String()
				enc = order
			}
			t.Run(name, func(t *testing.T) {
				b := newBuilder(enc).raw(tc.data...)
				s, err := Parse(b.bytes(), order, tc.syms)
				if err == nil {
					t.Fatalf("Parse succeeded (%+v), want error %q", s, tc.want)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q, want it to contain %q", err, tc.want)
				}
			})
		}
	}
}

func TestAccessors(t *testing.T) {
	for _, order := range byteOrders {
		t.Run(order.String(), func(t *testing.T) {
			b := newBuilder(order)
			b.label("l").id("struct", "sk_buff", 7).unused().id("func", "__filemap_add_folio", 9)
			b.set8("k", 2, 1).idFlags("func", "bpf_b", 30, 4).idFlags("func", "bpf_a", 0, 8)
			b.set("s", 2).id("func", "vfs_close", 9).raw(12)
			b.id("func", "bpf_b", 30)
			b.syms = append(b.syms, Symbol{"not_a_btf_id", 4})
			s, err := Parse(b.bytes(), order, b.syms)
			if err != nil {
				t.Fatal(err)
			}
			wantRefs := []Ref{
				{"__BTF_ID__struct__sk_buff__1", "struct", "sk_buff", 0x0, 7, ""},
				{"__BTF_ID__func____filemap_add_folio__2", "func", "__filemap_add_folio", 0x8, 9, ""},
				{"__BTF_ID__func__bpf_b__3", "func", "bpf_b", 0x14, 30, "__BTF_ID__set8__k"},
				{"__BTF_ID__func__bpf_a__4", "func", "bpf_a", 0x1c, 0, "__BTF_ID__set8__k"},
				{"__BTF_ID__func__vfs_close__5", "func", "vfs_close", 0x28, 9, "__BTF_ID__set__s"},
				{"__BTF_ID__set__s", "set", "s", 0x2c, 12, "__BTF_ID__set__s"},
				{"__BTF_ID__func__bpf_b__6", "func", "bpf_b", 0x30, 30, ""},
			}
			if got := s.Refs(); !reflect.DeepEqual(got, wantRefs) {
				t.Errorf("Refs\n got %+v\nwant %+v", got, wantRefs)
			}
			wantIDs := map[uint32]bool{7: true, 9: true, 30: true, 12: true}
			if got := s.IDs(); !reflect.DeepEqual(got, wantIDs) {
				t.Errorf("IDs got %v, want %v", got, wantIDs)
			}
			wantFuncs := []string{"__filemap_add_folio", "bpf_a", "bpf_b", "vfs_close"}
			if got := s.FuncNames(); !slices.Equal(got, wantFuncs) {
				t.Errorf("FuncNames got %v, want %v", got, wantFuncs)
			}
			// The Section keeps its own copy: changing the caller's
			// slice afterwards changes nothing.
			in := b.bytes()
			s2, err := Parse(in, order, b.syms)
			if err != nil {
				t.Fatal(err)
			}
			clear(in)
			if got := s2.Refs(); !reflect.DeepEqual(got, wantRefs) {
				t.Errorf("Refs after the input was cleared\n got %+v\nwant %+v", got, wantRefs)
			}
		})
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		sym, kind, name string
		ok              bool
	}{
		{"__BTF_ID__func__vfs_truncate__0", "func", "vfs_truncate", true},
		{"__BTF_ID__func____filemap_add_folio__79415130", "func", "__filemap_add_folio", true},
		{"__BTF_ID__struct__foo___12", "struct", "foo_", true},
		{"__BTF_ID__typedef__a__b__3", "typedef", "a__b", true},
		{"__BTF_ID__set8__bpf_rstat_kfunc_ids", "set8", "bpf_rstat_kfunc_ids", true},
		{"__BTF_ID__set__btf_id_deny", "set", "btf_id_deny", true},
		{"__BTF_ID__set__with__dunder", "set", "with__dunder", true},
		{"__BTF_ID__func__f__1_2", "", "", false},
		{"__BTF_ID____x__1", "", "", false},
		{"__BTF_ID__func__", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.sym, func(t *testing.T) {
			kind, name, err := splitName(tc.sym)
			if (err == nil) != tc.ok {
				t.Fatalf("splitName(%q) error %v, want ok=%v", tc.sym, err, tc.ok)
			}
			if kind != tc.kind || name != tc.name {
				t.Errorf("splitName(%q) = %q, %q, want %q, %q", tc.sym, kind, name, tc.kind, tc.name)
			}
		})
	}
}
