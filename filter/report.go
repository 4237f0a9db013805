package filter

import (
	"slices"
	"time"
)

// Report is the machine report of a run (docs/cli.md: fields may be added,
// never renamed).
type Report struct {
	Files   []*FileReport `json:"files"`
	Summary *Summary      `json:"summary"`
}

// Summary counts what a run did.
type Summary struct {
	// Files is how many files the run processed (named, or modules found
	// in the directories it walked); Ignored how many other files those
	// directories held (and symbolic links, which a walk does not follow).
	Files   int `json:"files"`
	Ignored int `json:"ignored"`
	// Changed files had something removed or merged (in a dry run: would
	// have); Unchanged files had nothing to change; Failed files failed.
	// Written is how many files (or -o) were written: Changed ones, unless
	// the run failed somewhere and so wrote none.
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
	Written   int `json:"written"`
	// Removed counts the removed FUNCs per rule; Protected the FUNCs a
	// rule fired on that were kept.
	Removed   map[string]int `json:"removed"`
	Protected int            `json:"protected"`
	// BytesSaved is what the BTF of the changed files lost in all.
	BytesSaved int `json:"bytes_saved"`
	// Accepted and Refused count the modules --check predicts the kernel
	// accepts and refuses.
	Accepted int  `json:"accepted"`
	Refused  int  `json:"refused"`
	DryRun   bool `json:"dry_run"`
	// Seconds is the run's wall time, for the table on a terminal; the
	// JSON report leaves it out so that the same run reports the same
	// bytes.
	Seconds float64 `json:"-"`
}

// Rules returns the names of the rules in s.Removed, sorted.
func (s *Summary) Rules() []string {
	var names []string
	for n := range s.Removed {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// summarize counts what the file reports say.
func summarize(r *Report, ignored int, dry bool, took time.Duration) *Summary {
	s := &Summary{Files: len(r.Files), Ignored: ignored, Removed: map[string]int{}, DryRun: dry, Seconds: took.Seconds()}
	for _, f := range r.Files {
		switch {
		case f.Error != "":
			s.Failed++
			continue
		case f.Changed:
			s.Changed++
			s.BytesSaved += f.BytesBefore - f.BytesAfter
		default:
			s.Unchanged++
		}
		if f.Written {
			s.Written++
		}
		if a := f.Acceptance; a != nil {
			switch a.Verdict {
			case "ok":
				s.Accepted++
			case "refused":
				s.Refused++
			}
		}
		for _, v := range f.Removed {
			s.Removed[v.Rule]++
		}
		s.Protected += len(f.Protected)
	}
	return s
}

// FileReport is what happened to one file.
type FileReport struct {
	Path        string `json:"path"`
	Format      string `json:"format"` // vmlinux, module or raw
	Arch        string `json:"arch"`
	TypesBefore int    `json:"types_before"`
	TypesAfter  int    `json:"types_after"`
	BytesBefore int    `json:"bytes_before"`
	BytesAfter  int    `json:"bytes_after"`
	// Base says, for split BTF, what it was judged and written against
	// (a vmlinux, -B, the module's own distilled base, the running
	// kernel's BTF) and what a given base was for.
	Base    string    `json:"base,omitempty"`
	Removed []Removed `json:"removed"`
	// Merged counts the types deduplication merged away.
	Merged int `json:"merged"`
	// Adopted counts the base types a module took into its own BTF
	// because the rewritten base dropped them (a FUNC_PROTO only removed
	// base FUNCs used, which a module's function pointer still names).
	Adopted   int         `json:"adopted"`
	Protected []Protected `json:"protected"`
	Warnings  []string    `json:"warnings"`
	// Changed is true when something was removed or merged (in a dry run:
	// would have been); Written when the file (or -o) was written.
	Changed bool `json:"changed"`
	Written bool `json:"written"`
	// Acceptance is the --check prediction.
	Acceptance *Acceptance `json:"acceptance,omitempty"`
	// Error is set when the file failed; it was then left as it was.
	Error string `json:"error,omitempty"`

	contradicts bool // Error is an ErrContradiction
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

// ExitStatus is the command's exit status for the run: 0 when every file
// was processed, 2 when a file contradicted the command line (exit status
// 2 is a bad command line), else 1 when any file failed.
func (r *Report) ExitStatus() int {
	status := 0
	for _, f := range r.Files {
		switch {
		case f.contradicts:
			return 2
		case f.Error != "", f.Acceptance != nil && f.Acceptance.Verdict == "refused":
			status = 1
		}
	}
	return status
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
