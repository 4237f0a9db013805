package kernels

import (
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	want := []string{"6.1-amd64", "6.1-arm64", "7.2-amd64", "7.2-arm64", "7.2-s390x", "7.2-ppc64el", "7.2-riscv64"}
	got := Tags()
	if !slices.Equal(got, want) {
		t.Fatalf("Tags() = %v, want %v", got, want)
	}
	// The caller owns the slice: changing it must not change the next call.
	got[0] = "changed"
	if again := Tags(); !slices.Equal(again, want) {
		t.Fatalf("Tags() after modifying a returned slice = %v, want %v", again, want)
	}
}

func TestPinnedRelease(t *testing.T) {
	for _, tag := range Tags() {
		k := &Kernel{Tag: tag}
		p := k.PinnedRelease()
		series, arch, _ := strings.Cut(tag, "-")
		k.Arch = arch
		if fl := k.Flavour(); fl == "" || !strings.HasPrefix(p, series+".") || !strings.HasSuffix(p, "-"+fl) {
			t.Errorf("PinnedRelease for %s = %q, want a %s %q release", tag, p, series, fl)
		}
	}
}

func TestIsModule(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"ext4.ko", true},
		{"ext4.ko.xz", true},
		{"ext4.ko.zst", true},
		{"ext4.ko.gz", true},
		{"ext4.ko.bz2", false},
		{"ext4.o", false},
		{"modules.order", false},
		{"ko", false},
	} {
		if got := IsModule(tc.name); got != tc.want {
			t.Errorf("IsModule(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// fakeKernel lays out a tag directory the way the fetch script does, with
// small files in place of the real ones.
func fakeKernel(t *testing.T, cache, tag, release string) string {
	t.Helper()
	arch := tag[strings.IndexByte(tag, '-')+1:]
	dir := filepath.Join(cache, "kernels", tag)
	vml := filepath.Join("dbg/usr/lib/debug/boot", "vmlinux-"+release)
	mods := filepath.Join("image/lib/modules", release, "kernel")
	dmods := filepath.Join("dbg/usr/lib/debug/lib/modules", release, "kernel")
	files := map[string]string{
		"release":                        release + "\n",
		"arch":                           arch + "\n",
		stamp:                            "done\n",
		vml:                              "not really ELF",
		mods + "/fs/ext4/ext4.ko.xz":     "x",
		mods + "/fs/btrfs/btrfs.ko":      "x",
		mods + "/net/a.ko.zst":           "x",
		mods + "/net/b.ko.gz":            "x",
		mods + "/net/not-a-module.o":     "x",
		mods + "/../modules.order":       "x",
		dmods + "/fs/ext4/ext4.ko":       "x",
		dmods + "/fs/btrfs/btrfs.ko":     "x",
		dmods + "/net/a.ko":              "x",
		dmods + "/net/b.ko":              "x",
		dmods + "/net/README":            "x",
		dmods + "/net/a.ko.sig-not-this": "x",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"vmlinux": vml, "modules": mods, "dbg-modules": dmods} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadFake(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("BTFFILTER_CACHE", cache)
	dir := fakeKernel(t, cache, "7.2-arm64", "7.2.13+deb14-cloud-arm64")

	k, err := Load("7.2-arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := Kernel{
		Tag:        "7.2-arm64",
		Arch:       "arm64",
		Release:    "7.2.13+deb14-cloud-arm64",
		Dir:        dir,
		Vmlinux:    filepath.Join(dir, "dbg/usr/lib/debug/boot/vmlinux-7.2.13+deb14-cloud-arm64"),
		Modules:    filepath.Join(dir, "image/lib/modules/7.2.13+deb14-cloud-arm64/kernel"),
		DbgModules: filepath.Join(dir, "dbg/usr/lib/debug/lib/modules/7.2.13+deb14-cloud-arm64/kernel"),
	}
	if *k != want {
		t.Fatalf("Load = %+v\nwant   %+v", *k, want)
	}

	for _, tc := range []struct {
		name string
		list func() ([]string, error)
		root string
		want []string
	}{
		{"ModuleFiles", k.ModuleFiles, k.Modules, []string{"fs/btrfs/btrfs.ko", "fs/ext4/ext4.ko.xz", "net/a.ko.zst", "net/b.ko.gz"}},
		{"DbgModuleFiles", k.DbgModuleFiles, k.DbgModules, []string{"fs/btrfs/btrfs.ko", "fs/ext4/ext4.ko", "net/a.ko", "net/b.ko"}},
	} {
		got, err := tc.list()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var want []string
		for _, w := range tc.want {
			want = append(want, filepath.Join(tc.root, w))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v\nwant %v", tc.name, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	const tag, release = "6.1-amd64", "6.1.0-53-cloud-amd64"
	for _, tc := range []struct {
		name    string
		tag     string
		damage  func(dir string) error // makes the fake kernel incomplete
		wantErr []string               // substrings of the error
	}{
		{"unknown tag", "5.10-amd64", nil, []string{`unknown tag "5.10-amd64"`, "6.1-amd64"}},
		{"not fetched", tag, os.RemoveAll, []string{"kernels/6.1-amd64/.complete", "run scripts/fetch-kernels.sh 6.1-amd64"}},
		{"no stamp", tag, func(d string) error { return os.Remove(filepath.Join(d, stamp)) },
			[]string{"6.1-amd64/.complete: missing", "run scripts/fetch-kernels.sh 6.1-amd64"}},
		{"no release", tag, func(d string) error { return os.Remove(filepath.Join(d, "release")) },
			[]string{"6.1-amd64/release: cannot be read", "run scripts/fetch-kernels.sh 6.1-amd64"}},
		{"empty arch", tag, func(d string) error { return os.WriteFile(filepath.Join(d, "arch"), []byte("\n"), 0o644) },
			[]string{"6.1-amd64/arch: is empty"}},
		{"wrong arch", tag, func(d string) error { return os.WriteFile(filepath.Join(d, "arch"), []byte("arm64\n"), 0o644) },
			[]string{`6.1-amd64/arch: says "arm64", the tag says "amd64"`}},
		{"dangling vmlinux", tag, func(d string) error { return os.RemoveAll(filepath.Join(d, "dbg/usr/lib/debug/boot")) },
			[]string{"6.1-amd64/vmlinux: missing or a dangling symlink", "run scripts/fetch-kernels.sh 6.1-amd64"}},
		{"vmlinux is a directory", tag, func(d string) error {
			if err := os.Remove(filepath.Join(d, "vmlinux")); err != nil {
				return err
			}
			return os.Symlink("dbg", filepath.Join(d, "vmlinux"))
		}, []string{"6.1-amd64/vmlinux: is not a regular file"}},
		{"no modules", tag, func(d string) error { return os.RemoveAll(filepath.Join(d, "image")) },
			[]string{"6.1-amd64/modules: missing or a dangling symlink"}},
		{"dbg-modules is a file", tag, func(d string) error {
			if err := os.Remove(filepath.Join(d, "dbg-modules")); err != nil {
				return err
			}
			return os.Symlink("release", filepath.Join(d, "dbg-modules"))
		}, []string{"6.1-amd64/dbg-modules: is not a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv("BTFFILTER_CACHE", cache)
			dir := fakeKernel(t, cache, tag, release)
			if tc.damage != nil {
				if err := tc.damage(dir); err != nil {
					t.Fatal(err)
				}
			}
			k, err := Load(tc.tag)
			if err == nil {
				t.Fatalf("Load(%q) = %+v, want an error", tc.tag, k)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestModuleFilesEmpty(t *testing.T) {
	k := &Kernel{Modules: t.TempDir()}
	if files, err := k.ModuleFiles(); err == nil || !strings.Contains(err.Error(), "no module files") {
		t.Fatalf("ModuleFiles on an empty tree = %v, %v; want a 'no module files' error", files, err)
	}
	if files, err := (&Kernel{}).DbgModuleFiles(); err == nil {
		t.Fatalf("DbgModuleFiles on a zero Kernel = %v, want an error", files)
	}
}

// TestRealKernels checks the cache filled by scripts/fetch-kernels.sh: each
// kernel is found, its vmlinux is an ELF of the right machine with .BTF and
// DWARF, and the shipped and debug module trees hold the same modules.
func TestRealKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels: not in -short mode")
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64,
		"s390x": elf.EM_S390, "ppc64el": elf.EM_PPC64, "riscv64": elf.EM_RISCV}
	for _, tag := range Tags() {
		t.Run(tag, func(t *testing.T) {
			k, err := Load(tag)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(k.Release, "-"+k.Flavour()) {
				t.Errorf("%s: release %q does not end in -%s", tag, k.Release, k.Flavour())
			}
			if k.Vmlinuz == "" {
				t.Errorf("%s: no vmlinuz in the image package", tag)
			}
			if !strings.Contains(k.Vmlinux, k.Release) {
				t.Errorf("%s: vmlinux path %s does not name release %s", tag, k.Vmlinux, k.Release)
			}
			f, err := elf.Open(k.Vmlinux)
			if err != nil {
				t.Fatalf("%s: %v", tag, err)
			}
			defer f.Close()
			if f.Machine != machines[k.Arch] {
				t.Errorf("%s: %s is %v, want %v", tag, k.Vmlinux, f.Machine, machines[k.Arch])
			}
			for _, name := range []string{".BTF", ".debug_info"} {
				if s := f.Section(name); s == nil || s.Size == 0 {
					t.Errorf("%s: %s has no %s section", tag, k.Vmlinux, name)
				}
			}

			mods, err := k.ModuleFiles()
			if err != nil {
				t.Fatal(err)
			}
			dbg, err := k.DbgModuleFiles()
			if err != nil {
				t.Fatal(err)
			}
			// Every shipped module has its unstripped twin at the same
			// relative path, whatever the compression of either.
			strip := func(root string, files []string) []string {
				var out []string
				for _, f := range files {
					rel, _ := filepath.Rel(root, f)
					out = append(out, rel[:strings.LastIndex(rel, ".ko")])
				}
				slices.Sort(out)
				return out
			}
			a, b := strip(k.Modules, mods), strip(k.DbgModules, dbg)
			if !slices.Equal(a, b) {
				t.Errorf("%s: %d shipped modules and %d debug modules do not match", tag, len(a), len(b))
			}
			if len(mods) < 500 {
				t.Errorf("%s: only %d modules under %s", tag, len(mods), k.Modules)
			}
			if p := k.PinnedRelease(); p != k.Release {
				t.Logf("%s: SUBSTITUTED: pinned release %s is gone from the archive, testing %s", tag, p, k.Release)
			}
			t.Logf("%s: release %s, %d modules, vmlinux %s", tag, k.Release, len(mods), k.Vmlinux)
		})
	}
}
