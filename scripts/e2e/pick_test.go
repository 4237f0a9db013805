package e2e

import (
	"reflect"
	"strings"
	"testing"
)

func TestPickRich(t *testing.T) {
	m := func(name string, funcs, structs int, btfids bool, deps ...string) ModuleInfo {
		return ModuleInfo{Path: "/k/" + name + ".ko", Name: name, Depends: deps, Loadable: true,
			BTFIDs: btfids, Funcs: funcs, StructFuncs: structs, Scanned: true}
	}
	unloadable := m("hv_x", 900, 9, true)
	unloadable.Loadable = false
	mods := []ModuleInfo{
		m("big", 500, 0, false, "lib-a"),
		m("ids", 3, 0, true),
		m("lib_a", 20, 0, false, "lib_b"),
		m("lib_b", 1, 0, false),
		m("mid", 300, 0, false),
		m("needs_hv", 800, 0, false, "hv_x"),
		m("needs_ghost", 700, 0, false, "ghost"),
		m("structy", 10, 5, false),
		m("structy2", 40, 5, false, "lib_b"),
		unloadable,
	}
	names := func(ms []ModuleInfo) []string {
		var out []string
		for _, x := range ms {
			out = append(out, x.Name)
		}
		return out
	}
	tests := []struct {
		n, nStruct int
		chosen     []string
		load       []string
		err        string
	}{
		// .BTF_ids first, then struct arguments (more first, ties by
		// FUNCs), then FUNCs; modules whose dependencies cannot load are
		// skipped, dependencies come first, each once ("lib-a" is lib_a).
		{n: 5, nStruct: 1, chosen: []string{"ids", "structy2", "big", "mid", "lib_a"},
			load: []string{"ids", "lib_b", "structy2", "lib_a", "big", "mid"}},
		{n: 3, nStruct: 2, chosen: []string{"ids", "structy2", "structy"},
			load: []string{"ids", "lib_b", "structy2", "structy"}},
		{n: 1, nStruct: 2, chosen: []string{"ids"}, load: []string{"ids"}},
		{n: 8, nStruct: 0, err: "7 of 10 modules qualify, want 8"},
		{n: 0, err: "want > 0"},
	}
	for _, tt := range tests {
		chosen, load, err := PickRich(mods, tt.n, tt.nStruct)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("n=%d: error %v, want one containing %q", tt.n, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("n=%d: %v", tt.n, err)
		}
		if got := names(chosen); !reflect.DeepEqual(got, tt.chosen) {
			t.Errorf("n=%d nStruct=%d: chosen %v, want %v", tt.n, tt.nStruct, got, tt.chosen)
		}
		if got := names(load); !reflect.DeepEqual(got, tt.load) {
			t.Errorf("n=%d nStruct=%d: load %v, want %v", tt.n, tt.nStruct, got, tt.load)
		}
	}
}

func TestPickRichLoop(t *testing.T) {
	mods := []ModuleInfo{
		{Path: "/a.ko", Name: "a", Depends: []string{"b"}, Loadable: true, Scanned: true, Funcs: 2},
		{Path: "/b.ko", Name: "b", Depends: []string{"a"}, Loadable: true, Scanned: true, Funcs: 1},
	}
	if _, _, err := PickRich(mods, 1, 0); err == nil || !strings.Contains(err.Error(), "0 of 2 modules qualify") {
		t.Fatalf("a dependency loop: error %v", err)
	}
}

func TestSample(t *testing.T) {
	tests := []struct {
		in   []string
		n    int
		want []string
	}{
		{[]string{"e", "a", "d", "b", "c", "f", "g"}, 3, []string{"a", "c", "e"}}, // k = 7/3 = 2
		{[]string{"b", "a", "b"}, 5, []string{"a", "b"}},                          // deduplicated, all
		{[]string{"a", "b", "c", "d"}, 4, []string{"a", "b", "c", "d"}},
		{[]string{"a"}, 0, nil},
	}
	for _, tt := range tests {
		if got := Sample(tt.in, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Sample(%v, %d) = %v, want %v", tt.in, tt.n, got, tt.want)
		}
	}
}
