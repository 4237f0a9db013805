package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// treeModules6 are the 6.1 amd64 modules that once failed a whole-tree run
// ("kept type refers to removed type"): each names, through a function
// pointer, a base FUNC_PROTO that only removed vmlinux FUNCs used.
var treeModules6 = []string{"xxhash_generic", "null_blk", "bcache", "nvme_fc", "nvme_rdma", "nvme_tcp"}

// treeModules7 is how many modules of the rewritten 7.2 modules package the
// shipped 7.2 kernel loads.
const treeModules7 = 20

// TestBootTrees boots what whole-tree runs wrote, as a packager runs
// btffilter (docs/packaging.md), two kernels at once:
//
//   - 6.1 amd64: one run, default rules, over a copy of the -dbg vmlinux and
//     its whole -dbg module tree given as a directory; the rewritten vmlinux
//     boots and loads the rewritten treeModules6 and their dependencies, each
//     with its BTF, with no BTF error in the kernel log, and fentry attaches
//     to a kept function of each.
//   - 7.2 amd64: one run over a copy of the shipped modules package
//     (stripped, signed .ko.xz) with --strip-signature, the -dbg package as
//     --debuginfo and the -dbg vmlinux (whose .BTF is the shipped kernel's)
//     as -B; the shipped boot image, unmodified, loads 20 rewritten modules
//     that had functions removed, and their dependencies; each loads with its
//     BTF, fentry finds no removed function and attaches to a kept one.
//
// The copies are hard links where the file system allows: btffilter
// replaces each file it rewrites by a new one (renamed over it), so the
// cache is never written, and the test checks that every file it boots
// from the trees is one the run wrote.
func TestBootTrees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btffilter over whole real module trees and boots them under QEMU; skipped with -short")
	}
	tool := buildTool(t, t.TempDir())
	// The two btffilter runs take both cores: the 7.2 one (the longer
	// way to its boot) goes first, the 6.1 one while the 7.2 kernel boots.
	ran72 := make(chan struct{})
	done72 := sync.OnceFunc(func() { close(ran72) })
	t.Run("6.1-amd64", func(t *testing.T) {
		t.Parallel()
		<-ran72
		tree61(t, tool)
	})
	t.Run("7.2-amd64", func(t *testing.T) {
		t.Parallel()
		defer done72()
		tree72(t, tool, done72)
	})
}

func tree61(t *testing.T, tool string) {
	start := time.Now()
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dbg := filepath.Join(dir, "dbg")
	if err := linkTree(filepath.Join(k.Dir, "dbg"), dbg); err != nil {
		t.Fatal(err)
	}
	vmlinux := filepath.Join(dbg, "usr/lib/debug/boot/vmlinux-"+k.Release)
	tree := filepath.Join(dbg, "usr/lib/debug/lib/modules", k.Release)
	all, err := k.DbgModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	rep := treeRun(t, tool, "-j", vmlinux, tree)
	if s := rep.Summary; s.Files != 1+len(all) || s.Failed != 0 || s.Written != s.Changed {
		t.Fatalf("summary %+v, want %d files, none failed, every changed one written", *s, 1+len(all))
	}
	byPath := map[string]*filter.FileReport{}
	for _, f := range rep.Files {
		byPath[f.Path] = f
	}
	files := treeFiles(t, tree)
	load, err := newModIndex(files).loadOrder(treeModules6)
	if err != nil {
		t.Fatal(err)
	}
	base, err := btf.LoadSpec(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	var mods, fentry []string
	for _, m := range load {
		mods = append(mods, m.Path)
		rewritten(t, k.Dir, dbg, m.Path, byPath[m.Path])
		if !slices.Contains(treeModules6, m.Name) {
			continue
		}
		f := byPath[m.Path]
		t.Logf("%s: %d removed, %d base types adopted", m.Name, len(f.Removed), f.Adopted)
		kept, err := plainTraceable(m.Path, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(kept) == 0 {
			t.Fatalf("%s: no traceable function kept", m.Name)
		}
		fentry = append(fentry, m.Name+":"+kept[0])
	}
	rewritten(t, k.Dir, dbg, vmlinux, byPath[vmlinux])
	t.Logf("6.1 amd64: tree run and choice in %v; booting the rewritten vmlinux with %d modules", time.Since(start).Round(time.Second), len(mods))
	res, err := Run(bootContext(t), Boot{
		Arch:      k.Arch,
		Vmlinux:   vmlinux,
		Modules:   mods,
		WorkDir:   t.TempDir(),
		Files:     map[string][]byte{"fentry.txt": []byte(strings.Join(fentry, "\n"))},
		ProbeArgs: []string{"-fentry-list", "/fentry.txt", "-keep"},
	})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	checkTreeBoot(t, k, res, load, fentry, nil)
	t.Logf("6.1 amd64: %v in all (boot %v)", time.Since(start).Round(time.Second), res.Total.Round(time.Second))
}

// tree72 calls ran once its btffilter run is over.
func tree72(t *testing.T, tool string, ran func()) {
	start := time.Now()
	k, err := kernels.Load("7.2-amd64")
	if err != nil {
		t.Fatal(err)
	}
	if k.Vmlinuz == "" {
		t.Fatal("the 7.2 amd64 image package has no vmlinuz")
	}
	dir := t.TempDir()
	image := filepath.Join(dir, "image")
	if err := linkTree(filepath.Join(k.Dir, "image"), image); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Join(k.Dir, "image"), k.Modules)
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Dir(filepath.Join(image, rel)) // usr/lib/modules/RELEASE
	all, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	rep := treeRun(t, tool, "-j", "--strip-signature", "--debuginfo", filepath.Join(k.Dir, "dbg"), "-B", k.Vmlinux, tree)
	ran()
	if s := rep.Summary; s.Files != len(all) || s.Failed != 0 || s.Written != s.Changed || s.Changed == 0 {
		t.Fatalf("summary %+v, want %d files, none failed, every changed one written", *s, len(all))
	}
	byPath := map[string]*filter.FileReport{}
	for _, f := range rep.Files {
		byPath[f.Path] = f
		for _, w := range f.Warnings {
			// Every module is judged with its DWARF from the -dbg tree.
			if strings.Contains(w, "not applied") {
				t.Errorf("%s: %s", f.Path, w)
			}
		}
	}
	base, err := btf.LoadSpec(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	files := treeFiles(t, tree)
	load, fentry, gone, err := pickRewritten(files, byPath, base, treeModules7)
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	for _, m := range load {
		mods = append(mods, m.Path)
		if f := byPath[m.Path]; f != nil && f.Written {
			rewritten(t, k.Dir, image, m.Path, f)
		}
	}
	t.Logf("7.2 amd64: tree run and choice in %v; booting the shipped image with %d modules; kept functions tried: %s; removed ones: %s",
		time.Since(start).Round(time.Second), len(mods), strings.Join(fentry, " "), strings.Join(gone, " "))
	res, err := Run(bootContext(t), Boot{
		Arch:    k.Arch,
		Vmlinux: k.Vmlinuz,
		Modules: mods,
		WorkDir: t.TempDir(),
		Files: map[string][]byte{
			"fentry.txt": []byte(strings.Join(fentry, "\n")),
			"gone.txt":   []byte(strings.Join(gone, "\n")),
		},
		ProbeArgs: []string{"-fentry-list", "/fentry.txt", "-gone-list", "/gone.txt", "-keep"},
	})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	checkTreeBoot(t, k, res, load, fentry, gone)
	t.Logf("7.2 amd64: %v in all (boot %v)", time.Since(start).Round(time.Second), res.Total.Round(time.Second))
}

// treeRun runs btffilter with args (which include -j) and returns its
// report.
func treeRun(t *testing.T, tool string, args ...string) *filter.Report {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(tool, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r filter.Report
	if jerr := json.Unmarshal(out, &r); jerr != nil || r.Summary == nil {
		t.Fatalf("btffilter %s: %v, report: %v\n%s", strings.Join(args, " "), err, jerr, stderr.String())
	}
	for _, f := range r.Files {
		if f.Error != "" {
			t.Errorf("btffilter: %s: %s", f.Path, f.Error)
		}
	}
	if err != nil || t.Failed() {
		t.Fatalf("btffilter %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	s := r.Summary
	var rules []string
	for _, n := range s.Rules() {
		rules = append(rules, fmt.Sprintf("%s %d", n, s.Removed[n]))
	}
	t.Logf("btffilter %s: %d files, %d changed, %d failed, removed %s, in %v", strings.Join(args, " "),
		s.Files, s.Changed, s.Failed, strings.Join(rules, ", "), time.Since(start).Round(time.Second))
	return &r
}

// rewritten checks that path, below the copy dst of the cache directory
// src/..., is a file the run wrote: reported written, and no longer the
// cached file it was linked from.
func rewritten(t *testing.T, cacheDir, dst, path string, f *filter.FileReport) {
	t.Helper()
	if f == nil || !f.Written {
		t.Fatalf("%s: not rewritten by the run (%+v)", path, f)
	}
	rel, err := filepath.Rel(dst, path)
	if err != nil {
		t.Fatal(err)
	}
	a, errA := os.Stat(path)
	b, errB := os.Stat(filepath.Join(cacheDir, filepath.Base(dst), rel))
	if errA != nil || errB != nil || os.SameFile(a, b) {
		t.Fatalf("%s: still the cached file (%v, %v)", path, errA, errB)
	}
}

// checkTreeBoot: the guest runs the kernel's release; every module loads
// with its BTF; the kernel log has no BTF error; every fentry target
// attaches; every gone target is absent from its module's BTF and fentry
// by name fails.
func checkTreeBoot(t *testing.T, k *kernels.Kernel, res *Result, load []ModuleInfo, fentry, gone []string) {
	t.Helper()
	if res.Release != k.Release {
		t.Errorf("guest runs %q, want %q", res.Release, k.Release)
	}
	for _, m := range load {
		if got := res.Insmod[m.Name]; got != "ok" {
			t.Errorf("insmod %s: %q", m.Name, got)
		}
		if !res.ModuleBTF[m.Name] {
			t.Errorf("/sys/kernel/btf/%s missing", m.Name)
		}
	}
	if len(res.BTFErrors) > 0 {
		t.Errorf("the kernel log has BTF errors:\n%s", strings.Join(res.BTFErrors, "\n"))
	}
	attached := 0
	for _, f := range fentry {
		if got := res.Fentry[f]; got != "ok" {
			t.Errorf("fentry %s (kept): %q, want ok", f, got)
		} else {
			attached++
		}
	}
	absent := checkGone(t, res, gone)
	var phases []string
	for _, n := range res.Notes {
		if p, ok := strings.CutPrefix(n, "phase "); ok {
			phases = append(phases, p)
		}
	}
	t.Logf("%s: /init after %v, done after %v; guest uptime at the end of each phase: %s", k.Tag,
		res.BootTime.Round(time.Second), res.Total.Round(time.Second), strings.Join(phases, ", "))
	t.Logf("%s: %d modules loaded with BTF (of %d), %d BTF errors; %d of %d kept functions attached, %d of %d removed ones not found",
		k.Tag, countLoaded(res, load), len(load), len(res.BTFErrors), attached, len(fentry), absent, len(gone))
}

// checkGone checks that each removed function (MODULE:FUNC, from the
// probe's -gone-list) is absent from its module's BTF in the guest and
// that fentry by its name finds nothing, and returns how many are.
func checkGone(t *testing.T, res *Result, gone []string) int {
	t.Helper()
	absent := 0
	for _, g := range gone {
		state, attach, _ := strings.Cut(res.Gone[g], " ")
		switch {
		case state != "absent":
			t.Errorf("removed %s: %q in its BTF, want absent", g, res.Gone[g])
		case !strings.Contains(attach, "fentry "+g[strings.IndexByte(g, ':')+1:]+" not supported"):
			// cilium/ebpf says "fentry NAME not supported" when no BTF
			// of the running kernel has a FUNC of that name.
			t.Errorf("removed %s: fentry by name %q, want a not-found error", g, attach)
		default:
			absent++
		}
	}
	return absent
}

func countLoaded(res *Result, load []ModuleInfo) int {
	n := 0
	for _, m := range load {
		if res.Insmod[m.Name] == "ok" && res.ModuleBTF[m.Name] {
			n++
		}
	}
	return n
}

// pickRewritten chooses n modules of a rewritten tree that had functions
// removed and are loadable with their dependencies (unloadable): the sorted
// candidates are cut into n equal strides, and from each the one with the
// fewest dependencies (then the first) that has a kept FUNC fentry must
// attach to (plainTraceable) and a removed one it must not find (a name the
// vmlinux has no FUNC of). The removed name is also no FUNC of another
// module loaded, so that attaching by name cannot reach a namesake. It
// returns the modules to insmod in dependency order and the two lists of
// targets (MODULE:FUNC).
func pickRewritten(files []string, byPath map[string]*filter.FileReport, base *btf.Spec, n int) (load []ModuleInfo, fentry, gone []string, err error) {
	var cands []string
	for _, p := range files {
		if f := byPath[p]; f != nil && f.Written && len(f.Removed) > 0 && !unloadable(p, nil) {
			cands = append(cands, p)
		}
	}
	if len(cands) < n {
		return nil, nil, nil, fmt.Errorf("%d rewritten modules with removals, want %d", len(cands), n)
	}
	idx := newModIndex(files)
	type choice struct {
		path, name    string
		kept, removed []string
	}
	var chosen []choice
	k := len(cands) / n
	for i := range n {
		var best *choice
		bestDeps := 0
		for _, p := range cands[i*k : (i+1)*k] {
			name := moduleNameFromFile(p)
			order, err := idx.loadOrder([]string{name})
			if errors.Is(err, errUnloadableDep) || err == nil && best != nil && len(order) >= bestDeps {
				continue
			}
			if err != nil {
				return nil, nil, nil, err
			}
			kept, err := plainTraceable(p, base)
			if err != nil {
				return nil, nil, nil, err
			}
			var removed []string
			for _, r := range byPath[p].Removed {
				if _, err := base.AnyTypesByName(r.Name); errors.Is(err, btf.ErrNotFound) {
					removed = append(removed, r.Name)
				}
			}
			if len(kept) > 0 && len(removed) > 0 {
				best, bestDeps = &choice{p, name, kept, removed}, len(order)
			}
		}
		if best == nil {
			return nil, nil, nil, fmt.Errorf("no module of %s ... %s qualifies", cands[i*k], cands[(i+1)*k-1])
		}
		chosen = append(chosen, *best)
	}
	var names []string
	for _, c := range chosen {
		names = append(names, c.name)
	}
	if load, err = idx.loadOrder(names); err != nil {
		return nil, nil, nil, err
	}
	// Names of the FUNCs of every module that will be loaded, by owner.
	owners := map[string][]string{}
	for _, m := range load {
		fns, err := moduleFuncNames(m.Path, base)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, f := range fns {
			owners[f] = append(owners[f], m.Name)
		}
	}
	for _, c := range chosen {
		alone := func(f string) bool {
			return !slices.ContainsFunc(owners[f], func(o string) bool { return o != c.name })
		}
		kept := slices.IndexFunc(c.kept, alone)
		removed := slices.IndexFunc(c.removed, func(f string) bool { return len(owners[f]) == 0 })
		if kept < 0 || removed < 0 {
			return nil, nil, nil, fmt.Errorf("%s: every kept or removed function has a namesake among the modules loaded", c.path)
		}
		fentry = append(fentry, c.name+":"+c.kept[kept])
		gone = append(gone, c.name+":"+c.removed[removed])
	}
	return load, fentry, gone, nil
}

// plainTraceable returns the module's TraceableFuncs whose prototype any
// fentry program can attach to: at most six parameters, none variadic, each
// and the return value an integer, an enum or a pointer (or void).
func plainTraceable(path string, base *btf.Spec) ([]string, error) {
	names, err := TraceableFuncs(path, base)
	if err != nil {
		return nil, err
	}
	spec, err := moduleBTF(path, base)
	if err != nil {
		return nil, err
	}
	scalar := func(t btf.Type, void bool) bool {
		switch btf.UnderlyingType(t).(type) {
		case *btf.Int, *btf.Enum, *btf.Pointer:
			return true
		case *btf.Void:
			return void
		}
		return false
	}
	var out []string
	for _, name := range names {
		var fn *btf.Func
		if err := spec.TypeByName(name, &fn); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		proto, ok := fn.Type.(*btf.FuncProto)
		if !ok || len(proto.Params) > 6 || !scalar(proto.Return, true) {
			continue
		}
		if !slices.ContainsFunc(proto.Params, func(p btf.FuncParam) bool { return !scalar(p.Type, false) }) {
			out = append(out, name)
		}
	}
	return out, nil
}

// modIndex finds the modules of a tree by name and reads each one's
// .modinfo once.
type modIndex struct {
	pathOf map[string]string // module name (from the file name) -> file
	info   map[string]*ModuleInfo
}

func newModIndex(files []string) *modIndex {
	x := &modIndex{pathOf: map[string]string{}, info: map[string]*ModuleInfo{}}
	for _, p := range files {
		x.pathOf[moduleNameFromFile(p)] = p
	}
	return x
}

// get returns what .modinfo says of the module name.
func (x *modIndex) get(name string) (*ModuleInfo, error) {
	if m, ok := x.info[name]; ok {
		return m, nil
	}
	p, found := x.pathOf[name]
	if !found {
		return nil, fmt.Errorf("module %s: no file: %w", name, errUnloadableDep)
	}
	ko, err := readModule(p)
	if err != nil {
		return nil, err
	}
	info, err := modinfo(p, ko)
	if err != nil {
		return nil, err
	}
	if n := info["name"]; n != "" && n != name {
		return nil, fmt.Errorf("%s: module %s, its file name says %s", p, n, name)
	}
	m := &ModuleInfo{Path: p, Name: name, Loadable: !unloadable(p, aliases(ko))}
	if d := info["depends"]; d != "" {
		m.Depends = strings.Split(d, ",")
	}
	x.info[name] = m
	return m, nil
}

// loadOrder returns the named modules (as the kernel spells their names)
// and their dependencies, in insmod order: every dependency before the
// modules that need it, each once. A module that cannot load in a QEMU
// guest (unloadable), or needs one, is an error wrapping errUnloadableDep.
func (x *modIndex) loadOrder(names []string) ([]ModuleInfo, error) {
	var mods []ModuleInfo
	index := map[string]int{}
	queue := slices.Clone(names)
	for len(queue) > 0 {
		name := strings.ReplaceAll(queue[0], "-", "_")
		queue = queue[1:]
		if _, done := index[name]; done {
			continue
		}
		m, err := x.get(name)
		if err != nil {
			return nil, err
		}
		queue = append(queue, m.Depends...)
		index[name] = len(mods)
		mods = append(mods, *m)
	}
	var out []ModuleInfo
	placed := map[int]bool{}
	for _, name := range names {
		order, err := depOrder(mods, index, index[strings.ReplaceAll(name, "-", "_")])
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
		for _, j := range order {
			if !placed[j] {
				placed[j] = true
				out = append(out, mods[j])
			}
		}
	}
	return out, nil
}

// treeFiles returns the module files below dir, sorted.
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && kernels.IsModule(d.Name()) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// linkTree makes dst a copy of the tree src: directories made anew,
// symbolic links copied as links, regular files hard-linked (copied when
// the two are on different file systems). A file btffilter rewrites is
// replaced by a new one, so the linked original stays as it was.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			if os.Link(p, to) == nil {
				return nil
			}
			return copyFile(p, to)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
