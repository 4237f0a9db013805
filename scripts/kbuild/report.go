package kbuild

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// WrapperPrefix starts every line btffilter-pahole prints.
const WrapperPrefix = "btffilter-pahole: "

// FileReport is what the wrapper said about one file in a build log.
type FileReport struct {
	Path string
	// Summary is the file's summary line, "" when there was none.
	Summary                 string
	TypesBefore, TypesAfter int
	RemovedCount, Protected int
	// Removed are the names of the -v lines, in order.
	Removed  []string
	Warnings []string
}

var (
	summaryRE = regexp.MustCompile(`^(.*): (\S+) (\S*): (\d+) -> (\d+) types, \d+ -> \d+ bytes, (\d+) functions removed, (\d+) protected`)
	removedRE = regexp.MustCompile(`^(.*?): ([A-Za-z0-9_.$]+): skipping BTF encoding of function due to `)
	warningRE = regexp.MustCompile(`^(.*?): warning: (.*)$`)
)

// WrapperReport reads the wrapper's lines of a build log: the report of each
// file, by path, and the lines that are none of summary, -v line and
// warning (errors).
func WrapperReport(log string) (map[string]*FileReport, []string, error) {
	f, err := os.Open(log)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	files := map[string]*FileReport{}
	get := func(p string) *FileReport {
		if files[p] == nil {
			files[p] = &FileReport{Path: p}
		}
		return files[p]
	}
	var other []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		l := sc.Text()
		i := strings.Index(l, WrapperPrefix)
		if i < 0 {
			continue
		}
		l = l[i+len(WrapperPrefix):]
		if m := summaryRE.FindStringSubmatch(l); m != nil {
			r := get(m[1])
			r.Summary = l
			r.TypesBefore, _ = strconv.Atoi(m[4])
			r.TypesAfter, _ = strconv.Atoi(m[5])
			r.RemovedCount, _ = strconv.Atoi(m[6])
			r.Protected, _ = strconv.Atoi(m[7])
			continue
		}
		if m := removedRE.FindStringSubmatch(l); m != nil {
			r := get(m[1])
			r.Removed = append(r.Removed, m[2])
			continue
		}
		if m := warningRE.FindStringSubmatch(l); m != nil {
			r := get(m[1])
			r.Warnings = append(r.Warnings, m[2])
			continue
		}
		other = append(other, l)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", log, err)
	}
	return files, other, nil
}

// LogLines returns the lines of a build log that contain any of subs, for
// the resolve_btfids and recompilation checks.
func LogLines(log string, match func(string) bool) ([]string, error) {
	data, err := os.ReadFile(log)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if match(l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
