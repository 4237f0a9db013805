package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter"
)

// The fixture suite of testdata/abi through the whole pipeline: each object
// judged by `btffilter -n -j --kernel V`, and the removals compared with the
// hand-derived tables expected-<arch>.tsv (verdict remove: removed by rule
// abi, and the reason names the table's first misread argument; keep and
// refused: not removed at all).

var abiFixtures = []struct{ file, table string }{
	{"x86_64-gcc.o", "expected-x86_64.tsv"},
	{"x86_64-clang.o", "expected-x86_64.tsv"},
	{"aarch64-gcc.o", "expected-arm64.tsv"},
	{"aarch64-clang.o", "expected-arm64.tsv"},
	{"s390x-gcc.o", "expected-s390x.tsv"},
	{"s390x-clang.o", "expected-s390x.tsv"},
	{"ppc64le-gcc.o", "expected-ppc64le.tsv"},
	{"ppc64le-clang.o", "expected-ppc64le.tsv"},
	{"riscv64-gcc.o", "expected-riscv64.tsv"},
	{"riscv64-clang.o", "expected-riscv64.tsv"},
	{"loongarch64-gcc.o", "expected-loongarch64.tsv"},
}

// removedByOtherRules are functions another default rule removes, which the
// abi tables (about rule abi only) leave alone: file and function to the rule
// and a piece of its reason.
var removedByOtherRules = map[string][2]string{
	// s390x returns every struct through a hidden pointer in r2
	// (abi.ReturnsInMemory), so a arrives in r3: pahole's unexpected_reg.
	"s390x-gcc.o ret_struct":   {"signature", "returns a struct through a hidden pointer"},
	"s390x-clang.o ret_struct": {"signature", "returns a struct through a hidden pointer"},
}

// abiTableCannotHold are the table rows that a fixture's DWARF does not let
// the judge reproduce (filter/internal/abi, knownVerdictDifferences): a
// removal the table wants and the pipeline cannot see.
// None today: gcc for riscv64 writes no DW_AT_alignment for a struct-level
// aligned(16), but the abi rule finds the 16-byte stack alignment from the
// entry location (riscv64-gcc.o al16s_stack, docs/facts.md §9).
var abiTableCannotHold = map[string]bool{}

type abiRow struct {
	verdict string
	arg     int
}

func readABITable(t *testing.T, path string) map[[2]string]abiRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run scripts/build-abi-fixtures.sh)", err)
	}
	defer f.Close()
	rows := map[[2]string]abiRow{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 5 {
			t.Fatalf("%s:%d: %d columns", path, n, len(c))
		}
		r := abiRow{verdict: c[2], arg: -1}
		if c[3] != "-" {
			if r.arg, err = strconv.Atoi(c[3]); err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
		}
		rows[[2]string{c[0], c[1]}] = r
	}
	return rows
}

var reasonArg = regexp.MustCompile(`^arg (\d+) \(`)

func TestABIFixturesPipeline(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "abi")
	for _, fx := range abiFixtures {
		table := readABITable(t, filepath.Join(dir, fx.table))
		for _, kv := range []string{"6.1", "7.2"} {
			t.Run(fx.file+"/"+kv, func(t *testing.T) {
				fr := jsonReport(t, "-n", "--kernel", kv, filepath.Join(dir, fx.file)).Files[0]
				removed := map[string]filter.Removed{}
				for _, r := range fr.Removed {
					removed[r.Name] = r
				}
				compared, removes, want := 0, 0, 0
				for key, row := range table {
					if key[1] != kv {
						continue
					}
					compared++
					if row.verdict == "remove" {
						want++
					}
					r, gone := removed[key[0]]
					delete(removed, key[0])
					if abiTableCannotHold[fx.file+" "+key[0]+" "+kv] {
						if gone {
							t.Errorf("%s: removed, though the fixture's DWARF was known to hide why", key[0])
						}
						want--
						continue
					}
					switch {
					case row.verdict == "remove" && !gone:
						t.Errorf("%s: kept, the table says remove (arg %d)", key[0], row.arg)
					case row.verdict == "remove":
						removes++
						m := reasonArg.FindStringSubmatch(r.Reason)
						if r.Rule != "abi" || m == nil || m[1] != strconv.Itoa(row.arg) {
							t.Errorf("%s: removed by %s (%s), the table says abi, arg %d", key[0], r.Rule, r.Reason, row.arg)
						}
					case gone:
						other, ok := removedByOtherRules[fx.file+" "+key[0]]
						if !ok || r.Rule != other[0] || !strings.Contains(r.Reason, other[1]) {
							t.Errorf("%s: removed by %s (%s), the table says %s", key[0], r.Rule, r.Reason, row.verdict)
						}
					case removedByOtherRules[fx.file+" "+key[0]] != [2]string{}:
						t.Errorf("%s: kept, though rule %s should remove it", key[0], removedByOtherRules[fx.file+" "+key[0]][0])
					}
				}
				for name, r := range removed {
					t.Errorf("%s: removed by %s (%s) but has no row in %s", name, r.Rule, r.Reason, fx.table)
				}
				if compared < 50 || removes != want {
					t.Errorf("%d rows compared, %d of %d removals found", compared, removes, want)
				}
				t.Logf("%s kernel %s: %d functions compared with %s, %d removed by abi", fx.file, kv, compared, fx.table, removes)
			})
		}
	}
}
