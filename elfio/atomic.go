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
// crash, sees either the old or the new contents, never a mix: it is
// Prepare followed by Commit, durably (Sync).
//
// If path does not exist it is created with mode 0644. If path is a
// symbolic link, the file it resolves to is replaced and the link is kept:
// a distribution tree often links vmlinuz/vmlinux or module paths into
// another directory, and replacing the link with a regular file would
// silently fork the two names.
//
// Because the file is replaced by a new inode, hard links to the original
// keep the old contents, and extended attributes (for example an IMA
// signature) are not carried over; both would be stale for new contents
// anyway.
func WriteAtomic(path string, data []byte) error {
	p, err := Prepare(path, data, Sync)
	if err != nil {
		return err
	}
	return p.Commit()
}

// Durability says whether a replaced file is made durable before Commit
// returns.
type Durability bool

// The two durabilities. NoSync leaves the new contents and the rename to
// the file system's own writeback, as build tools (objcopy, strip,
// pahole) do: a crash soon after may lose the new version (the rename is
// still atomic: the old or the new one is there). Sync fsyncs the new file
// before the rename and its directory after it, as a package manager does.
const (
	NoSync Durability = false
	Sync   Durability = true
)

// Pending is a new version of a file, written beside it and not yet in its
// place: Commit puts it there, Abort throws it away. Preparing every output
// of a run first and committing them only when all are ready lets a run
// that fails leave every file as it was.
type Pending struct {
	path   string // as given, for errors
	target string // the file replaced (path with symbolic links resolved)
	tmp    *os.File
	sync   Durability
	done   bool
	// check, when set, must pass right before the rename (File.Prepare).
	check func() error
	// copied is how PrepareRewrite wrote the unchanged bytes (0 when
	// the contents were written whole).
	copied copyWay
}

// Prepare is the package's Prepare for a result computed from f: f is
// checked to be unchanged on disk now (CheckUnchanged) and again right
// before Commit renames, so that a result is never put over a file someone
// else changed meanwhile, however long the run took between the two.
func (f *File) Prepare(dest string, data []byte, sync Durability) (*Pending, error) {
	return f.prepare(dest, sync, func(tmp *os.File) error {
		_, err := tmp.Write(data)
		return err
	})
}

func (f *File) prepare(dest string, sync Durability, fill func(*os.File) error) (*Pending, error) {
	if err := f.CheckUnchanged(); err != nil {
		return nil, err
	}
	p, err := prepareWith(dest, sync, fill)
	if err != nil {
		return nil, err
	}
	p.check = f.CheckUnchanged
	return p, nil
}

// Prepare writes data to a temporary file in the directory of path (see
// WriteAtomic for which file that is), with the mode (including
// setuid/setgid/sticky bits) and the owner (uid and gid) of the original,
// fsynced when sync says so. The temporary file is locked until Commit or
// Abort, which tells a later run that its writer is alive
// (removeStaleTemps). On error nothing is left behind.
func Prepare(path string, data []byte, sync Durability) (*Pending, error) {
	return prepareWith(path, sync, func(tmp *os.File) error {
		_, err := tmp.Write(data)
		return err
	})
}

// prepareWith is Prepare with the contents written by fill.
func prepareWith(path string, sync Durability, fill func(*os.File) error) (*Pending, error) {
	p, err := prepare(path, sync, fill)
	if err != nil {
		return nil, WithPath(path, err)
	}
	return p, nil
}

func prepare(path string, sync Durability, fill func(*os.File) error) (_ *Pending, err error) {
	target, err := filepath.EvalSymlinks(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			return nil, fmt.Errorf("dangling symbolic link: %w", err)
		}
		target = path
	default:
		return nil, err
	}

	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file (%v)", target, fi.Mode().Type())
		}
		mode = fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	removeStaleTemps(dir, base)
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	if err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("lock temporary file: %w", err)
	}
	p := &Pending{path: path, target: target, tmp: tmp, sync: sync}
	ready := false
	defer func() {
		if !ready {
			p.Abort() // an error, or a panic going through
		}
	}()
	if err := fill(tmp); err != nil {
		return nil, err
	}
	// Owner first: chown clears setuid/setgid, so chmod must come after it.
	if uid >= 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			return nil, fmt.Errorf("keep owner %d:%d: %w", uid, gid, err)
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		return nil, fmt.Errorf("keep mode %v: %w", mode, err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return nil, err // *PathError: it names the temporary file
		}
	}
	ready = true
	return p, nil
}

// Target is the file Commit replaces.
func (p *Pending) Target() string { return p.target }

// Commit renames the new version over the file and fsyncs the directory, so
// that the rename itself is durable.
func (p *Pending) Commit() error {
	if p.done {
		return WithPath(p.path, errors.New("internal error: committed or aborted twice"))
	}
	if p.check != nil {
		if err := p.check(); err != nil {
			p.Abort()
			return err
		}
	}
	p.done = true
	if err := os.Rename(p.tmp.Name(), p.target); err != nil {
		p.tmp.Close()
		os.Remove(p.tmp.Name())
		return WithPath(p.path, fmt.Errorf("replace %s: %w", p.target, err))
	}
	if err := p.tmp.Close(); err != nil {
		return WithPath(p.path, fmt.Errorf("replaced, but close: %w", err))
	}
	if !p.sync {
		return nil
	}
	// Some file systems cannot fsync a directory (EINVAL); the rename is
	// then as durable as that file system allows.
	dir := filepath.Dir(p.target)
	d, err := os.Open(dir)
	if err != nil {
		return WithPath(p.path, fmt.Errorf("replaced, but open directory for sync: %w", err))
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return WithPath(p.path, fmt.Errorf("replaced, but sync directory %s: %w", dir, err))
	}
	return nil
}

// Abort removes the new version; the file stays as it was. Aborting a
// committed or aborted Pending does nothing.
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.tmp.Close()
	os.Remove(p.tmp.Name())
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
