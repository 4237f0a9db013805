package e2e

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// argHex is argument i of size bytes as the abiprobe module sends it.
func argHex(i, size int) string {
	var b strings.Builder
	for k := 0; k < size; k++ {
		fmt.Fprintf(&b, "%02x", abiByte(i, k))
	}
	return b.String()
}

// slotOf is slot s of argument i (bytes 8s.. of it), padded with pad.
func slotOf(i, size, s int, pad byte) string {
	var v [8]byte
	for k := range v {
		v[k] = pad
		if 8*s+k < size {
			v[k] = abiByte(i, 8*s+k)
		}
	}
	return fmt.Sprintf("%016x", binary.LittleEndian.Uint64(v[:]))
}

func TestJudgeABI(t *testing.T) {
	// f(long a, __int128 x, long b): BTF puts a in slot 0, x in 1-2, b in 3.
	fn := ABIFunc{Name: "f", InBTF: true, Sizes: []int{8, 16, 8}}
	sent := strings.Join([]string{argHex(0, 8), argHex(1, 16), argHex(2, 8)}, "/")
	slots := func(s ...string) string {
		for len(s) < 24 {
			s = append(s, "-")
		}
		return strings.Join(s, ",")
	}
	right := slots(slotOf(0, 8, 0, 0), slotOf(1, 16, 0, 0), slotOf(1, 16, 1, 0), slotOf(2, 8, 0, 0))
	line := func(cnt int, sl, got string) string {
		return fmt.Sprintf("ok hits=1 cnt=%d mask=f slots=%s exit=1/f base=%s got=%s", cnt, sl, sent, got)
	}
	tests := []struct {
		name    string
		fn      ABIFunc
		line    string
		verdict string
		detail  string // substring of Detail()
		err     string
	}{
		{name: "correct", fn: fn, line: line(4, right, sent), verdict: ABICorrect, detail: "4 slots"},
		{name: "padding bytes do not count",
			fn:      ABIFunc{Name: "g", InBTF: true, Sizes: []int{1, 8}},
			line:    fmt.Sprintf("ok hits=1 cnt=2 mask=3 slots=%s exit=1/3 base=%s/%s got=%s/%s", slots(slotOf(0, 1, 0, 0xff), slotOf(1, 8, 0, 0)), argHex(0, 1), argHex(1, 8), argHex(0, 1), argHex(1, 8)),
			verdict: ABICorrect},
		{name: "one slot short", fn: fn, line: line(3, right, sent), verdict: ABIMisread,
			detail: "arg 2 (8 bytes, slots 3): want 3031323334353637, read -"},
		{name: "shifted by a register", fn: fn,
			line:    line(4, slots(slotOf(0, 8, 0, 0), "ffff8000804639e0", slotOf(1, 16, 0, 0), slotOf(1, 16, 1, 0)), sent),
			verdict: ABIMisread, detail: "arg 1 (16 bytes, slots 1-2): want 202122232425262728292a2b2c2d2e2f, read e03946800080ffff 2021222324252627; arg 2 (8 bytes, slots 3): want 3031323334353637, read 28292a2b2c2d2e2f"},
		{name: "clobbered", fn: fn, line: line(4, right, strings.Join([]string{argHex(0, 8), argHex(1, 16), "0000000000000000"}, "/")),
			verdict: ABIMisread, detail: "the traced function received arg 2 as 0000000000000000, not 3031323334353637"},
		{name: "refused", fn: fn, line: "refused load TraceFEntry: too many args", verdict: ABIRefused, detail: "too many args"},
		{name: "absent", fn: ABIFunc{Name: "h"}, line: "refused load TraceFEntry: fentry h not supported", verdict: ABIAbsent},
		{name: "attached without BTF", fn: ABIFunc{Name: "h"}, line: line(4, right, sent), err: "has no FUNC"},
		{name: "probe error", fn: fn, line: "error untraced call: no such file", err: "error untraced call"},
		{name: "module sent other bytes", fn: fn, line: strings.Replace(line(4, right, sent), "base="+argHex(0, 8), "base=0011223344556677", 1), err: "untraced, argument 0"},
		{name: "program did not run", fn: fn, line: strings.Replace(line(4, right, sent), "hits=1", "hits=0", 1), err: "ran 0 times"},
		{name: "missing field", fn: fn, line: "ok hits=1 cnt=4", err: "no mask="},
		{name: "bad slot", fn: fn, line: line(4, "12,-", sent), err: "not 16 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := JudgeABI(tt.fn, tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s (%s)", res.Verdict, tt.verdict, res.Detail())
			}
			if !strings.Contains(res.Detail(), tt.detail) {
				t.Errorf("detail %q, want one containing %q", res.Detail(), tt.detail)
			}
		})
	}
}
