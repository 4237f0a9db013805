package kbuild

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Builds are the kernel builds scripts/build-kernel.sh knows, in the order
// the tests run them.
var Builds = []string{"6.1-bookworm", "6.1-sid-pahole", "7.2-sid"}

// Variant is one finished build: what scripts/build-kernel.sh kept of it.
type Variant struct {
	Dir     string            // the variant directory in the cache
	Vmlinux string            // the final vmlinux
	Tmp     string            // the first link BTF was made from (.tmp_vmlinux.btf, .tmp_vmlinux1)
	Modules map[string]string // module path relative to the tree (extmod/X.ko for the external one) -> file
	Log     string            // make's output
	Records string            // pahole's own outputs (wrapper builds), "" otherwise
	Info    map[string]string // the info file: versions, flags, seconds per step
}

// Seconds returns a step's wall time from the info file, -1 when the build
// did not run that step (a tree configured by an earlier variant).
func (v *Variant) Seconds(step string) int {
	n, err := strconv.Atoi(v.Info[step+"_seconds"])
	if err != nil {
		return -1
	}
	return n
}

// ModuleNames returns the keys of Modules, sorted.
func (v *Variant) ModuleNames() []string {
	var names []string
	for n := range v.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// repoRoot is the repository checkout this file is in.
func repoRoot() (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("kbuild: cannot locate the repository")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(self), "..", ".."))
}

// Build runs scripts/build-kernel.sh for build (one of Builds), with the
// wrapper binary when wrapper is not "", and returns the variant it made or
// found in the cache. The script's progress goes to log.
func Build(ctx context.Context, build, wrapper string, log io.Writer) (*Variant, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	args := []string{filepath.Join(root, "scripts", "build-kernel.sh"), build}
	if wrapper != "" {
		args = append(args, "--wrapper", wrapper)
	}
	cmd := exec.CommandContext(ctx, "bash", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kbuild: %s: %w", strings.Join(args, " "), err)
	}
	var dir string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "variant "); ok {
			dir = d
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("kbuild: %s printed no variant line", strings.Join(args, " "))
	}
	return LoadVariant(dir)
}

// LoadVariant reads a variant directory that scripts/build-kernel.sh
// completed.
func LoadVariant(dir string) (*Variant, error) {
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		return nil, fmt.Errorf("kbuild: %s: not a complete build: %w", dir, err)
	}
	v := &Variant{
		Dir:     dir,
		Vmlinux: filepath.Join(dir, "vmlinux"),
		Log:     filepath.Join(dir, "build.log"),
		Modules: map[string]string{},
		Info:    map[string]string{},
	}
	for _, t := range []string{".tmp_vmlinux.btf", ".tmp_vmlinux1"} {
		if p := filepath.Join(dir, "tmp", t); fileExists(p) {
			v.Tmp = p
		}
	}
	if v.Tmp == "" {
		return nil, fmt.Errorf("kbuild: %s: no tmp/.tmp_vmlinux.btf or tmp/.tmp_vmlinux1", dir)
	}
	if p := filepath.Join(dir, "records"); fileExists(p) {
		v.Records = p
	}
	info, err := os.ReadFile(filepath.Join(dir, "info"))
	if err != nil {
		return nil, fmt.Errorf("kbuild: %w", err)
	}
	for _, l := range strings.Split(string(info), "\n") {
		if k, val, ok := strings.Cut(l, "="); ok {
			v.Info[k] = val
		}
	}
	mods := filepath.Join(dir, "modules")
	err = filepath.WalkDir(mods, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".ko") {
			rel, _ := filepath.Rel(mods, p)
			v.Modules[filepath.ToSlash(rel)] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kbuild: %w", err)
	}
	if len(v.Modules) == 0 {
		return nil, fmt.Errorf("kbuild: %s: no modules", dir)
	}
	return v, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
