package elfio

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// helperEnv makes the test binary act as an unprivileged WriteAtomic caller
// (see TestMain and runUnprivileged): root ignores directory permissions, so
// the failure paths are exercised from a process running as nobody.
const helperEnv = "ELFIO_WRITEATOMIC_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		if err := WriteAtomic(path, []byte("new contents")); err != nil {
			fmt.Print("ERR:", err)
		} else {
			fmt.Print("OK")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// owner returns the uid and gid of path.
func owner(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// dirNames lists a directory, to catch leftover temporary files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestWriteAtomic: contents replaced; mode (with special bits) and owner
// kept; symlinks followed and kept; no temporary file left behind.
func TestWriteAtomic(t *testing.T) {
	root := os.Geteuid() == 0
	// As root the original gets a foreign owner, so keeping it is visible.
	uid, gid := os.Getuid(), os.Getgid()
	if root {
		uid, gid = 1234, 5678
	}
	cases := []struct {
		name string
		mode fs.FileMode
		link bool
	}{
		{"plain 0640", 0o640, false},
		{"read-only 0444", 0o444, false},
		{"setgid 02755", 0o755 | fs.ModeSetgid, false},
		{"through symlink", 0o604, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "real", "m.ko")
			if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, []byte("old contents"), 0o600); err != nil {
				t.Fatal(err)
			}
			if root {
				if err := os.Chown(target, uid, gid); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(target, tc.mode); err != nil {
				t.Fatal(err)
			}
			path := target
			if tc.link {
				path = filepath.Join(dir, "m.ko")
				if err := os.Symlink("real/m.ko", path); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteAtomic(path, []byte("new contents")); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(target); string(got) != "new contents" {
				t.Fatalf("target holds %q", got)
			}
			fi, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
			if u, g := owner(t, target); u != uid || g != gid {
				t.Errorf("owner %d:%d, want %d:%d", u, g, uid, gid)
			}
			if tc.link {
				if l, err := os.Readlink(path); err != nil || l != "real/m.ko" {
					t.Errorf("symlink now %q, %v; want it kept pointing at real/m.ko", l, err)
				}
			}
			if names := dirNames(t, filepath.Dir(target)); len(names) != 1 {
				t.Errorf("directory holds %v, want only m.ko", names)
			}
		})
	}
}

// TestWriteAtomicNew: a path that does not exist yet is created, 0644.
func TestWriteAtomicNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ko")
	if err := WriteAtomic(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode() != 0o644 {
		t.Fatalf("stat: %v, %v; want mode 0644", fi, err)
	}
}

// TestWriteAtomicRefused: inputs WriteAtomic must refuse without touching
// anything.
func TestWriteAtomicRefused(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("nowhere", dangling); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, wantErr string
	}{
		{"directory", sub, "is not a regular file"},
		{"dangling symlink", dangling, "dangling symbolic link"},
		{"missing directory", filepath.Join(dir, "no", "such", "m.ko"), "create temporary file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteAtomic(tc.path, []byte("x"))
			if err == nil || !strings.HasPrefix(err.Error(), tc.path+": ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to start with the path and say %q", err, tc.wantErr)
			}
		})
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Fatalf("directory holds %v after refusals", names)
	}
}

// TestWriteAtomicFailure: when the rewrite cannot complete (read-only
// directory; an owner the caller cannot give away), the original is intact
// and no temporary file remains. Run as an unprivileged user: as nobody,
// through a copy of this test binary, when the tests run as root.
func TestWriteAtomicFailure(t *testing.T) {
	root := os.Geteuid() == 0
	base, err := os.MkdirTemp("", "elfio-atomic-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(base)
	})
	// base must be searchable by nobody.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}

	type tcase struct {
		name     string
		dirMode  fs.FileMode
		fileMode fs.FileMode
		wantErr  string
	}
	cases := []tcase{{"read-only directory", 0o555, 0o666, "create temporary file"}}
	if root {
		// The original belongs to root; nobody may write its bytes and
		// create files beside it, but cannot give the new file to root.
		cases = append(cases, tcase{"owner cannot be kept", 0o777, 0o666, "keep owner 0:0"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			path := filepath.Join(dir, "m.ko")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("old contents"), tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			var msg string
			if root {
				msg = runUnprivileged(t, base, path)
			} else if err := WriteAtomic(path, []byte("new contents")); err != nil {
				msg = "ERR:" + err.Error()
			}
			if !strings.HasPrefix(msg, "ERR:"+path+": ") || !strings.Contains(msg, tc.wantErr) {
				t.Fatalf("result %q, want an error naming %s and saying %q", msg, path, tc.wantErr)
			}
			if got, _ := os.ReadFile(path); string(got) != "old contents" {
				t.Fatalf("original now holds %q", got)
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != "m.ko" {
				t.Fatalf("directory holds %v, want only m.ko", names)
			}
		})
	}
}

// runUnprivileged copies the test binary into base (so nobody can execute
// it) and runs WriteAtomic(path) in it as uid/gid 65534, returning what the
// helper printed.
func runUnprivileged(t *testing.T, base, path string) string {
	if testing.Short() {
		t.Skip("running as another user needs root: not in -short mode")
	}
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "helper.test")
	if _, err := os.Stat(bin); err != nil {
		src, err := os.Open(self)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out.String())
	}
	return out.String()
}

// TestStaleTemps: a temporary file left by a killed run (nobody holds its
// lock) is removed by the next write; one whose writer is alive is not.
func TestStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m [1].ko")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".m [1].ko.tmp123")
	live := filepath.Join(dir, ".m [1].ko.tmp456")
	other := filepath.Join(dir, ".n.ko.tmp789")
	for _, p := range []string{stale, live, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lf, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, live: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
