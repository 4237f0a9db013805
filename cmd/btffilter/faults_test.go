package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mountTmpfs mounts a tmpfs of the given size on a new directory and
// unmounts it when the test ends. The fault tests need root, as CI has.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (the fault tests run as root): %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// expectFailure runs the command line and checks the contract for a failed
// file: exit status 1, one error line naming the file and saying want, the
// file's bytes unchanged, nothing else left in its directory.
func expectFailure(t *testing.T, path, want string, args ...string) {
	t.Helper()
	h := hashFile(t, path)
	before, _ := os.ReadDir(filepath.Dir(path))
	_, stderr, code := runCLI(t, append(args, path)...)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	msg := strings.Replace(lines[0], path, "", 1) // the path holds the test's name
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], path) || !strings.Contains(msg, want) {
		t.Fatalf("exit %d, want 1 and one line naming %s and saying %q:\n%s", code, path, want, stderr)
	}
	if hashFile(t, path) != h {
		t.Fatal("the file changed")
	}
	if after, _ := os.ReadDir(filepath.Dir(path)); len(after) != len(before) {
		t.Fatalf("directory had %d entries, now %d: a temporary file was left", len(before), len(after))
	}
	t.Log(lines[0])
}

// TestDiskFull: the file system fills up while the new version is written.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "64k")
	path := copyFile(t, fixtureModule, dir)
	// Fill what is left, so the temporary copy cannot be written.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := filler.Write(buf); err != nil {
			break
		}
	}
	filler.Close()
	expectFailure(t, path, "no space left", "-B", fixtureBase, "--drop", "mod_flush")
}

// TestReadOnlyFileSystem: the directory cannot be written at all (a
// read-only mount stops root too).
func TestReadOnlyFileSystem(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	path := copyFile(t, fixtureModule, dir)
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v\n%s", err, out)
	}
	expectFailure(t, path, "read-only file system", "-B", fixtureBase, "--drop", "mod_flush")
}

// TestSymlinkAndSpaces: a module reached through a symbolic link, in a
// directory whose name has spaces, is rewritten through the link (the link
// stays a link; see elfio.WriteAtomic).
func TestSymlinkAndSpaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir with spaces")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := copyFile(t, fixtureModule, dir)
	link := filepath.Join(dir, "link to module.ko")
	if err := os.Symlink(filepath.Base(target), link); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "-B", fixtureBase, "--drop", "mod_flush", link); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link is no longer a link: %v", err)
	}
	if funcNames(t, target, decodeBase(t, fixtureBase))["mod_flush"] {
		t.Fatal("the link's target was not rewritten")
	}
}

// TestCompressionBomb: a .ko.zst that claims gigabytes is refused.
func TestCompressionBomb(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bomb.ko.zst")
	// 3 GiB of zeros compresses to a few hundred kilobytes.
	cmd := exec.Command("sh", "-c", "head -c 3221225472 /dev/zero | zstd -q -1 -o '"+path+"'")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make bomb: %v\n%s", err, out)
	}
	expectFailure(t, path, "", "-B", fixtureBase, "--drop", "mod_flush")
}
