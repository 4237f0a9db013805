package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// chroot runs commands in the Debian sid chroot of scripts/sid-chroot.sh,
// where pahole 1.32 and libbpf are.
type chroot struct {
	script string // scripts/sid-chroot.sh
	cache  string // the cache directory, which the chroot binds
}

func newChroot(root string) chroot {
	return chroot{script: filepath.Join(root, "scripts", "sid-chroot.sh"), cache: kernels.Cache()}
}

// ensure creates the chroot when it is missing and installs what the bench
// runs in it.
func (c chroot) ensure() error {
	cmd := exec.Command(c.script, "ensure", "pahole", "libbpf-dev")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s ensure: %w", c.script, err)
	}
	return nil
}

// argv is the command line that runs args inside the chroot. The wrapper
// execs its way down to args[0] (unshare, sh, chroot, sh), so the measured
// process ends as the command itself.
func (c chroot) argv(args ...string) []string {
	return append([]string{c.script, "run"}, args...)
}

// output runs args inside the chroot and returns its standard output.
func (c chroot) output(args ...string) (string, error) {
	cmd := exec.Command(c.script, append([]string{"run"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// visible checks that the chroot sees path at its own path: the wrapper
// binds /tmp, the cache directory and its working directory (dir), nothing
// else.
func (c chroot) visible(dir string, paths ...string) error {
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		ok := false
		for _, b := range []string{"/tmp", c.cache, dir} {
			if r, err := filepath.EvalSymlinks(b); err == nil && (real == r || strings.HasPrefix(real, r+"/")) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%s (%s) is not under /tmp, %s or %s, which is all %s binds into the chroot", p, real, c.cache, dir, c.script)
		}
	}
	return nil
}

// wrapperAlone measures the wrapper running true: what it adds to every
// pahole run's wall time, and the RSS a pahole figure must exceed to be
// pahole's own rather than the wrapper's. The wrapper's processes are
// smaller than the bench itself, so its RSS reads as the bench's floor (an
// upper bound of the wrapper's own, which is what the check needs).
func (c chroot) wrapperAlone(r runner) (sample, error) {
	var all []sample
	for range 3 {
		s, err := r.run(job{name: "chroot wrapper", argv: c.argv("true"), small: true})
		if err != nil {
			return sample{}, err
		}
		all = append(all, s)
	}
	return medianSample(all), nil
}

// checkOwnRSS refuses a pahole figure that could be the wrapper's.
func checkOwnRSS(what string, got, wrapper sample) error {
	if got.rss <= wrapper.rss {
		return fmt.Errorf("%s: peak RSS %d KiB is not above the chroot wrapper's own (%d KiB): it may not be pahole's", what, got.rss, wrapper.rss)
	}
	return nil
}

// paholeVmlinux is pahole re-encoding the BTF of vmlinux from its DWARF,
// with two threads, into a detached file.
func paholeVmlinux(c chroot, work, vmlinux string) job {
	out := filepath.Join(work, "pahole.btf")
	return job{
		name: "pahole -J -j2",
		argv: c.argv("pahole", "-J", "-j2", "--btf_features=default", "--btf_encode_detached="+out, vmlinux),
		dir:  work,
		before: func() error {
			return removeIfPresent(out)
		},
		after: func() error {
			return nonEmpty(out)
		},
	}
}

// paholeModules is pahole encoding each module's BTF on the vmlinux's,
// two pahole processes at a time (xargs -P 2) inside one chroot wrapper, so
// that the wrapper is paid once for the batch and not once per module. The
// wall time is the whole batch's; the peak RSS is the largest single
// process of it (xargs waits for every pahole, so ru_maxrss reaches each).
func paholeModules(c chroot, work, vmlinux string, modules []string) (job, error) {
	outDir := filepath.Join(work, "pahole-modules")
	list := filepath.Join(work, "pahole-modules.list")
	var b strings.Builder
	for i, m := range modules {
		if strings.ContainsRune(m, '\n') {
			return job{}, fmt.Errorf("%q: a newline in a module path", m)
		}
		fmt.Fprintf(&b, "--btf_encode_detached=%s/%05d.btf\n%s\n", outDir, i, m)
	}
	if err := os.WriteFile(list, []byte(b.String()), 0o644); err != nil {
		return job{}, err
	}
	return job{
		name: "pahole -J, 2 at a time",
		argv: c.argv("xargs", "-a", list, "-d", "\n", "-P", "2", "-n", "2",
			"pahole", "-J", "--btf_features=default", "--btf_base="+vmlinux),
		dir: work,
		before: func() error {
			if err := os.RemoveAll(outDir); err != nil {
				return err
			}
			return os.Mkdir(outDir, 0o755)
		},
		after: func() error {
			for i := range modules {
				if err := nonEmpty(fmt.Sprintf("%s/%05d.btf", outDir, i)); err != nil {
					return fmt.Errorf("%s: %w", modules[i], err)
				}
			}
			return os.RemoveAll(outDir)
		},
	}, nil
}

// copyDurably copies src to dst and makes the copy durable, so that
// writing the copy back to disk does not happen during a timed run.
func copyDurably(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncFile writes a file's dirty pages back, outside the timed region.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func removeIfPresent(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func nonEmpty(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no output: %w", err)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%s: empty output", path)
	}
	return nil
}

// inode identifies a file, to tell whether a run replaced it.
func inode(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no inode", path)
	}
	return st.Ino, nil
}

// vmlinuxSection measures, on each kernel's vmlinux, btffilter -n and
// btffilter rewriting a copy in place against pahole re-encoding the same
// file.
func (b *bench) vmlinuxSection() error {
	// On a file system that shares blocks, the new version is a clone
	// (elfio/copy.go): measured on XFS in an image, where the machine
	// allows a loop mount. One file system serves every kernel, since each
	// run's target is removed after it.
	xfs, unmount, err := mountXFS(filepath.Join(b.work, "xfs"), 2<<30)
	if err != nil {
		fmt.Fprintf(b.out, "in place on XFS: not measured (%v)\n", err)
	} else {
		defer unmount()
	}
	for _, tag := range b.tags {
		k, err := kernels.Load(tag)
		if err != nil {
			return err
		}
		dir := filepath.Join(b.work, "vmlinux-"+tag)
		if err := os.MkdirAll(filepath.Join(dir, "in-place"), 0o755); err != nil {
			return err
		}
		// Every side reads this copy, which the chroot sees; the in-place
		// runs rewrite copies of it on the same file system.
		in := filepath.Join(dir, "vmlinux")
		if err := copyDurably(k.Vmlinux, in); err != nil {
			return err
		}
		if err := b.ch.visible(dir, in); err != nil {
			return err
		}
		jobs := []job{
			{name: "btffilter -n", argv: []string{b.bin, "-n", in}},
			inPlaceJob("btffilter in place", b.bin, in, filepath.Join(dir, "in-place", "vmlinux")),
			paholeVmlinux(b.ch, dir, in),
		}
		if xfs != "" {
			jobs = append(jobs, inPlaceJob("btffilter in place on XFS", b.bin, in, filepath.Join(xfs, "vmlinux")))
		}
		size, err := fileSize(in)
		if err != nil {
			return err
		}
		b.section("%s vmlinux (%s, %.0f MiB): %s of each side, alternating", tag, k.Release, float64(size)/(1<<20), runsText(b.runs))
		b.commands(jobs)
		s, err := b.r.alternate(jobs, b.runs, b.progress)
		if err != nil {
			return err
		}
		meds := make([]sample, len(s))
		for i := range s {
			meds[i] = medianSample(s[i])
		}
		dry, inPlace, pahole := meds[0], meds[1], meds[2]
		if err := checkOwnRSS(jobs[2].name, pahole, b.wrapper); err != nil {
			return err
		}
		b.medians(jobs, meds)
		ref := "pahole 1.32 -J -j2"
		b.rows = append(b.rows,
			row{work: tag + " vmlinux -n, wall", runs: b.runs, unit: "s", ours: dry.seconds(), refName: ref, ref: pahole.seconds(), target: 0.3},
			row{work: tag + " vmlinux -n, peak RSS", runs: b.runs, unit: "MiB", ours: dry.rssMiB(), refName: ref, ref: pahole.rssMiB(), target: 0.5},
			row{work: tag + " vmlinux in place, wall", runs: b.runs, unit: "s", ours: inPlace.seconds(), refName: ref, ref: pahole.seconds(), target: 0.4},
			row{work: tag + " vmlinux in place, peak RSS", runs: b.runs, unit: "MiB", ours: inPlace.rssMiB(), refName: ref, ref: pahole.rssMiB()},
		)
		if len(meds) > 3 {
			b.rows = append(b.rows, row{work: tag + " vmlinux in place on XFS, wall", runs: b.runs, unit: "s", ours: meds[3].seconds(), refName: ref, ref: pahole.seconds()})
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// inPlaceJob is btffilter rewriting target in place, a fresh durable copy
// of in before each run; after it, the run must have replaced the file.
func inPlaceJob(name, bin, in, target string) job {
	var before uint64
	return job{
		name: name,
		argv: []string{bin, target},
		before: func() error {
			if err := copyDurably(in, target); err != nil {
				return err
			}
			ino, err := inode(target)
			before = ino
			return err
		},
		after: func() error {
			after, err := inode(target)
			if err != nil {
				return err
			}
			if after == before {
				return fmt.Errorf("%s was not rewritten", target)
			}
			// The run leaves its write-back to the kernel (no --fsync);
			// it is done here so that it does not land in the next side's
			// run.
			if err := syncFile(target); err != nil {
				return err
			}
			return os.Remove(target)
		},
	}
}

// mountXFS makes an XFS with reflinks in a sparse image of size bytes at
// dir/fs.img and mounts it on dir/mnt; unmount undoes both.
func mountXFS(dir string, size int64) (mnt string, unmount func(), err error) {
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		return "", nil, err
	}
	if err := os.Truncate(img, size); err != nil {
		return "", nil, err
	}
	for _, argv := range [][]string{{"mkfs.xfs", "-q", "-m", "reflink=1", img}, {"mount", "-o", "loop", img, mnt}} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
		}
	}
	return mnt, func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "umount %s: %v: %s\n", mnt, err, out)
			return
		}
		os.RemoveAll(dir)
	}, nil
}

// modulesSection measures btffilter -n on a vmlinux and its debug modules
// in one run against pahole encoding each of the modules on that vmlinux.
func (b *bench) modulesSection() error {
	k, err := kernels.Load(b.tags[0])
	if err != nil {
		return err
	}
	mods, err := k.DbgModuleFiles()
	if err != nil {
		return err
	}
	all := len(mods)
	// The whole tree is given as a directory, as a packager gives it; a
	// subset can only be listed.
	trees := []string{k.DbgModules}
	if b.modules > 0 && b.modules < all {
		mods = spread(mods, b.modules)
		trees = mods
	}
	dir := filepath.Join(b.work, "modules")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := b.ch.visible(dir, append([]string{k.Vmlinux}, mods...)...); err != nil {
		return err
	}
	pahole, err := paholeModules(b.ch, dir, k.Vmlinux, mods)
	if err != nil {
		return err
	}
	jobs := []job{
		{name: "btffilter -n --jobs 2", argv: append([]string{b.bin, "-n", "--jobs", "2", k.Vmlinux}, trees...)},
		pahole,
	}
	b.section("%s: vmlinux and %d of its %d debug modules: %s of each side, alternating", k.Tag, len(mods), all, runsText(b.moduleRuns))
	b.commands(jobs)
	s, err := b.r.alternate(jobs, b.moduleRuns, b.progress)
	if err != nil {
		return err
	}
	ours, ref := medianSample(s[0]), medianSample(s[1])
	if err := checkOwnRSS(jobs[1].name, ref, b.wrapper); err != nil {
		return err
	}
	b.medians(jobs, []sample{ours, ref})
	work := fmt.Sprintf("%s vmlinux + %d modules -n", k.Tag, len(mods))
	refName := fmt.Sprintf("pahole 1.32 -J x%d", len(mods))
	b.rows = append(b.rows,
		row{work: work + ", wall", runs: b.moduleRuns, unit: "s", ours: ours.seconds(), refName: refName, ref: ref.seconds(), target: 0.15},
		row{work: work + ", peak RSS", runs: b.moduleRuns, unit: "MiB", ours: ours.rssMiB(), refName: refName + " (largest)", ref: ref.rssMiB()},
	)
	return os.RemoveAll(dir)
}

// spread returns n of list, evenly spaced over it, the first included.
func spread(list []string, n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, list[i*len(list)/n])
	}
	return out
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
