package main

import (
	"strings"
	"testing"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// TestDefaultRulesRealVmlinux runs the default rules on the Debian vmlinux
// files (-n -j) and checks decisions whose cause is known from their DWARF
// and symbols (see scripts/compare-pahole.sh for the whole comparison with
// pahole 1.32).
func TestDefaultRulesRealVmlinux(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	type want struct{ rule, reason string } // rule "" = kept; "protected:RULE"
	for _, tc := range []struct {
		tag   string
		funcs map[string]want
		min   map[string]int // at least this many removals per rule
		none  []string       // rules that must not fire
	}{
		{tag: "6.1-amd64", funcs: map[string]want{
			// a static inline function given code in several zstd units
			"BIT_initDStream": {RuleAmbiguous, "ambiguous address"},
			// an assembly body overrides the C __weak one
			"__iowrite32_copy": {RuleConsistent, "3 parameters in lib/iomap_copy.c, 0 in"},
			// the older pahole kept the prototype of cpumap's bq_enqueue,
			// inlined everywhere; the code is devmap's
			"bq_enqueue": {RuleConsistent, "a namesake inlined everywhere in kernel/bpf/cpumap.c differs, and the BTF prototype is not the code's"},
			// pahole 1.32 skips these though the attached code is fine:
			// the default rules remove at least what it does (README)
			"__aa_path_perm":     {RuleSignature, "reordered parameters in the clone __aa_path_perm.part.0"},
			"kmem_cache_release": {RuleConsistent, "differs from a namesake inlined everywhere in mm/slab_common.c"},
			"find_cpio_data":     {RuleSignature, "returns a struct through a hidden pointer, so parameters arrive shifted"},
			"memchr":             {RuleConsistent, "is spelled size_t in lib/string.c, __kernel_size_t in"},
			// nothing wrong with it
			"vfs_read": {},
		}, min: map[string]int{RuleAmbiguous: 250, RuleSignature: 10, RuleConsistent: 20}, none: []string{RuleABI}},
		{tag: "7.2-amd64", funcs: map[string]want{
			"ZSTD_buildFSETable_body_bmi2": {RuleSignature, "only the clone ZSTD_buildFSETable_body_bmi2.isra.0 has code"},
			// kfuncs whose BTF hides the implicit aux argument: protected
			"bpf_obj_new": {"protected:" + RuleSignature, "kept: its type ID is held by .BTF_ids"},
			// a Rust function of the same short name is not a C namesake
			"kstrtobool": {},
			"panic":      {},
		}, min: map[string]int{RuleSignature: 10}, none: []string{RuleABI, RuleConsistent, RuleAmbiguous}},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			k, err := kernels.Load(tc.tag)
			if err != nil {
				t.Fatalf("%v (run scripts/fetch-kernels.sh)", err)
			}
			fr := jsonReport(t, "-n", k.Vmlinux).Files[0]
			got := map[string]want{}
			count := map[string]int{}
			for _, r := range fr.Removed {
				got[r.Name] = want{r.Rule, r.Reason}
				count[r.Rule]++
			}
			for _, p := range fr.Protected {
				got[p.Name] = want{"protected:" + p.Rule, p.Reason}
			}
			for name, w := range tc.funcs {
				g := got[name]
				if g.rule != w.rule || !strings.Contains(g.reason, w.reason) {
					t.Errorf("%s: got %q (%s), want %q (%s)", name, g.rule, g.reason, w.rule, w.reason)
				}
			}
			for rule, n := range tc.min {
				if count[rule] < n {
					t.Errorf("rule %s removed %d functions, want at least %d", rule, count[rule], n)
				}
			}
			for _, rule := range tc.none {
				if count[rule] != 0 {
					t.Errorf("rule %s removed %d functions, want none", rule, count[rule])
				}
			}
			t.Logf("%s: %d -> %d types, removed by rule %v, %d protected", tc.tag, fr.TypesBefore, fr.TypesAfter, count, len(fr.Protected))
		})
	}
}

// Rule names as the report spells them.
const (
	RuleAmbiguous  = "ambiguous"
	RuleConsistent = "consistent"
	RuleSignature  = "signature"
	RuleABI        = "abi"
)
