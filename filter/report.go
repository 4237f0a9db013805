package filter

// Report is the machine report of a run (docs/cli.md: fields may be added,
// never renamed).
type Report struct {
	Files []*FileReport `json:"files"`
}

// FileReport is what happened to one file.
type FileReport struct {
	Path        string    `json:"path"`
	Format      string    `json:"format"` // vmlinux, module or raw
	Arch        string    `json:"arch"`
	TypesBefore int       `json:"types_before"`
	TypesAfter  int       `json:"types_after"`
	BytesBefore int       `json:"bytes_before"`
	BytesAfter  int       `json:"bytes_after"`
	Removed     []Removed `json:"removed"`
	// Merged counts the types deduplication merged away.
	Merged    int         `json:"merged"`
	Protected []Protected `json:"protected"`
	Warnings  []string    `json:"warnings"`
	// Written is true when the file (or -o) was written.
	Written bool `json:"written"`
	// Error is set when the file failed; it was then left as it was.
	Error string `json:"error,omitempty"`
}

// Removed is one removed FUNC.
type Removed struct {
	Name   string `json:"name"`
	BTFID  uint32 `json:"btf_id"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Protected is a FUNC a rule fired on that was kept.
type Protected struct {
	Name   string `json:"name"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Failed reports whether any file failed.
func (r *Report) Failed() bool {
	for _, f := range r.Files {
		if f.Error != "" {
			return true
		}
	}
	return false
}
