package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// TestOtherArchesReal runs the default rules on the Debian 7.2 kernels of
// s390x (big-endian), ppc64el and riscv64, as a packager of those
// architectures would: the vmlinux is judged, the decisions whose cause was
// checked by hand against the DWARF (docs/facts.md §9) hold, and a sample of
// the -dbg package's modules is judged in one run with the vmlinux, every
// file of it. The big-endian vmlinux is also rewritten: only .BTF and
// .BTF_ids change, and bpftool reads the result (the little-endian rewrite
// path is TestDropRealVmlinux's). scripts/sweep does the same over every
// module.
func TestOtherArchesReal(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	type want = decision
	for _, tc := range []struct {
		tag     string
		rewrite bool // write the vmlinux and check the result
		vmlinux map[string]want
		modules map[string]map[string]want // module file name -> function -> decision
		min     map[string]int             // at least this many vmlinux removals per rule
		none    []string                   // rules that must not fire on the vmlinux
	}{
		{tag: "7.2-s390x", rewrite: true, vmlinux: map[string]want{
			// only audit_filter_rules.isra.0 has code, and its DWARF has
			// no task_creation
			"audit_filter_rules": {RuleSignature, "only the clone audit_filter_rules.isra.0 has code, and it dropped parameter 5 (task_creation)"},
			// a 16-byte struct at position 5 (bpfptr_t uattr) and at 7:
			// by reference at [sp+160] and [sp+176], where the trampoline
			// takes an address too
			"bpf_log_attr_init": {},
			"vfs_read":          {},
		}, modules: map[string]map[string]want{
			// struct ice_aqc_link_topo_addr has 6 bytes: DWARF says
			// DW_OP_breg3 0, by reference in r3
			"ice.ko": {
				"ice_aq_read_i2c":  {RuleABI, "arg 1 (struct ice_aqc_link_topo_addr, 6 bytes): ABI passes it by reference, its address in r3, trampoline reads r3 (kernel 7.2, s390x)"},
				"ice_aq_write_i2c": {RuleABI, "arg 1 (struct ice_aqc_link_topo_addr, 6 bytes): ABI passes it by reference"},
			},
		}, min: map[string]int{RuleSignature: 10}, none: []string{RuleABI, RuleConsistent, RuleAmbiguous}},
		{tag: "7.2-ppc64el", vmlinux: map[string]want{
			// struct rtc_time has 36 bytes: its address comes in r3, kt
			// in r4 (DW_OP_reg4 at entry)
			"rtc_ktime_to_tm": {RuleSignature, "returns a struct through a hidden pointer, so parameters arrive shifted (it arrives in r4, not r3"},
			// uattr_common, 16 bytes, at doublewords 8-9: [sp+96] in
			// DWARF, in the model and in the trampoline
			"bpf_log_attr_init": {},
			"vfs_read":          {},
		}, min: map[string]int{RuleSignature: 15}, none: []string{RuleABI, RuleConsistent, RuleAmbiguous}},
		{tag: "7.2-riscv64", vmlinux: map[string]want{
			// struct open_how has 24 bytes: its address comes in a0,
			// flags in a1
			"build_open_how": {RuleSignature, "returns a struct through a hidden pointer, so parameters arrive shifted (it arrives in a1, not a0"},
			// uattr_common at [sp+0]-[sp+8] in DWARF, model and trampoline
			"bpf_log_attr_init": {},
			"vfs_read":          {},
		}, min: map[string]int{RuleSignature: 3}, none: []string{RuleABI, RuleConsistent, RuleAmbiguous}},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			k, err := kernels.Load(tc.tag)
			if err != nil {
				t.Fatalf("%v (run scripts/fetch-kernels.sh)", err)
			}
			out := filepath.Join(t.TempDir(), "vmlinux")
			args := []string{"-n", k.Vmlinux}
			if tc.rewrite {
				args = []string{"-o", out, k.Vmlinux}
			}
			fr := jsonReport(t, args...).Files[0]
			if fr.Error != "" {
				t.Fatal(fr.Error)
			}
			got := map[string]want{}
			count := map[string]int{}
			var removed []string
			for _, r := range fr.Removed {
				got[r.Name] = want{r.Rule, r.Reason}
				count[r.Rule]++
				removed = append(removed, r.Name)
			}
			checkDecisions(t, "vmlinux", got, tc.vmlinux)
			for rule, n := range tc.min {
				if count[rule] < n {
					t.Errorf("vmlinux: rule %s removed %d functions, want at least %d", rule, count[rule], n)
				}
			}
			for _, rule := range tc.none {
				if count[rule] != 0 {
					t.Errorf("vmlinux: rule %s removed %d functions, want none", rule, count[rule])
				}
			}
			t.Logf("%s vmlinux (%s): %d -> %d types, removed by rule %v, %d protected", tc.tag, fr.Arch, fr.TypesBefore, fr.TypesAfter, count, len(fr.Protected))
			if tc.rewrite {
				checkOnlyBTFChanged(t, k.Vmlinux, out)
				checkBpftoolDump(t, k.Vmlinux, out, removed)
				checkSortedKept(t, k.Vmlinux, out)
				checkBTFIDSymbols(t, k.Vmlinux, out)
			}

			// A sample of the modules (about 60, evenly spread) and the
			// ones with hand-checked decisions, judged with the vmlinux.
			mods, err := k.DbgModuleFiles()
			if err != nil {
				t.Fatal(err)
			}
			step := max(1, len(mods)/60)
			var pick []string
			for i, m := range mods {
				if i%step == 0 || tc.modules[filepath.Base(m)] != nil {
					pick = append(pick, m)
				}
			}
			rep := jsonReport(t, append([]string{"-n", k.Vmlinux}, pick...)...)
			if len(rep.Files) != 1+len(pick) {
				t.Fatalf("%d files in the report, %d given", len(rep.Files), 1+len(pick))
			}
			perRule := map[string]int{}
			for _, f := range rep.Files {
				if f.Error != "" {
					t.Errorf("%s: %s", f.Path, f.Error)
					continue
				}
				mgot := map[string]want{}
				for _, r := range f.Removed {
					mgot[r.Name] = want{r.Rule, r.Reason}
					if f.Format == "module" {
						perRule[r.Rule]++
					}
				}
				if w := tc.modules[filepath.Base(f.Path)]; w != nil {
					checkDecisions(t, filepath.Base(f.Path), mgot, w)
				}
			}
			t.Logf("%s: %d modules judged with the vmlinux, removed by rule %v", tc.tag, len(pick), perRule)
		})
	}
}

// decision is a rule and a piece of its reason; rule "" is kept.
type decision struct{ rule, reason string }

// checkDecisions compares what a report decided with what was checked by
// hand.
func checkDecisions(t *testing.T, file string, got, want map[string]decision) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if g.rule != w.rule || !strings.Contains(g.reason, w.reason) {
			t.Errorf("%s %s: got %q (%s), want %q (%s)", file, name, g.rule, g.reason, w.rule, w.reason)
		}
	}
}
