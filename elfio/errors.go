package elfio

import "errors"

// Error is what went wrong with one file: its path, the section the problem
// is in when there is one, and the problem. Every error this package returns
// for a file is one, so a caller can tell which file failed (errors.As)
// without adding the path again.
type Error struct {
	Path    string
	Section string // "" when the problem is not in one section
	Err     error
}

func (e *Error) Error() string {
	if e.Section != "" {
		return e.Path + ": section " + e.Section + ": " + e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// fileError names path in err, unless err already names it.
func fileError(path string, err error) error {
	var fe *Error
	if errors.As(err, &fe) && fe.Path == path {
		return err
	}
	return &Error{Path: path, Err: err}
}

// sectionError names path and section in err.
func sectionError(path, section string, err error) error {
	return &Error{Path: path, Section: section, Err: err}
}

// Problems callers may want to tell apart (errors.Is).
var (
	// ErrNoSection: the file has no section of the name asked for.
	ErrNoSection = errors.New("no such section")
	// ErrChanged: the file on disk is no longer the one that was read.
	ErrChanged = errors.New("changed on disk while it was being processed; left as it is now")
)
