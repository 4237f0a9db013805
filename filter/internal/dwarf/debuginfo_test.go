package dwarf

import (
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// copyFile copies a fixture into a temporary debug tree.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindDebugInfo(t *testing.T) {
	// The vmlinux-like fixture carries a build-id; module.o does not.
	withID := filepath.Join("..", "..", "..", "testdata", "x86_64", "vmlinux-like")
	noID := filepath.Join("..", "..", "..", "testdata", "x86_64", "gcc", "module.o")
	ef, err := elf.Open(withID)
	if err != nil {
		t.Fatalf("%v (run scripts/build-fixtures.sh)", err)
	}
	id, err := BuildID(ef)
	ef.Close()
	if err != nil || len(id) < 8 {
		t.Fatalf("build-id of %s: %x, %v", withID, id, err)
	}
	other := append([]byte(nil), id...)
	other[0] ^= 0xff

	root := t.TempDir()
	hexID := hex.EncodeToString(id)
	byID := filepath.Join(root, "usr", "lib", "debug", ".build-id", hexID[:2], hexID[2:]+".debug")
	copyFile(t, withID, byID)
	modPath := filepath.Join(root, "usr", "lib", "debug", "lib", "modules", "6.1.0-9-amd64", "kernel", "fs", "foo.ko")
	copyFile(t, noID, modPath)
	msrPath := filepath.Join(root, "usr", "lib", "debug", "lib", "modules", "6.1.0-9-amd64", "kernel", "arch", "x86", "kernel", "msr.ko")
	copyFile(t, noID, msrPath)
	vmPath := filepath.Join(root, "usr", "lib", "debug", "boot", "vmlinux-6.1.0-9-amd64")
	copyFile(t, withID, vmPath)
	// Fedora and RHEL: NAME.ko.debug beside the module's path, and the
	// vmlinux under lib/modules/REL/.
	fedora := t.TempDir()
	fedoraMod := filepath.Join(fedora, "usr", "lib", "debug", "lib", "modules", "6.8.0-1.fc40.x86_64", "kernel", "fs", "foo.ko.debug")
	copyFile(t, noID, fedoraMod)
	fedoraVm := filepath.Join(fedora, "usr", "lib", "debug", "lib", "modules", "6.8.0-1.fc40.x86_64", "vmlinux")
	copyFile(t, withID, fedoraVm)
	// Arch: build-ids only, in the debug directory itself. A path
	// candidate with another build-id comes first in another root.
	arch := t.TempDir()
	archByID := filepath.Join(arch, ".build-id", hexID[:2], hexID[2:]+".debug")
	copyFile(t, withID, archByID)

	cases := []struct {
		name  string
		q     DebugQuery
		file  string
		roots []string
		want  string // "" when an error is expected
		err   string
		warn  string // a warning that must be given
	}{
		{name: "Fedora module", q: DebugQuery{Path: "/lib/modules/6.8.0-1.fc40.x86_64/kernel/fs/foo.ko.xz"}, roots: []string{fedora}, want: fedoraMod},
		{name: "Fedora vmlinux", q: DebugQuery{BuildID: id, Release: "6.8.0-1.fc40.x86_64"}, roots: []string{fedora}, want: fedoraVm},
		{name: "Arch by build-id", q: DebugQuery{BuildID: id}, roots: []string{arch}, want: archByID},
		{name: "found in the second root", q: DebugQuery{BuildID: id, Release: "6.1.0-9-amd64"},
			roots: []string{fedora, root}, want: byID},
		{name: "another build-id at the path, the right one by id", q: DebugQuery{BuildID: other, Release: "6.8.0-1.fc40.x86_64"},
			roots: []string{fedora, root}, err: "build-id", warn: fmt.Sprintf("build-id %x, want %x: not used", id, other)},
		{name: "by build-id from a package root", q: DebugQuery{BuildID: id}, roots: []string{root}, want: byID},
		{name: "by build-id from the debug directory", q: DebugQuery{BuildID: id}, roots: []string{filepath.Join(root, "usr", "lib", "debug")}, want: byID},
		{name: "by module path, compressed", q: DebugQuery{Path: "/x/image/lib/modules/6.1.0-9-amd64/kernel/fs/foo.ko.xz"}, roots: []string{root}, want: modPath},
		{name: "by module path and release", q: DebugQuery{Path: "kernel/fs/foo.ko", Release: "6.1.0-9-amd64"}, roots: []string{root}, want: modPath},
		{name: "by release, a kernel directory inside the tree", q: DebugQuery{Path: "/tmp/tree/kernel/arch/x86/kernel/msr.ko.xz", Release: "6.1.0-9-amd64"}, roots: []string{root}, want: msrPath},
		{name: "by release, the tree inside a kernel directory", q: DebugQuery{Path: "/src/kernel/tree/kernel/fs/foo.ko", Release: "6.1.0-9-amd64"}, roots: []string{root}, want: modPath},
		{name: "candidate without build-id accepted", q: DebugQuery{BuildID: other, Path: "lib/modules/6.1.0-9-amd64/kernel/fs/foo.ko"}, roots: []string{t.TempDir(), root}, want: modPath},
		{name: "vmlinux by release", q: DebugQuery{Release: "6.1.0-9-amd64"}, roots: []string{root}, want: vmPath},
		{name: "wrong build-id rejected", q: DebugQuery{BuildID: other, Release: "6.1.0-9-amd64"}, roots: []string{root}, err: "build-id"},
		{name: "explicit file", q: DebugQuery{BuildID: id}, file: vmPath, want: vmPath},
		{name: "explicit file with another build-id", q: DebugQuery{BuildID: other}, file: vmPath, err: "want"},
		{name: "missing", q: DebugQuery{Path: "lib/modules/6.1.0-9-amd64/kernel/fs/bar.ko"}, roots: []string{root}, err: "not found"},
		{name: "nothing to search", q: DebugQuery{}, roots: []string{root}, err: "no debug root to search"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, warnings, err := FindDebugInfo(c.q, c.file, c.roots)
			if c.warn != "" && !strings.Contains(strings.Join(warnings, "\n"), c.warn) {
				t.Errorf("warnings %q, want one saying %q", warnings, c.warn)
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestFindDebugInfoKernel finds the -dbg twin of a stripped module of the
// 6.1 image package and scans it.
func TestFindDebugInfoKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the unpacked 6.1 kernel packages")
	}
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		t.Fatal(err)
	}
	stripped := filepath.Join(k.Modules, "net", "vmw_vsock", "vsock_loopback.ko")
	ef, err := elf.Open(stripped)
	if err != nil {
		t.Fatal(err)
	}
	id, err := BuildID(ef)
	ef.Close()
	if err != nil || id == nil {
		t.Fatalf("build-id of %s: %v", stripped, err)
	}
	if _, err := Open(stripped, Options{}); err == nil || !strings.Contains(err.Error(), "no .debug_info") {
		t.Errorf("stripped module scanned: %v", err)
	}
	got, _, err := FindDebugInfo(DebugQuery{BuildID: id, Path: stripped}, "", []string{filepath.Join(k.Dir, "dbg")})
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(filepath.Join(k.DbgModules, "net", "vmw_vsock", "vsock_loopback.ko"))
	if err != nil {
		t.Fatal(err)
	}
	if gotReal, _ := filepath.EvalSymlinks(got); gotReal != want {
		t.Fatalf("found %s, want %s", got, want)
	}
	d, err := Open(got, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defs := 0
	for _, f := range d.Funcs {
		if f.HasPC && !f.Declaration {
			defs++
		}
	}
	if defs == 0 {
		t.Fatalf("%s: no function with code", got)
	}
	t.Logf("%s -> %s: %d subprograms, %d with code", stripped, got, len(d.Funcs), defs)
}
