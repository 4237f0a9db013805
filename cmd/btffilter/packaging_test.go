package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// The packaging snippets of docs/packaging.md, run as they are written there
// on real Debian module trees laid out as each distribution lays them out.

// snippet returns the code block that follows "<!-- snippet NAME -->" in
// docs/packaging.md.
func snippet(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/packaging.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- snippet " + regexp.QuoteMeta(name) + " -->\n```[a-z]*\n(.*?)```")
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/packaging.md has no snippet %s", name)
	}
	return string(m[1])
}

// packagingKernel is the kernel the snippets run on, and every tenth of its
// modules (by sorted path, relative to the tree's kernel/ directory): a
// real tree, small enough for every test run.
func packagingKernel(t *testing.T) (*kernels.Kernel, []string) {
	t.Helper()
	k := realKernel(t, "7.2-amd64")
	mods, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for i, m := range mods {
		if i%10 == 0 {
			rel, err := filepath.Rel(k.Modules, m)
			if err != nil {
				t.Fatal(err)
			}
			rels = append(rels, rel)
		}
	}
	return k, rels
}

// place copies src to dst, making the directories on the way; with unwrap
// it writes the module as the kernel's own build leaves it instead:
// decompressed and without its signature.
func place(t *testing.T, src, dst string, unwrap bool) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if unwrap {
		f, err := elfio.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		data = f.Data
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// link makes dst a symbolic link to src.
func link(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, dst); err != nil {
		t.Fatal(err)
	}
}

// stripCompression turns a shipped module's name into its debug twin's.
func stripCompression(rel string) string {
	for _, s := range []string{".xz", ".zst", ".gz"} {
		rel = strings.TrimSuffix(rel, s)
	}
	return rel
}

// shell runs a command line with the built btffilter first on PATH, and
// requires a run that wrote every module it changed.
func shell(t *testing.T, dir, bin string, argv []string, env ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(env, "PATH="+bin+":"+os.Getenv("PATH"))...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	s := string(out)
	if !regexp.MustCompile(`rewritten\s*│\s*[1-9]`).MatchString(s) || !regexp.MustCompile(`failed\s*│\s*0\b`).MatchString(s) {
		t.Fatalf("%s: no module rewritten, or some failed:\n%s", strings.Join(argv, " "), s)
	}
	return s
}

// againUnchanged runs btffilter over what a snippet wrote, with the same
// base (and debug tree): nothing is left to change, so the output was
// complete and loads as split BTF on its base.
func againUnchanged(t *testing.T, args ...string) {
	t.Helper()
	rep := jsonReport(t, append([]string{"-n"}, args...)...)
	if rep.Summary.Changed != 0 || rep.Summary.Failed != 0 {
		t.Fatalf("a second run would change %d files (%d failed)", rep.Summary.Changed, rep.Summary.Failed)
	}
}

func TestPackagingSnippets(t *testing.T) {
	k, rels := packagingKernel(t)
	binDir := filepath.Dir(buildCommand(t))
	rel := k.Release

	t.Run("debian-rules", func(t *testing.T) {
		work := t.TempDir()
		img := filepath.Join(work, "debian", "linux-image-"+rel, "usr", "lib", "modules", rel)
		for _, r := range rels {
			place(t, filepath.Join(k.Modules, r), filepath.Join(img, "kernel", r), false)
		}
		link(t, filepath.Join(k.Dir, "dbg"), filepath.Join(work, "debian", "linux-image-"+rel+"-dbg"))
		rules := filepath.Join(work, "rules.mk")
		if err := os.WriteFile(rules, []byte(snippet(t, "debian-rules")), 0o644); err != nil {
			t.Fatal(err)
		}
		// dh_strip is debhelper's: here it only says it ran.
		if err := os.WriteFile(filepath.Join(work, "dh_strip"), []byte("#!/bin/sh\necho dh_strip ran\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out := shell(t, work, binDir+":"+work, []string{"make", "-f", rules, "override_dh_strip", "KVER=" + rel})
		if !strings.Contains(out, "dh_strip ran") {
			t.Fatalf("the rule did not run dh_strip first:\n%s", out)
		}
		againUnchanged(t, "--debuginfo", filepath.Join(k.Dir, "dbg"), "-B", k.Vmlinux, img)
	})

	t.Run("fedora-spec", func(t *testing.T) {
		root := t.TempDir()
		mods := filepath.Join(root, "lib", "modules", rel)
		debug := filepath.Join(root, "usr", "lib", "debug", "lib", "modules", rel)
		for _, r := range rels {
			d := stripCompression(r)
			place(t, filepath.Join(k.Modules, r), filepath.Join(mods, "kernel", d), true)
			link(t, filepath.Join(k.DbgModules, d), filepath.Join(debug, "kernel", d+".debug"))
		}
		link(t, k.Vmlinux, filepath.Join(debug, "vmlinux"))
		// The btffilter command of the macro, as rpm expands it: each
		// line a line of shell, a "\\\" end continuing the command.
		var cmd []string
		for _, line := range strings.Split(snippet(t, "fedora-spec"), "\n") {
			line = strings.TrimSpace(line)
			if len(cmd) == 0 && !strings.HasPrefix(line, "btffilter ") {
				continue
			}
			cont := strings.HasSuffix(line, `\\\`)
			cmd = append(cmd, strings.TrimSuffix(line, `\\\`))
			if !cont {
				break
			}
		}
		line := strings.TrimSuffix(strings.Join(cmd, " "), `\`)
		line = strings.NewReplacer("%{buildroot}", root, "%{KVERREL}", rel).Replace(line)
		shell(t, root, binDir, []string{"sh", "-ec", line})
		againUnchanged(t, "--debuginfo", filepath.Join(root, "usr", "lib", "debug"), "-B", k.Vmlinux, mods)
	})

	t.Run("arch-pkgbuild", func(t *testing.T) {
		build := t.TempDir()
		for _, r := range rels {
			d := stripCompression(r)
			place(t, filepath.Join(k.DbgModules, d), filepath.Join(build, d), false)
		}
		link(t, k.Vmlinux, filepath.Join(build, "vmlinux"))
		shell(t, build, binDir, []string{"bash", "-ec", snippet(t, "arch-pkgbuild")})
		againUnchanged(t, "-B", k.Vmlinux, build)
	})

	t.Run("dkms-make", func(t *testing.T) {
		build := t.TempDir()
		for _, r := range rels {
			d := stripCompression(r)
			place(t, filepath.Join(k.DbgModules, d), filepath.Join(build, filepath.Base(d)), false)
		}
		script := filepath.Join(t.TempDir(), "btffilter-dkms.sh")
		if err := os.WriteFile(script, []byte(snippet(t, "dkms-make")), 0o755); err != nil {
			t.Fatal(err)
		}
		shell(t, build, binDir, []string{script, rel}, "BTFFILTER_BASE="+k.Vmlinux)
		againUnchanged(t, "-B", k.Vmlinux, build)
	})
}
