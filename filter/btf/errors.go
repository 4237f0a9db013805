package btf

import (
	"fmt"
	"strings"
)

// FormatError is BTF that breaks the format or the kernel's rules for it:
// what is wrong and where, as far as that is known: the byte offset in the
// blob and the type the problem is in. It is the error of Decode,
// ValidateBlob, Validate and CheckBaseFit.
type FormatError struct {
	// Offset is the byte offset in the blob, -1 when the problem is not at
	// one place.
	Offset int64
	// Type is the ID of the type the problem is in (0: none) and Kind its
	// kind (when known).
	Type TypeID
	Kind Kind
	Err  error // what is wrong
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("btf: ")
	if e.Type != 0 {
		fmt.Fprintf(&b, "type [%d] ", e.Type)
		if e.Kind != KindUnknown {
			fmt.Fprintf(&b, "%v ", e.Kind)
		}
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "at offset %#x ", e.Offset)
	}
	s := strings.TrimSuffix(b.String(), " ")
	if s != "btf:" {
		s += ":"
	}
	return s + " " + e.Err.Error()
}

func (e *FormatError) Unwrap() error { return e.Err }

// blobError is a FormatError about the blob as a whole, or at byte off
// (-1: none).
func blobError(off int64, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Err: fmt.Errorf(format, args...)}
}

// typeError is a FormatError about type id of kind k (KindUnknown: not
// known) at byte off (-1: not known).
func typeError(id TypeID, k Kind, off int64, err error) *FormatError {
	return &FormatError{Offset: off, Type: id, Kind: k, Err: err}
}
