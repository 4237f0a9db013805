package kernels

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultCache is the cache directory used when BTFFILTER_CACHE is unset.
const DefaultCache = "/var/cache/btffilter"

// stamp is written last by scripts/fetch-kernels.sh: a tag directory without
// it was left by an interrupted run and is not to be trusted.
const stamp = ".complete"

// tags lists every kernel the fetch script knows, in a fixed order: the
// cloud flavours of amd64 and arm64, then the 7.2 kernels of the other
// 64-bit architectures Debian builds with BTF.
var tags = []string{"6.1-amd64", "6.1-arm64", "7.2-amd64", "7.2-arm64", "7.2-s390x", "7.2-ppc64el", "7.2-riscv64"}

// pinned holds the release that scripts/fetch-kernels.sh asks for first for
// each tag; when the archive has dropped it, the script substitutes the
// current release of the same flavour.
var pinned = map[string]string{
	"6.1-amd64":   "6.1.0-53-cloud-amd64",
	"6.1-arm64":   "6.1.0-53-cloud-arm64",
	"7.2-amd64":   "7.2.13+deb14-cloud-amd64",
	"7.2-arm64":   "7.2.13+deb14-cloud-arm64",
	"7.2-s390x":   "7.2.13+deb14-s390x",
	"7.2-ppc64el": "7.2.13+deb14-powerpc64le",
	"7.2-riscv64": "7.2.13+deb14-riscv64",
}

// flavours are Debian's kernel flavour names per architecture of the tags:
// every release ends in "-" and its flavour.
var flavours = map[string]string{
	"amd64": "cloud-amd64", "arm64": "cloud-arm64",
	"s390x": "s390x", "ppc64el": "powerpc64le", "riscv64": "riscv64",
}

// moduleExts are the file name endings of kernel modules, compressed or not.
var moduleExts = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// Kernel is one unpacked kernel. All paths are absolute and have been checked
// to exist when Load returned it.
type Kernel struct {
	Tag        string // e.g. "6.1-amd64"
	Arch       string // the Debian architecture: amd64, arm64, s390x, ppc64el, riscv64
	Release    string // e.g. "6.1.0-53-cloud-amd64"
	Dir        string // the tag directory in the cache
	Vmlinux    string // the unstripped vmlinux (ELF with .BTF and DWARF)
	Modules    string // the tree of shipped (stripped, signed) modules
	DbgModules string // the tree of unstripped modules
	// Vmlinuz is the image package's boot image (lib/modules/RELEASE/vmlinuz
	// or boot/vmlinuz-RELEASE), "" when the package has none.
	Vmlinuz string
}

// Flavour returns Debian's name of the kernel flavour of k.Arch
// ("cloud-amd64", "powerpc64le"): the end of every release of the tag.
func (k *Kernel) Flavour() string {
	return flavours[k.Arch]
}

// Tags returns the tags of all known kernels in a fixed order. The caller
// owns the returned slice.
func Tags() []string {
	return append([]string(nil), tags...)
}

// Cache returns the cache directory: $BTFFILTER_CACHE, or DefaultCache.
func Cache() string {
	if c := os.Getenv("BTFFILTER_CACHE"); c != "" {
		return c
	}
	return DefaultCache
}

// Load finds the kernel of tag in the cache. The error names the first
// missing or malformed path and the command that fetches the kernel.
func Load(tag string) (*Kernel, error) {
	if !known(tag) {
		return nil, fmt.Errorf("kernels: unknown tag %q (known: %s)", tag, strings.Join(tags, ", "))
	}
	cache, err := filepath.Abs(Cache())
	if err != nil {
		return nil, fmt.Errorf("kernels: cache directory %q: %w", Cache(), err)
	}
	dir := filepath.Join(cache, "kernels", tag)
	missing := func(path, problem string) error {
		return fmt.Errorf("kernels: %s: %s; run scripts/fetch-kernels.sh %s", path, problem, tag)
	}
	if _, err := os.Stat(filepath.Join(dir, stamp)); err != nil {
		return nil, missing(filepath.Join(dir, stamp), "missing (kernel not fetched, or fetch interrupted)")
	}
	k := &Kernel{Tag: tag, Dir: dir}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"release", &k.Release}, {"arch", &k.Arch}} {
		path := filepath.Join(dir, f.name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, missing(path, "cannot be read")
		}
		*f.dst = strings.TrimSpace(string(b))
		if *f.dst == "" {
			return nil, missing(path, "is empty")
		}
	}
	if want := tag[strings.IndexByte(tag, '-')+1:]; k.Arch != want {
		return nil, missing(filepath.Join(dir, "arch"), fmt.Sprintf("says %q, the tag says %q", k.Arch, want))
	}
	for _, f := range []struct {
		name  string
		dst   *string
		isDir bool
	}{
		{"vmlinux", &k.Vmlinux, false},
		{"modules", &k.Modules, true},
		{"dbg-modules", &k.DbgModules, true},
	} {
		link := filepath.Join(dir, f.name)
		// Resolve the symlinks so that callers and error messages see the
		// real file, which carries the release in its path.
		path, err := filepath.EvalSymlinks(link)
		if err != nil {
			return nil, missing(link, "missing or a dangling symlink")
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, missing(link, "cannot be read")
		}
		switch {
		case f.isDir && !fi.IsDir():
			return nil, missing(link, "is not a directory")
		case !f.isDir && !fi.Mode().IsRegular():
			return nil, missing(link, "is not a regular file")
		}
		*f.dst = path
	}
	for _, p := range []string{
		filepath.Join(dir, "image", "usr", "lib", "modules", k.Release, "vmlinuz"),
		filepath.Join(dir, "image", "lib", "modules", k.Release, "vmlinuz"),
		filepath.Join(dir, "image", "boot", "vmlinuz-"+k.Release),
	} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			k.Vmlinuz = p
			break
		}
	}
	return k, nil
}

func known(tag string) bool {
	return slices.Contains(tags, tag)
}

// ModuleFiles returns every module file (.ko, .ko.xz, .ko.zst, .ko.gz) under
// k.Modules, sorted.
func (k *Kernel) ModuleFiles() ([]string, error) {
	return moduleFiles(k.Modules)
}

// DbgModuleFiles returns every module file under k.DbgModules, sorted.
func (k *Kernel) DbgModuleFiles() ([]string, error) {
	return moduleFiles(k.DbgModules)
}

// PinnedRelease returns the release the fetch script pins for k.Tag. When it
// differs from k.Release, the archive no longer had it and a newer kernel was
// substituted; tests say so in their output.
func (k *Kernel) PinnedRelease() string {
	return pinned[k.Tag]
}

// IsModule reports whether name ends like a kernel module file.
func IsModule(name string) bool {
	for _, ext := range moduleExts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func moduleFiles(root string) ([]string, error) {
	if root == "" {
		return nil, errors.New("kernels: module directory not set (use Load)")
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("kernels: %s: %w", path, err)
		}
		if d.Type().IsRegular() && IsModule(d.Name()) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("kernels: %s: no module files (%s)", root, strings.Join(moduleExts, " "))
	}
	slices.Sort(files)
	return files, nil
}
