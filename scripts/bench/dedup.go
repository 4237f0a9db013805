package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// dedupModules is how many modules the module input of the deduplication
// concatenates.
const dedupModules = 16

// buildOracle builds (or finds up to date) libbpf's btf__dedup driver,
// scripts/dedup-oracle, and returns its path.
func buildOracle(root string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "scripts", "dedup-oracle", "build.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/dedup-oracle/build.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// dedupSection measures btffilter --dedup-only against dedup-oracle
// (libbpf's btf__dedup) on raw BTF with real duplicates: each vmlinux's
// .BTF twice over, and modules made standalone and concatenated (built by
// filter/internal/tools/dedup-bench). Both sides read the file, parse it,
// deduplicate it and write the result; the two results are compared.
func (b *bench) dedupSection() error {
	oracle, err := buildOracle(b.root)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.work, "dedup")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	maker := filepath.Join(dir, "dedup-bench")
	if err := b.goBuild(maker, "./filter/internal/tools/dedup-bench"); err != nil {
		return err
	}
	type input struct{ name, file string }
	var inputs []input
	var makeArgs [][]string
	for _, tag := range b.tags {
		in := input{tag + " vmlinux x2", filepath.Join(dir, tag+"-twice.btf")}
		inputs = append(inputs, in)
		makeArgs = append(makeArgs, []string{"-make", tag, in.file})
	}
	in := input{fmt.Sprintf("%s %d modules", b.tags[0], dedupModules), filepath.Join(dir, "modules.btf")}
	inputs = append(inputs, in)
	makeArgs = append(makeArgs, []string{"-make-modules", b.tags[0], strconv.Itoa(dedupModules), in.file})

	for i, in := range inputs {
		cmd := exec.Command(maker, makeArgs[i]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("dedup-bench %s: %w", strings.Join(makeArgs[i], " "), err)
		}
		inTypes, err := countTypes(maker, in.file)
		if err != nil {
			return err
		}
		size, err := fileSize(in.file)
		if err != nil {
			return err
		}
		ours, ref := filepath.Join(dir, "btffilter.btf"), filepath.Join(dir, "libbpf.btf")
		jobs := []job{
			{
				name:   "btffilter --dedup-only",
				argv:   []string{b.bin, "--dedup-only", "-o", ours, in.file},
				before: func() error { return removeIfPresent(ours) },
				after:  func() error { return nonEmpty(ours) },
			},
			{
				name:   "dedup-oracle (libbpf btf__dedup)",
				argv:   []string{oracle, in.file, ref},
				before: func() error { return removeIfPresent(ref) },
				after:  func() error { return nonEmpty(ref) },
			},
		}
		b.section("dedup: %s (%d types, %.1f MiB raw BTF): %s of each side, alternating", in.name, inTypes, float64(size)/(1<<20), runsText(b.runs))
		b.commands(jobs)
		s, err := b.r.alternate(jobs, b.runs, b.progress)
		if err != nil {
			return err
		}
		o, r := medianSample(s[0]), medianSample(s[1])
		b.medians(jobs, []sample{o, r})
		// The outputs are those of each side's last run.
		same, detail, err := compareOutputs(maker, ours, ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(b.out, "  outputs: %s\n", detail)
		work := "dedup-only " + in.name
		if !same {
			work += " (outputs differ)"
		}
		b.rows = append(b.rows,
			row{work: work + ", wall", runs: b.runs, unit: "s", ours: o.seconds(), refName: "libbpf btf__dedup", ref: r.seconds(), target: 1.0},
			row{work: work + ", peak RSS", runs: b.runs, unit: "MiB", ours: o.rssMiB(), refName: "libbpf btf__dedup", ref: r.rssMiB(), target: 2.0},
		)
		for _, f := range []string{in.file, ours, ref} {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return os.RemoveAll(dir)
}

// countTypes returns the number of types of a raw BTF file (type 0, void,
// included, as libbpf counts them), as dedup-bench -p (decode only) finds
// it: decoded in another process, so that the bench stays small (see
// ownPeakRSS).
func countTypes(maker, path string) (int, error) {
	out, err := exec.Command(maker, "-p", path).Output()
	if err != nil {
		return 0, fmt.Errorf("dedup-bench -p %s: %w", path, err)
	}
	f := strings.Fields(string(out))
	if i := slices.Index(f, "types_in"); i >= 0 && i+1 < len(f) {
		return strconv.Atoi(f[i+1])
	}
	return 0, fmt.Errorf("dedup-bench -p %s: no types_in in %q", path, out)
}

// sameFiles compares two files byte for byte, a block at a time.
func sameFiles(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		endA := ea == io.EOF || ea == io.ErrUnexpectedEOF
		endB := eb == io.EOF || eb == io.ErrUnexpectedEOF
		if ea != nil && !endA {
			return false, ea
		}
		if eb != nil && !endB {
			return false, eb
		}
		if endA || endB {
			return endA == endB, nil
		}
	}
}

// compareOutputs compares the two deduplicated files byte for byte and
// describes them.
func compareOutputs(maker, ours, ref string) (bool, string, error) {
	same, err := sameFiles(ours, ref)
	if err != nil {
		return false, "", err
	}
	var n [2]int
	var size [2]int64
	for i, f := range []string{ours, ref} {
		if n[i], err = countTypes(maker, f); err != nil {
			return false, "", err
		}
		if size[i], err = fileSize(f); err != nil {
			return false, "", err
		}
	}
	if same {
		return true, fmt.Sprintf("byte-identical (%d types, %d bytes)", n[0], size[0]), nil
	}
	return false, fmt.Sprintf("DIFFERENT: btffilter %d types, %d bytes; libbpf %d types, %d bytes", n[0], size[0], n[1], size[1]), nil
}
