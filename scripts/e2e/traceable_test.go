package e2e

import (
	"debug/elf"
	"testing"
)

func TestFuncAt(t *testing.T) {
	// Sorted function symbols: f at [0x10,0x30), g at [0x40,0x48).
	syms := []elf.Symbol{
		{Name: "f", Value: 0x10, Size: 0x20},
		{Name: "g", Value: 0x40, Size: 0x08},
	}
	tests := []struct {
		addr uint64
		want string
	}{
		{0x10, "f"}, // x86 __fentry__ call at the entry
		{0x2f, "f"}, // last byte
		{0x38, "g"}, // arm64 call-ops NOPs 8 bytes before the entry
		{0x30, "g"}, // 16 bytes before g: still g's
		{0x48, ""},  // past the last function
		{0x00, "f"}, // 16 bytes before f
		{0x100, ""}, // far away
	}
	for _, tt := range tests {
		if got := funcAt(syms, tt.addr); got != tt.want {
			t.Errorf("funcAt(%#x) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
