package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// mountTmpfs mounts a tmpfs of the given size on a new directory and
// unmounts it when the test ends. The fault tests need root, as CI has.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("mounting needs root: not in -short mode")
	}
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
//
// A want that starts with "!" is a file that contradicts the command line
// (a base it was not built on): the same, with exit status 2.
func expectFailure(t *testing.T, path, want string, args ...string) {
	t.Helper()
	h := hashFile(t, path)
	before, _ := os.ReadDir(filepath.Dir(path))
	wantCode := 1
	if w, ok := strings.CutPrefix(want, "!"); ok {
		want, wantCode = w, 2
	}
	_, stderr, code := runCLI(t, append(args, path)...)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	msg := strings.Replace(lines[0], path, "", 1) // the path holds the test's name
	if code != wantCode || len(lines) != 1 || !strings.Contains(lines[0], path) || !strings.Contains(msg, want) {
		t.Fatalf("exit %d, want %d and one line naming %s and saying %q:\n%s", code, wantCode, path, want, stderr)
	}
	readsOnce(t, lines[0], path)
	if hashFile(t, path) != h {
		t.Fatal("the file changed")
	}
	if after, _ := os.ReadDir(filepath.Dir(path)); len(after) != len(before) {
		t.Fatalf("directory had %d entries, now %d: a temporary file was left", len(before), len(after))
	}
	t.Log(lines[0])
}

// readsOnce fails t unless msg names path once and says nothing twice: no
// two of its ": "-separated parts are the same, as they would be if one
// layer repeated what another had added ("x: .BTF_ids: .BTF_ids: ...").
func readsOnce(t *testing.T, msg, path string) {
	t.Helper()
	if n := strings.Count(msg, path); n != 1 {
		t.Fatalf("the message names %s %d times:\n%s", path, n, msg)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.Replace(msg, path, "FILE", 1), ": ") {
		part = strings.TrimSpace(part)
		if seen[part] {
			t.Fatalf("the message says %q twice:\n%s", part, msg)
		}
		seen[part] = true
	}
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
// stays a link, pointing where it did; see elfio.WriteAtomic). A bad file
// reached the same way gets the usual one error naming it and keeps its
// bytes.
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
	before := hashFile(t, target)
	if _, stderr, code := runCLI(t, "-B", fixtureBase, "--drop", "mod_flush", link); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if to, err := os.Readlink(link); err != nil || to != filepath.Base(target) {
		t.Fatalf("the link is no longer the same link: %q, %v", to, err)
	}
	if hashFile(t, target) == before || funcNames(t, target, btftest.Load(t, fixtureBase, nil))["mod_flush"] {
		t.Fatal("the link's target was not rewritten")
	}

	bad := filepath.Join(dir, "truncated module.ko")
	data, err := os.ReadFile(fixtureModule)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	badLink := filepath.Join(dir, "link to truncated module.ko")
	if err := os.Symlink(filepath.Base(bad), badLink); err != nil {
		t.Fatal(err)
	}
	h := hashFile(t, bad)
	expectFailure(t, badLink, "malformed ELF", "-B", fixtureBase, "--drop", "mod_flush")
	if hashFile(t, bad) != h {
		t.Fatal("the link's target changed")
	}
}

// TestReadOnlyDirectory: an unprivileged user may write the file but not
// its directory, so the new version cannot be put next to it. (Root ignores
// directory modes; the read-only mount above stops root too.)
func TestReadOnlyDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("running as another user needs root: not in -short mode")
	}
	const nobody = 65534
	// Every directory on the way must be searchable by the user.
	top := t.TempDir()
	for _, d := range []string{filepath.Dir(top), top} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(top, "btffilter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	base := copyFile(t, fixtureBase, top)
	dir := filepath.Join(top, "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := copyFile(t, fixtureModule, dir)
	if err := os.Chown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	h := hashFile(t, path)
	cmd := exec.Command(bin, "-B", base, "--drop", "mod_flush", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || len(lines) != 1 ||
		!strings.Contains(lines[0], path) || !strings.Contains(lines[0], "permission denied") {
		t.Fatalf("run as uid %d: %v, want exit 1 and one line naming %s and saying permission denied:\n%s", nobody, err, path, stderr.String())
	}
	if hashFile(t, path) != h {
		t.Fatal("the file changed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries: a temporary file was left", len(entries))
	}
	t.Log(lines[0])
}

// TestCompressionBomb: a .ko.zst that expands past the limit is refused.
// The bomb starts as a module does, so that only its size gives it away;
// the limit is lowered so that the test inflates megabytes, not gigabytes.
func TestCompressionBomb(t *testing.T) {
	old := elfio.MaxDecompressedSize
	elfio.MaxDecompressedSize = 32 << 20
	t.Cleanup(func() { elfio.MaxDecompressedSize = old })
	dir := t.TempDir()
	head, err := os.ReadFile(fixtureModule)
	if err != nil {
		t.Fatal(err)
	}
	bomb := append(head[:64:64], make([]byte, elfio.MaxDecompressedSize)...)
	path := filepath.Join(dir, "bomb.ko.zst")
	cmd := exec.Command("zstd", "-q", "-1", "-o", path)
	cmd.Stdin = bytes.NewReader(bomb)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make bomb: %v\n%s", err, out)
	}
	expectFailure(t, path, "decompression bomb", "-B", fixtureBase, "--drop", "mod_flush")
}

// TestChangedDuringRun: another process truncates, replaces or writes the
// vmlinux after btffilter has read it and before it writes its result. The
// run is frozen (SIGSTOP) once /proc says the whole file was read, the file
// is changed, and the run resumed: it must report the file as changed and
// leave the other writer's version in place.
func TestChangedDuringRun(t *testing.T) {
	k := realKernel(t, "6.1-amd64")
	bin := buildCommand(t)
	for _, tc := range []struct {
		name   string
		change func(path string) error
	}{
		{"truncated", func(path string) error { return os.Truncate(path, 4096) }},
		{"replaced", func(path string) error {
			if err := os.WriteFile(path+".other", []byte("another writer's file\n"), 0o644); err != nil {
				return err
			}
			return os.Rename(path+".other", path)
		}},
		{"written", func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteAt([]byte("changed"), 1<<20); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := copyAs(t, k.Vmlinux, dir, "vmlinux")
			// The run is only frozen in time if it has not started writing
			// yet; on a busy machine that can be missed, so try again.
			for attempt := 1; ; attempt++ {
				stderr, code, ok := freezeAfterRead(t, bin, path, tc.change)
				if !ok {
					if attempt == 3 {
						t.Fatal("three runs had started writing before they could be stopped")
					}
					copyAs(t, k.Vmlinux, dir, "vmlinux")
					continue
				}
				msg := strings.Replace(strings.TrimSpace(stderr), path, "", 1)
				if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, path) ||
					!strings.Contains(msg, "changed on disk") {
					t.Fatalf("exit %d, want 1 and one line naming %s and saying it changed:\n%s", code, path, stderr)
				}
				t.Log(strings.TrimSpace(stderr))
				break
			}
		})
	}
}

// freezeAfterRead runs bin on path, stops it once it has read as many bytes
// as path holds, applies change, checks the result's hash after the run and
// that no temporary file is left. ok is false when the run had already begun
// writing when it was stopped.
func freezeAfterRead(t *testing.T, bin, path string, change func(string) error) (stderr string, code int, ok bool) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--jobs", "1", path)
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// A large file is mapped, not read: then the run has it once its
	// mapping shows, and what it reads afterwards faults if the file is
	// truncated.
	for readBytes(cmd.Process.Pid) < st.Size() && !mapsFile(cmd.Process.Pid, path) {
		select {
		case err := <-done:
			t.Fatalf("the run ended before it had read the file: %v\n%s", err, errBuf.String())
		default:
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		cmd.Process.Signal(syscall.SIGCONT)
		<-done
		return "", 0, false
	}
	if err := change(path); err != nil {
		t.Fatal(err)
	}
	h := hashFile(t, path)
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	<-done
	if hashFile(t, path) != h {
		t.Fatal("the run overwrote the other writer's version")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("directory holds %d entries: a temporary file was left", len(entries))
	}
	return errBuf.String(), cmd.ProcessState.ExitCode(), true
}

// readBytes is how many bytes process pid has read so far (rchar in
// /proc/PID/io), or 0 when that cannot be told.
// mapsFile reports whether process pid has a mapping of the file at path.
func mapsFile(pid int, path string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	return err == nil && strings.Contains(string(data), " "+path+"\n")
}

func readBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
