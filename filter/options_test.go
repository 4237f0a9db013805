package filter

import (
	"strings"
	"testing"
)

// TestJudgingCheck: Check refuses what Run would refuse, with the same
// words, and accepts every valid setting.
func TestJudgingCheck(t *testing.T) {
	tests := []struct {
		name string
		j    Judging
		want string // "" for accepted, else a substring of the error
	}{
		{"zero", Judging{}, ""},
		{"default rules", Judging{Rules: "default"}, ""},
		{"adjusted", Judging{Rules: "-abi", Keep: []string{"bpf_*"}}, ""},
		{"drop", Judging{Drop: []string{"tcp_*"}}, ""},
		{"unknown rule", Judging{Rules: "foo"}, `unknown rule "foo"`},
		{"bad glob", Judging{Keep: []string{"["}}, "["},
		{"bad arch", Judging{Arch: "vax"}, "--arch"},
		{"bad kernel", Judging{Kernel: "six"}, "--kernel"},
		{"dedup with drop", Judging{DedupOnly: true, Drop: []string{"x"}}, "--dedup-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.j.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check: %v, want an error containing %q", err, tt.want)
			}
			if tt.want == "" {
				return
			}
			// Run refuses it with the same error before reading anything.
			_, rerr := Run(t.Context(), []string{"/nonexistent"}, Options{Judging: tt.j})
			if rerr == nil || rerr.Error() != err.Error() {
				t.Fatalf("Run: %v, want %v", rerr, err)
			}
		})
	}
}
