package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/scripts/kernels"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// jsonReport runs the command with -j and the arguments, requires exit 0 and
// decodes its report.
func jsonReport(t *testing.T, args ...string) *filter.Report {
	t.Helper()
	stdout, stderr, code := runCLI(t, append([]string{"-j"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep filter.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	return &rep
}

// TestDropRealVmlinux is the acceptance test of the rewrite path on the
// Debian 6.1 and 7.2 amd64 vmlinux: two FUNCs dropped, -o OUT, and OUT
// checked byte by byte, with bpftool, for sortedness and for .BTF_ids.
func TestDropRealVmlinux(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	for _, tag := range []string{"6.1-amd64", "7.2-amd64"} {
		t.Run(tag, func(t *testing.T) {
			k, err := kernels.Load(tag)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "vmlinux")
			stdout, stderr, code := runCLI(t, "--drop", "tcp_v4_connect", "--drop", "vfs_read", "-v", "-o", out, k.Vmlinux)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, f := range []string{"tcp_v4_connect", "vfs_read"} {
				if !strings.Contains(stdout, f+": skipping BTF encoding of function due to") {
					t.Errorf("-v did not report %s:\n%s", f, stdout)
				}
			}
			checkOnlyBTFChanged(t, k.Vmlinux, out)
			checkBpftoolDump(t, k.Vmlinux, out, []string{"tcp_v4_connect", "vfs_read"})
			checkSortedKept(t, k.Vmlinux, out)
			checkBTFIDSymbols(t, k.Vmlinux, out)
		})
	}
}

type extent struct{ off, end uint64 }

// checkOnlyBTFChanged compares every byte of the two files outside .BTF,
// .BTF_ids and the section header table.
func checkOnlyBTFChanged(t *testing.T, in, out string) {
	t.Helper()
	a, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("size changed: %d -> %d", len(a), len(b))
	}
	ef, err := elf.NewFile(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	var allowed []extent
	for _, s := range ef.Sections {
		if s.Name == ".BTF" || s.Name == ".BTF_ids" {
			allowed = append(allowed, extent{s.Offset, s.Offset + s.FileSize})
		}
	}
	shoff, shsize := shdrExtent(t, a)
	allowed = append(allowed, extent{shoff, shoff + shsize})
	diffs, inBTF := 0, 0
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		ok := false
		for _, e := range allowed {
			if uint64(i) >= e.off && uint64(i) < e.end {
				ok = true
			}
		}
		if !ok {
			diffs++
			if diffs < 5 {
				t.Errorf("byte %#x changed outside the BTF sections", i)
			}
		} else {
			inBTF++
		}
	}
	if diffs > 0 {
		t.Fatalf("%d bytes changed outside .BTF/.BTF_ids/section headers", diffs)
	}
	if inBTF == 0 {
		t.Fatal("nothing changed at all")
	}
	t.Logf("%d bytes changed, all inside .BTF/.BTF_ids", inBTF)
}

func shdrExtent(t *testing.T, data []byte) (uint64, uint64) {
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	o := ef.ByteOrder
	if ef.Class == elf.ELFCLASS64 {
		return o.Uint64(data[0x28:]), uint64(o.Uint16(data[0x3a:])) * uint64(o.Uint16(data[0x3c:]))
	}
	return uint64(o.Uint32(data[0x20:])), uint64(o.Uint16(data[0x2e:])) * uint64(o.Uint16(data[0x30:]))
}

var (
	dumpHead = regexp.MustCompile(`^\[(\d+)\] (\S+) '([^']*)'`)
	dumpRef  = regexp.MustCompile(`type_id=(\d+)`)
)

func bpftoolDump(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("bpftool", "btf", "dump", "file", path).Output()
	if err != nil {
		t.Fatalf("bpftool btf dump file %s: %v (run scripts/setup.sh)", path, err)
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
}

type dumpEntry struct {
	id    int
	kind  string
	name  string
	lines []string
}

func parseDump(t *testing.T, lines []string) []dumpEntry {
	var es []dumpEntry
	for _, l := range lines {
		if m := dumpHead.FindStringSubmatch(l); m != nil {
			id, _ := strconv.Atoi(m[1])
			es = append(es, dumpEntry{id: id, kind: m[2], name: m[3]})
		}
		if len(es) == 0 {
			t.Fatalf("dump starts with %q", l)
		}
		es[len(es)-1].lines = append(es[len(es)-1].lines, l)
	}
	return es
}

// checkBpftoolDump checks with bpftool (libbpf's parser, not ours) that OUT's
// dump is IN's with exactly the dropped FUNCs, the FUNC_PROTOs only they used
// and their DECL_TAGs gone, identical reference types merged, and every other
// entry identical once IDs are renumbered.
func checkBpftoolDump(t *testing.T, in, out string, dropped []string) {
	t.Helper()
	ie, oe := parseDump(t, bpftoolDump(t, in)), parseDump(t, bpftoolDump(t, out))
	removed := map[int]bool{}
	protos := map[int]bool{}
	for _, e := range ie {
		for _, d := range dropped {
			if e.kind == "FUNC" && e.name == d {
				removed[e.id] = true
				m := dumpRef.FindStringSubmatch(e.lines[0])
				p, _ := strconv.Atoi(m[1])
				protos[p] = true
			}
		}
	}
	if len(removed) != len(dropped) {
		t.Fatalf("found %d of the FUNCs %v in the input", len(removed), dropped)
	}
	users := map[int]int{}
	for _, e := range ie {
		if removed[e.id] {
			continue
		}
		for _, l := range e.lines {
			for _, m := range dumpRef.FindAllStringSubmatch(l, -1) {
				id, _ := strconv.Atoi(m[1])
				if protos[id] {
					users[id]++
				}
			}
		}
	}
	for p := range protos {
		if users[p] == 0 {
			removed[p] = true
		}
	}
	for _, e := range ie {
		if e.kind == "DECL_TAG" {
			m := dumpRef.FindStringSubmatch(e.lines[0])
			if id, _ := strconv.Atoi(m[1]); removed[id] {
				removed[e.id] = true
			}
		}
	}
	// Deduplication, the last step of every rewrite, may then merge
	// entries that have become, or always were, identical: model it
	// independently on the dump text. An entry of a reference kind whose
	// text, with its references mapped to their representatives, equals an
	// earlier kept entry's is merged into it; repeat until nothing moves.
	canon := map[int]int{}
	for _, e := range ie {
		canon[e.id] = e.id
	}
	render := func(e dumpEntry) string {
		var b strings.Builder
		for i, l := range e.lines {
			if i == 0 {
				l = l[strings.Index(l, "]")+1:]
			}
			b.WriteString(dumpRef.ReplaceAllStringFunc(l, func(s string) string {
				id, _ := strconv.Atoi(strings.TrimPrefix(s, "type_id="))
				if c, ok := canon[id]; ok {
					id = c
				}
				return fmt.Sprintf("type_id=%d", id)
			}))
			b.WriteByte('\n')
		}
		return b.String()
	}
	refKinds := map[string]bool{"FUNC_PROTO": true, "PTR": true, "CONST": true, "VOLATILE": true, "RESTRICT": true, "TYPE_TAG": true, "ARRAY": true}
	merged := 0
	for changed := true; changed; {
		changed = false
		seen := map[string]int{}
		for _, e := range ie {
			if removed[e.id] || canon[e.id] != e.id || !refKinds[e.kind] {
				continue
			}
			key := render(e)
			if c, ok := seen[key]; ok {
				canon[e.id] = c
				merged++
				changed = true
				continue
			}
			seen[key] = e.id
		}
	}
	for id, c := range canon {
		if c != id {
			removed[id] = true
		}
	}
	var gone []int
	for id := range removed {
		gone = append(gone, id)
	}
	sort.Ints(gone)
	renum := func(id int) int {
		if c, ok := canon[id]; ok {
			id = c
		}
		return id - sort.SearchInts(gone, id)
	}
	var want []string
	for _, e := range ie {
		if removed[e.id] {
			continue
		}
		for _, l := range e.lines {
			l = dumpHead.ReplaceAllStringFunc(l, func(s string) string {
				m := dumpHead.FindStringSubmatch(s)
				id, _ := strconv.Atoi(m[1])
				return fmt.Sprintf("[%d] %s '%s'", renum(id), m[2], m[3])
			})
			l = dumpRef.ReplaceAllStringFunc(l, func(s string) string {
				id, _ := strconv.Atoi(strings.TrimPrefix(s, "type_id="))
				return fmt.Sprintf("type_id=%d", renum(id))
			})
			want = append(want, l)
		}
	}
	var got []string
	for _, e := range oe {
		got = append(got, e.lines...)
	}
	if len(got) != len(want) {
		t.Fatalf("bpftool dump: %d lines, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("bpftool dump line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	t.Logf("bpftool: %d entries in, %d out; %d merged as duplicates, removed %v", len(ie), len(oe), merged, gone)
}

// sorted reports whether s is sorted as resolve_btfids sorts vmlinux BTF:
// anonymous types first, then by name.
func sorted(s *btf.Spec) bool {
	prev := ""
	for i := range s.Types {
		n := s.Name(&s.Types[i])
		if n < prev {
			return false
		}
		prev = n
	}
	return true
}

func checkSortedKept(t *testing.T, in, out string) {
	t.Helper()
	a, b := btftest.Load(t, in, nil), btftest.Load(t, out, nil)
	if sorted(a) != sorted(b) {
		t.Fatalf("input sorted %v, output sorted %v", sorted(a), sorted(b))
	}
	t.Logf("input sorted: %v; output sorted: %v", sorted(a), sorted(b))
}

// checkBTFIDSymbols resolves every __BTF_ID__ symbol's slot in IN and OUT
// against each file's BTF: kind and name must be the same.
func checkBTFIDSymbols(t *testing.T, in, out string) {
	t.Helper()
	resolve := func(path string) (map[string]string, int) {
		s := btftest.Load(t, path, nil)
		ef, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		sec := ef.Section(".BTF_ids")
		if sec == nil {
			t.Fatalf("%s has no .BTF_ids", path)
		}
		data, err := sec.Data()
		if err != nil {
			t.Fatal(err)
		}
		syms, err := ef.Symbols()
		if err != nil {
			t.Fatal(err)
		}
		res := map[string]string{}
		for _, sym := range syms {
			if !strings.HasPrefix(sym.Name, "__BTF_ID__") || strings.HasPrefix(sym.Name, "__BTF_ID__set") {
				continue
			}
			off := sym.Value - sec.Addr
			id := ef.ByteOrder.Uint32(data[off:])
			desc := "void"
			if id != 0 {
				tt, err := s.Type(btf.TypeID(id))
				if err != nil {
					t.Fatalf("%s: %s holds %d: %v", path, sym.Name, id, err)
				}
				desc = tt.Kind().String() + " " + s.Name(tt)
			}
			res[fmt.Sprintf("%s@%#x", sym.Name, sym.Value)] = desc
		}
		return res, len(res)
	}
	a, n := resolve(in)
	b, _ := resolve(out)
	bad := 0
	for k, v := range a {
		if b[k] != v {
			bad++
			if bad < 5 {
				t.Errorf("%s: %s became %s", k, v, b[k])
			}
		}
	}
	if bad > 0 || n == 0 {
		t.Fatalf("%d of %d __BTF_ID__ symbols resolve differently", bad, n)
	}
	t.Logf("%d __BTF_ID__ symbols resolve to the same kind and name", n)
}
