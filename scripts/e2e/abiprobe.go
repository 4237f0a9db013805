package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// The host side of the ABI probe (testdata/abiprobe, probeABI in
// scripts/e2e/probe): what the trampoline should show for each probe
// function, and the verdict on what it did show.

// abiByte is byte k of argument i as the abiprobe module fills it.
func abiByte(i, k int) byte { return byte((i+1)<<4 | k) }

// ABIFunc is a probe function of an abiprobe module.
type ABIFunc struct {
	Name string
	// InBTF is false when the module's BTF has no FUNC of that name
	// (pahole left it out): nothing can attach to it.
	InBTF bool
	// Sizes are the BTF sizes of the parameters (0 for a variadic tail).
	Sizes []int
}

// BuildABIProbe builds testdata/abiprobe for the kernel tag with
// scripts/build-abiprobe.sh (cached) and returns the module's path.
func BuildABIProbe(ctx context.Context, tag string) (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("e2e: cannot locate the repository")
	}
	script := filepath.Join(filepath.Dir(self), "..", "build-abiprobe.sh")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, tag)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("e2e: %s %s: %w\n%s", script, tag, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// ABIFuncs lists the probe functions of an abiprobe module: its function
// symbols named abp_*, sorted, with their BTF parameter sizes. The module's
// BTF extends its distilled base (.BTF.base) when it has one, else vmlinux.
func ABIFuncs(path string, vmlinux *btf.Spec) ([]ABIFunc, error) {
	ko, err := readModule(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: symbol table: %w", path, err)
	}
	var names []string
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF && strings.HasPrefix(s.Name, "abp_") {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	spec, err := moduleSpec(path, f, vmlinux)
	if err != nil {
		return nil, err
	}
	out := make([]ABIFunc, 0, len(names))
	for _, n := range names {
		fn := ABIFunc{Name: n}
		var bf *btf.Func
		switch err := spec.TypeByName(n, &bf); {
		case errors.Is(err, btf.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("%s: FUNC %s: %w", path, n, err)
		default:
			proto, ok := bf.Type.(*btf.FuncProto)
			if !ok {
				return nil, fmt.Errorf("%s: FUNC %s has no FUNC_PROTO", path, n)
			}
			fn.InBTF = true
			for _, p := range proto.Params {
				size := 0
				if _, void := p.Type.(*btf.Void); !void {
					if size, err = btf.Sizeof(p.Type); err != nil {
						return nil, fmt.Errorf("%s: FUNC %s parameter %s: %w", path, n, p.Name, err)
					}
				}
				fn.Sizes = append(fn.Sizes, size)
			}
		}
		out = append(out, fn)
	}
	return out, nil
}

// moduleBTF decodes the BTF of a module file (split on its distilled base,
// or on base).
func moduleBTF(path string, base *btf.Spec) (*btf.Spec, error) {
	ko, err := readModule(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return moduleSpec(path, f, base)
}

// moduleSpec decodes the module's own BTF.
func moduleSpec(path string, f *elf.File, vmlinux *btf.Spec) (*btf.Spec, error) {
	base := vmlinux
	if sec := f.Section(".BTF.base"); sec != nil {
		raw, err := sec.Data()
		if err != nil {
			return nil, fmt.Errorf("%s: .BTF.base: %w", path, err)
		}
		if base, err = btf.LoadSpecFromReader(bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("%s: .BTF.base: %w", path, err)
		}
	}
	sec := f.Section(".BTF")
	if sec == nil {
		return nil, fmt.Errorf("%s: no .BTF section", path)
	}
	raw, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: .BTF: %w", path, err)
	}
	spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), base)
	if err != nil {
		return nil, fmt.Errorf("%s: .BTF: %w", path, err)
	}
	return spec, nil
}

// The verdicts on one probe function.
const (
	ABICorrect = "correct" // every argument in the slots BTF sizes put it, the function got what was sent
	ABIMisread = "misread" // some argument elsewhere, or the traced function got clobbered arguments
	ABIRefused = "refused" // the kernel refused to attach
	ABIAbsent  = "absent"  // not in the module's BTF: nothing can attach
)

// ABIResult is the verdict on one probe function on one kernel.
type ABIResult struct {
	Name    string
	Verdict string
	// Slots is bpf_get_func_arg_cnt, -1 when nothing attached.
	Slots int
	// Misread lists the arguments not found where their BTF sizes put
	// them; Clobbered those the traced function received other than sent.
	Misread, Clobbered []string
	// Refusal is the kernel's (or the loader's) answer when refused.
	Refusal string
}

// Detail is one line on the result: the refusal, or the misread and
// clobbered arguments.
func (r ABIResult) Detail() string {
	switch {
	case r.Verdict == ABIRefused || r.Verdict == ABIAbsent:
		return r.Refusal
	case r.Verdict == ABICorrect:
		return fmt.Sprintf("%d slots", r.Slots)
	}
	var parts []string
	if len(r.Misread) > 0 {
		parts = append(parts, "misread "+strings.Join(r.Misread, "; "))
	}
	if len(r.Clobbered) > 0 {
		parts = append(parts, "the traced function received "+strings.Join(r.Clobbered, "; "))
	}
	return strings.Join(parts, "; ")
}

// JudgeABI turns the guest's line on fn (the text after "PROBE abi NAME ")
// into a verdict. The BTF-only expectation: argument i starts at slot
// sum(ceil(size_j/8), j < i) and its bytes fill its slots in order (only
// the argument's own bytes count, not the padding of its last slot). An
// error is a broken harness (an unparsable line, a call the module did not
// record as sent, a program that never ran), never a verdict.
func JudgeABI(fn ABIFunc, line string) (ABIResult, error) {
	res := ABIResult{Name: fn.Name, Slots: -1}
	status, rest, _ := strings.Cut(line, " ")
	switch status {
	case "refused":
		res.Verdict, res.Refusal = ABIRefused, rest
		if !fn.InBTF {
			res.Verdict = ABIAbsent
		}
		return res, nil
	case "ok":
	default:
		return res, fmt.Errorf("%s: %s", fn.Name, line)
	}
	if !fn.InBTF {
		return res, fmt.Errorf("%s: attached although the module's BTF has no FUNC of that name: %s", fn.Name, line)
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return res, fmt.Errorf("%s: field %q is not key=value", fn.Name, f)
		}
		kv[k] = v
	}
	for _, k := range []string{"hits", "cnt", "mask", "slots", "base", "got"} {
		if _, ok := kv[k]; !ok {
			return res, fmt.Errorf("%s: no %s= in %q", fn.Name, k, line)
		}
	}
	if kv["hits"] != "1" {
		return res, fmt.Errorf("%s: the fentry program ran %s times for one call", fn.Name, kv["hits"])
	}
	cnt, err := strconv.Atoi(kv["cnt"])
	if err != nil {
		return res, fmt.Errorf("%s: cnt: %w", fn.Name, err)
	}
	res.Slots = cnt
	slots, err := parseSlots(kv["slots"])
	if err != nil {
		return res, fmt.Errorf("%s: %w", fn.Name, err)
	}
	base, err := parseArgs(kv["base"])
	if err != nil {
		return res, fmt.Errorf("%s: base: %w", fn.Name, err)
	}
	got, err := parseArgs(kv["got"])
	if err != nil {
		return res, fmt.Errorf("%s: got: %w", fn.Name, err)
	}
	sent := make([][]byte, len(base))
	for i := range base {
		sent[i] = make([]byte, len(base[i]))
		for k := range sent[i] {
			sent[i][k] = abiByte(i, k)
		}
		if !bytes.Equal(base[i], sent[i]) {
			return res, fmt.Errorf("%s: untraced, argument %d arrived as %x, not %x: the module or its compiler is not what the probe assumes", fn.Name, i, base[i], sent[i])
		}
	}
	for i := range got {
		if i < len(sent) && !bytes.Equal(got[i], sent[i]) {
			res.Clobbered = append(res.Clobbered, fmt.Sprintf("arg %d as %x, not %x", i, got[i], sent[i]))
		}
	}
	first := 0
	for i, size := range fn.Sizes {
		n := (size + 7) / 8
		if size == 0 {
			continue
		}
		want := make([]byte, size)
		read := make([]string, n)
		ok := true
		for s := 0; s < n; s++ {
			idx := first + s
			var have []byte
			if idx < len(slots) && idx < cnt && slots[idx] != nil {
				have = slots[idx]
				read[s] = hex.EncodeToString(have)
			} else {
				read[s] = "-"
			}
			for k := 8 * s; k < min(size, 8*s+8); k++ {
				want[k] = abiByte(i, k)
				if have == nil || have[k-8*s] != want[k] {
					ok = false
				}
			}
		}
		if !ok {
			res.Misread = append(res.Misread, fmt.Sprintf("arg %d (%d bytes, slots %s): want %x, read %s",
				i, size, slotRange(first, n), want, strings.Join(read, " ")))
		}
		first += n
	}
	res.Verdict = ABICorrect
	if len(res.Misread) > 0 || len(res.Clobbered) > 0 {
		res.Verdict = ABIMisread
	}
	return res, nil
}

func slotRange(first, n int) string {
	if n == 1 {
		return strconv.Itoa(first)
	}
	return fmt.Sprintf("%d-%d", first, first+n-1)
}

// parseSlots decodes "HEX16,-,..." into the slots' bytes in memory order
// (little-endian u64s); nil for a slot the program could not read.
func parseSlots(s string) ([][]byte, error) {
	var out [][]byte
	for _, f := range strings.Split(s, ",") {
		if f == "-" {
			out = append(out, nil)
			continue
		}
		v, err := strconv.ParseUint(f, 16, 64)
		if err != nil || len(f) != 16 {
			return nil, fmt.Errorf("slot %q is not 16 hex digits", f)
		}
		out = append(out, binary.LittleEndian.AppendUint64(nil, v))
	}
	return out, nil
}

// parseArgs decodes "HEX/HEX/..." (memory order).
func parseArgs(s string) ([][]byte, error) {
	var out [][]byte
	for _, f := range strings.Split(s, "/") {
		b, err := hex.DecodeString(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
