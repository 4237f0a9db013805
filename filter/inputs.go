package filter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The inputs of a run: files as given, and directories walked for kernel
// modules, as a module tree (/lib/modules/VER) or an unpacked package holds
// them.

// moduleSuffixes are the names of kernel module files, compressed or not.
var moduleSuffixes = []string{".ko", ".ko.gz", ".ko.xz", ".ko.zst"}

// IsModuleName reports whether name is a kernel module's file name.
func IsModuleName(name string) bool {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

// inputs is what a run's arguments name.
type inputs struct {
	files []string
	// ignored counts the files of walked directories that are not
	// modules, and the symbolic links inside them, which a walk does not
	// follow (a tree's build and source links lead out of it).
	ignored int
}

// expand turns the arguments into files: a file stays as given (a symbolic
// link to it is followed when the file is processed); a directory is walked
// in lexical order for module files. A file reached twice (named twice, or
// named and inside a walked directory) is processed once, where it first
// appears.
func expand(args []string) (*inputs, error) {
	in := &inputs{}
	seen := map[fileID]bool{}
	add := func(p string) {
		if id, ok := identify(p); ok {
			if seen[id] {
				return
			}
			seen[id] = true
		}
		in.files = append(in.files, p)
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			add(arg) // a missing file is reported when it is processed
			continue
		}
		n := 0
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir():
				return nil
			case d.Type()&fs.ModeSymlink != 0, !d.Type().IsRegular(), !IsModuleName(d.Name()):
				in.ignored++
				return nil
			}
			n++
			add(p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", arg, err)
		}
		if n == 0 {
			return nil, &UsageError{fmt.Errorf("%s: a directory with no kernel modules (%s)", arg, strings.Join(moduleSuffixes, ", "))}
		}
	}
	if len(in.files) == 0 {
		return nil, &UsageError{errors.New("no input files")}
	}
	return in, nil
}

// fileID identifies a file whatever path reaches it.
type fileID struct{ dev, ino uint64 }

// identify returns the device and inode of the file path leads to.
func identify(path string) (fileID, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(sys.Dev), sys.Ino}, true
}
