package e2e

import (
	"strings"
	"testing"
)

// TestInitScriptEnd: /init ends with poweroff (then reboot, should poweroff
// return), or with reboot alone when asked: a kernel without ACPI only
// halts on poweroff.
func TestInitScriptEnd(t *testing.T) {
	tests := []struct {
		reboot bool
		want   string
	}{
		{false, "echo \"PROBE end\"\npoweroff -f\nreboot -f\n"},
		{true, "echo \"PROBE end\"\nreboot -f\n"},
	}
	for _, tt := range tests {
		s := initScript(nil, nil, []string{"f"}, nil, tt.reboot)
		if !strings.HasSuffix(s, tt.want) {
			t.Errorf("reboot %v: /init ends\n%q\nwant\n%q", tt.reboot, s[strings.LastIndex(s, "echo \"PROBE end\""):], tt.want)
		}
	}
}
