package elfio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteAtomic replaces the file at path with data so that a reader, or a
// crash, sees either the old or the new contents, never a mix: it writes a
// temporary file in the same directory, fsyncs it, gives it the mode
// (including setuid/setgid/sticky bits) and the owner (uid and gid) of the
// original, renames it over the original and fsyncs the directory. If path
// does not exist it is created with mode 0644.
//
// If path is a symbolic link, the file it resolves to is replaced and the
// link is kept: a distribution tree often links vmlinuz/vmlinux or module
// paths into another directory, and replacing the link with a regular file
// would silently fork the two names.
//
// On any error before the rename, the original is untouched and the
// temporary file is removed. Because the file is replaced by a new inode,
// hard links to the original keep the old contents, and extended attributes
// (for example an IMA signature) are not carried over; both would be stale
// for new contents anyway.
func WriteAtomic(path string, data []byte) error {
	if err := writeAtomic(path, data); err != nil {
		return WithPath(path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) (err error) {
	target, err := filepath.EvalSymlinks(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			return fmt.Errorf("dangling symbolic link: %w", err)
		}
		target = path
	default:
		return err
	}

	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%v)", target, fi.Mode().Type())
		}
		mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	removeStaleTemps(dir, base)
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	// The lock, held until the temporary file is renamed or removed, tells a
	// later run that its writer is alive (see removeStaleTemps).
	if err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		tmp.Close()
		os.Remove(tmpName)
		return fmt.Errorf("lock temporary file: %w", err)
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	if _, err := tmp.Write(data); err != nil {
		return err // *PathError: it names the temporary file
	}
	// Owner first: chown clears setuid/setgid, so chmod must come after it.
	if uid >= 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			return fmt.Errorf("keep owner %d:%d: %w", uid, gid, err)
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("keep mode %v: %w", mode, err)
	}
	if err := tmp.Sync(); err != nil {
		return err // *PathError: it names the temporary file
	}
	if err := os.Rename(tmpName, target); err != nil {
		return fmt.Errorf("replace %s: %w", target, err)
	}
	renamed = true
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("replaced, but close: %w", err)
	}

	// The new contents are in place; what remains makes the rename itself
	// durable. Some file systems cannot fsync a directory (EINVAL); the
	// rename is then as durable as that file system allows.
	d, derr := os.Open(dir)
	if derr != nil {
		return fmt.Errorf("replaced, but open directory for sync: %w", derr)
	}
	defer d.Close()
	if serr := d.Sync(); serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, syscall.ENOTSUP) {
		return fmt.Errorf("replaced, but sync directory %s: %w", dir, serr)
	}
	return nil
}

// removeStaleTemps removes the temporary files a killed run left beside
// base in dir. A writer holds an exclusive lock on its temporary file until
// it is renamed, so a temporary file that can be locked has no writer left.
func removeStaleTemps(dir, base string) {
	names, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".tmp*"))
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.Remove(n)
		}
		f.Close()
	}
}

// globEscape quotes the characters filepath.Match treats specially.
func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
