package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// TestSeparateDebugInfo: stripped, signed modules of the Debian 6.1 image
// package judged with --debuginfo pointing at the unpacked -dbg package get
// the same decisions, rule and reason, as the unstripped modules of the
// -dbg package. The modules are chosen so that the DWARF rules fire on some
// of them: equal decisions then show the DWARF was found and used.
func TestSeparateDebugInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		t.Fatalf("%v (run scripts/fetch-kernels.sh)", err)
	}
	mods := []string{"drivers/ata/libata.ko", "fs/nfs/nfsv4.ko", "net/tls/tls.ko", "drivers/virtio/virtio_pci.ko"}
	judge := func(dir string, extra ...string) *filter.Report {
		args := append([]string{"-n", "-B", k.Vmlinux}, extra...)
		for _, m := range mods {
			args = append(args, filepath.Join(dir, m))
		}
		return jsonReport(t, args...)
	}
	stripped := judge(k.Modules, "--debuginfo", filepath.Join(k.Dir, "dbg"))
	full := judge(k.DbgModules)
	dwarfRules := 0
	for i, m := range mods {
		s, u := stripped.Files[i], full.Files[i]
		for _, w := range s.Warnings {
			if strings.Contains(w, "DWARF") || strings.Contains(w, "debug information") {
				t.Errorf("%s: %s", m, w)
			}
		}
		if len(s.Removed) != len(u.Removed) {
			t.Errorf("%s: %d removed when stripped with --debuginfo, %d unstripped", m, len(s.Removed), len(u.Removed))
			continue
		}
		for j := range s.Removed {
			if s.Removed[j] != u.Removed[j] {
				t.Errorf("%s: stripped %+v, unstripped %+v", m, s.Removed[j], u.Removed[j])
			}
			if s.Removed[j].Rule != "ambiguous" {
				dwarfRules++
			}
		}
		t.Logf("%s: %d functions removed, same decisions", m, len(s.Removed))
	}
	if dwarfRules == 0 {
		t.Error("no removal by a rule that needs DWARF: the comparison shows nothing about --debuginfo")
	}
}

// TestDetachedBTFProtected: a raw blob judged with the DWARF of the ELF it
// was made from, as a kernel build's detached BTF is before resolve_btfids
// runs, keeps the FUNCs that ELF's .BTF_ids names; without the ELF they go.
func TestDetachedBTFProtected(t *testing.T) {
	f, err := elfio.Open(fixtureBase)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.BTF()
	if err != nil {
		t.Fatal(err)
	}
	detached := filepath.Join(t.TempDir(), "vmlinux.BTF.1")
	if err := os.WriteFile(detached, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	drop := []string{"-n", "--drop", "queue_len", "--drop", "queue_push_front"}
	alone := jsonReport(t, append(drop, detached)...)
	withELF := jsonReport(t, append(drop, "--rules", "+abi", "--debuginfo", fixtureBase, detached)...)
	names := func(r *filter.FileReport) (removed, protected []string) {
		for _, v := range r.Removed {
			removed = append(removed, v.Name)
		}
		for _, v := range r.Protected {
			protected = append(protected, v.Name)
		}
		return
	}
	if rm, pr := names(alone.Files[0]); strings.Join(rm, ",") != "queue_len,queue_push_front" || len(pr) != 0 {
		t.Errorf("without the ELF: removed %v, protected %v; want queue_len and queue_push_front removed", rm, pr)
	}
	rm, pr := names(withELF.Files[0])
	if !slices.Contains(pr, "queue_len") || slices.Contains(rm, "queue_len") || !slices.Contains(rm, "queue_push_front") {
		t.Errorf("with the ELF: removed %v, protected %v; want queue_len (a BTF_ID) protected, queue_push_front removed", rm, pr)
	}
}
