package cli

import (
	"io"
	"testing"

	"github.com/btffilter/btffilter/filter"
)

// TestFlags: both spellings of the base, and their disagreement.
func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		base    string
		wantErr bool
	}{
		{[]string{"-B", "vmlinux"}, "vmlinux", false},
		{[]string{"--btf_base", "vmlinux"}, "vmlinux", false},
		{[]string{"--btf_base", "vmlinux", "--base-btf", "vmlinux"}, "vmlinux", false},
		{[]string{"--btf_base", "a", "-B", "b"}, "", true},
		{nil, "", false},
	}
	for _, tt := range tests {
		fs, f := NewFlagSet("test", io.Discard)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		err := f.Finish()
		if (err != nil) != tt.wantErr || (!tt.wantErr && f.Options.BaseBTF != tt.base) {
			t.Errorf("%q: base %q, err %v; want %q, error %v", tt.args, f.Options.BaseBTF, err, tt.base, tt.wantErr)
		}
	}
}

// TestLines: the report lines docs/cli.md specifies.
func TestLines(t *testing.T) {
	fr := &filter.FileReport{Path: "vmlinux", Format: "vmlinux", Arch: "x86_64", TypesBefore: 10, TypesAfter: 8,
		BytesBefore: 100, BytesAfter: 80, Removed: []filter.Removed{{Name: "f", Reason: "r"}}, Written: true}
	tests := []struct {
		written, changed, dry bool
		want                  string
	}{
		{true, true, false, "vmlinux: vmlinux x86_64: 10 -> 8 types, 100 -> 80 bytes, 1 functions removed, 0 protected"},
		{false, true, true, "vmlinux: vmlinux x86_64: 10 -> 8 types, 100 -> 80 bytes, 1 functions removed, 0 protected (dry run)"},
		{false, true, false, "vmlinux: vmlinux x86_64: 10 -> 8 types, 100 -> 80 bytes, 1 functions removed, 0 protected (not written)"},
		{false, false, false, "vmlinux: vmlinux x86_64: 10 -> 8 types, 100 -> 80 bytes, 1 functions removed, 0 protected (unchanged, not rewritten)"},
	}
	for _, tt := range tests {
		fr.Written, fr.Changed = tt.written, tt.changed
		if got := SummaryLine(fr, tt.dry); got != tt.want {
			t.Errorf("got %q\nwant %q", got, tt.want)
		}
	}
	if got := RemovedLine(fr.Removed[0]); got != "f: skipping BTF encoding of function due to r" {
		t.Errorf("RemovedLine: %q", got)
	}
}
