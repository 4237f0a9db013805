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

// WithPath names the file path in err: err itself when it already names
// path (an *Error for path somewhere in its chain), else an *Error around
// it. A layer above this package uses it to add the file once.
func WithPath(path string, err error) error {
	var fe *Error
	if errors.As(err, &fe) && fe.Path == path {
		return err
	}
	return &Error{Path: path, Err: err}
}

// InSection names path and section in err.
func InSection(path, section string, err error) error {
	return &Error{Path: path, Section: section, Err: err}
}

// Problems callers may want to tell apart (errors.Is).
var (
	// ErrNoSection: the file has no section of the name asked for.
	ErrNoSection = errors.New("no such section")
	// ErrChanged: the file on disk is no longer the one that was read.
	ErrChanged = errors.New("changed on disk while it was being processed; left as it is now")
)
