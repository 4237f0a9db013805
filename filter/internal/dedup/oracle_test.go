package dedup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/check"
)

const oracleScript = "scripts/dedup-oracle/build.sh"

// The small cases (hand-made and clang-built) are compared with libbpf's
// output as committed in expectedDir: the unit tier needs no chroot. Their
// inputs' hashes are recorded next to them, so a changed case cannot be
// compared with a stale expectation; -update (scripts/dedup-oracle/update-expected.sh)
// runs the oracle and rewrites them. Without -short the oracle also runs
// and must still agree with what is committed.
const expectedDir = "testdata/libbpf"

var update = flag.Bool("update", false, "rewrite "+expectedDir+" from the libbpf oracle ("+oracleScript+")")

// expectedSums reads the input hashes of expectedDir: file name -> sha256.
func expectedSums(t testing.TB) map[string]string {
	t.Helper()
	sums := map[string]string{}
	f, err := os.Open(filepath.Join(expectedDir, "inputs.sha256"))
	if os.IsNotExist(err) && *update {
		return sums
	}
	if err != nil {
		t.Fatalf("%v (regenerate: %s)", err, "scripts/dedup-oracle/update-expected.sh")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok {
			sums[name] = sum
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

var expectedMu sync.Mutex

// libbpfExpected returns libbpf's btf__dedup output for the small case
// called name with encoded input raw.
func libbpfExpected(t *testing.T, name string, raw []byte) []byte {
	t.Helper()
	expectedMu.Lock()
	defer expectedMu.Unlock()
	file := name + ".btf"
	path := filepath.Join(expectedDir, file)
	sum := sha256.Sum256(raw)
	inSum := hex.EncodeToString(sum[:])
	if *update {
		out, _ := libbpfDedup(t, raw, nil)
		if err := os.MkdirAll(expectedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		sums := expectedSums(t)
		sums[file] = inSum
		var lines []string
		for n, s := range sums {
			lines = append(lines, s+"  "+n)
		}
		slices.Sort(lines)
		if err := os.WriteFile(filepath.Join(expectedDir, "inputs.sha256"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := expectedSums(t)[file]; got != inSum {
		t.Fatalf("%s was made from another input (sha256 %s, the case's is %s): the case changed; regenerate with scripts/dedup-oracle/update-expected.sh", path, got, inSum)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with scripts/dedup-oracle/update-expected.sh)", err)
	}
	if !testing.Short() {
		live, _ := libbpfDedup(t, raw, nil)
		if !bytes.Equal(live, want) {
			t.Fatalf("the libbpf oracle's output for %s is no longer the committed %s: libbpf changed; review and regenerate with scripts/dedup-oracle/update-expected.sh", name, path)
		}
	}
	return want
}

var oracleOnce struct {
	sync.Once
	path string
	err  error
}

// oracle returns the path of the libbpf dedup harness, building it (or
// finding it in the cache) through its build script.
func oracle(t testing.TB) string {
	t.Helper()
	oracleOnce.Do(func() {
		cmd := exec.Command(filepath.Join("..", "..", "..", oracleScript))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			oracleOnce.err = fmt.Errorf("%s failed: %v\n%s", oracleScript, err, stderr.String())
			return
		}
		oracleOnce.path = strings.TrimSpace(string(out))
	})
	if oracleOnce.err != nil {
		t.Fatalf("the libbpf oracle is missing: run %s: %v", oracleScript, oracleOnce.err)
	}
	return oracleOnce.path
}

// libbpfDedup runs btf__dedup on raw (split on rawBase when not nil) and
// returns its output and the nanoseconds spent inside btf__dedup.
func libbpfDedup(t testing.TB, raw, rawBase []byte) ([]byte, int64) {
	t.Helper()
	bin := oracle(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.btf"), filepath.Join(dir, "out.btf")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{in, out}
	if rawBase != nil {
		base := filepath.Join(dir, "base.btf")
		if err := os.WriteFile(base, rawBase, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"-b", base}, args...)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	line, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != "dedup_ns" {
		t.Fatalf("%s printed %q", bin, line)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("%s printed %q", bin, line)
	}
	res, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return res, ns
}

// describe renders type t of s with its strings spelled out and its other
// words as numbers; type IDs stay numbers, so two sequences compare by
// position.
func describe(s *btf.Spec, t *btf.Type) string {
	c := t.Clone()
	var names []string
	c.VisitStrings(func(p *uint32) {
		str, err := s.Str(*p)
		if err != nil {
			str = "<" + err.Error() + ">"
		}
		names = append(names, strconv.Quote(str))
		*p = 0
	})
	return fmt.Sprintf("%v %s info=%#x size/type=%d extra=%v", c.Kind(), strings.Join(names, ","), c.Info, c.SizeType, c.Extra)
}

// sameSequence fails t unless ours and theirs hold the same types in the
// same order, field by field.
func sameSequence(t *testing.T, ours, theirs *btf.Spec) {
	t.Helper()
	if ours.FirstID() != theirs.FirstID() {
		t.Fatalf("first ID %d, libbpf's %d", ours.FirstID(), theirs.FirstID())
	}
	n := min(len(ours.Types), len(theirs.Types))
	diffs := 0
	for i := 0; i < n; i++ {
		a, b := describe(ours, &ours.Types[i]), describe(theirs, &theirs.Types[i])
		if a != b {
			if diffs < 5 {
				t.Errorf("type [%d]:\n  ours:   %s\n  libbpf: %s", ours.FirstID()+btf.TypeID(i), a, b)
			}
			diffs++
		}
	}
	if len(ours.Types) != len(theirs.Types) {
		t.Errorf("%d types, libbpf %d", len(ours.Types), len(theirs.Types))
	}
	if diffs > 0 {
		t.Fatalf("%d of %d types differ", diffs, n)
	}
}

// checkOutput re-validates a dedup result with the kernel's rules and
// cilium/ebpf, and checks that the ID map sends every old ID to a type of
// the same kind (FWDs and forward enums may become what they resolved to).
func checkOutput(t *testing.T, in *btf.Spec, res *Result, base *check.Base, loadable bool) []byte {
	t.Helper()
	raw := res.Spec.Encode()
	var err error
	switch {
	case !loadable:
		_, err = btf.Decode(raw, nil)
	case base == nil:
		_, err = check.Blob(raw)
	default:
		_, err = check.Split(raw, base)
	}
	if err != nil {
		t.Fatalf("output does not validate: %v", err)
	}
	for i := range in.Types {
		old := in.FirstID() + btf.TypeID(i)
		n, ok := res.Map.Lookup(old)
		if !ok {
			t.Fatalf("type [%d] is not in the ID map", old)
		}
		nt, err := res.Spec.Type(n)
		if err != nil {
			t.Fatalf("type [%d] maps to %d: %v", old, n, err)
		}
		ok1, ok2 := in.Types[i].Kind(), nt.Kind()
		fwdOK := ok1 == btf.KindFwd && (ok2 == btf.KindStruct || ok2 == btf.KindUnion)
		enumOK := isAnyEnum(&in.Types[i]) && isAnyEnum(nt)
		if ok1 != ok2 && !fwdOK && !enumOK {
			t.Fatalf("type [%d] %v maps to [%d] %v", old, ok1, n, ok2)
		}
		if in.Name(&in.Types[i]) != res.Spec.Name(nt) {
			t.Fatalf("type [%d] %q maps to [%d] %q", old, in.Name(&in.Types[i]), n, res.Spec.Name(nt))
		}
	}
	return raw
}

// compareWithLibbpf dedups base spec s with both implementations (the
// oracle running now) and requires the same type sequence. It returns how
// many types merged.
func compareWithLibbpf(t *testing.T, s *btf.Spec) (merged int) {
	t.Helper()
	return compareLoadable(t, s, true, func(raw []byte) []byte {
		out, _ := libbpfDedup(t, raw, nil)
		return out
	})
}

// compareExpected is compareWithLibbpf for a small case whose libbpf output
// is committed (libbpfExpected); such inputs are object files before
// linking, which the kernel would not load (their DATASECs have no size).
func compareExpected(t *testing.T, name string, s *btf.Spec) (merged int) {
	t.Helper()
	return compareLoadable(t, s, false, func(raw []byte) []byte { return libbpfExpected(t, name, raw) })
}

// compareLoadable compares with libbpf's output for input the kernel would
// load (then the output must load too) or would not.
func compareLoadable(t *testing.T, s *btf.Spec, loadable bool, libbpf func(raw []byte) []byte) (merged int) {
	t.Helper()
	raw := s.Encode()
	in, err := btf.Decode(raw, nil)
	if err == nil && loadable {
		in, err = btf.ValidateBlob(raw, nil)
	}
	if err != nil {
		t.Fatalf("input does not validate: %v", err)
	}
	theirsRaw := libbpf(raw)
	theirs, err := btf.Decode(theirsRaw, nil)
	if err != nil {
		t.Fatalf("libbpf's output: %v", err)
	}
	res, err := Dedup(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, in, res, nil, loadable)
	sameSequence(t, res.Spec, theirs)
	sameInPlace(t, raw, nil, Options{}, res)
	return res.Merged
}

// sameInPlace dedups a fresh decode of raw (split on base when not nil)
// with Options.InPlace and requires the bytes and the ID map of want, the
// result of the copying mode.
func sameInPlace(t testing.TB, raw []byte, base *btf.Spec, opts Options, want *Result) {
	t.Helper()
	in, err := btf.Decode(raw, base)
	if err != nil {
		t.Fatal(err)
	}
	opts.InPlace = true
	first, next := in.FirstID(), in.NextID()
	got, err := Dedup(in, opts)
	if err != nil {
		t.Fatalf("in place: %v", err)
	}
	if in.Types != nil || in.Strings != nil {
		t.Fatal("in place: the consumed input still holds its types or strings")
	}
	if !bytes.Equal(got.Spec.Encode(), want.Spec.Encode()) {
		t.Fatalf("in place: the output differs from the copying mode's")
	}
	if got.Merged != want.Merged {
		t.Fatalf("in place: %d merged, copying mode %d", got.Merged, want.Merged)
	}
	for id := first; id < next; id++ {
		a, okA := got.Map.Lookup(id)
		b, okB := want.Map.Lookup(id)
		if a != b || okA != okB {
			t.Fatalf("in place: type [%d] maps to %d (%v), copying mode to %d (%v)", id, a, okA, b, okB)
		}
	}
}
