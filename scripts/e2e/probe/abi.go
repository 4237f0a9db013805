package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// The ABI probe: for each function of the abiprobe module
// (testdata/abiprobe), call it once untraced, then attach an fentry and an
// fexit program that record every argument slot bpf_get_func_arg gives
// them, call it again, and print what the programs saw and what the
// function itself received, both times.

// abiProc is the file the abiprobe module creates: writing a function's
// name calls it; reading gives what the function received.
const abiProc = "/proc/abiprobe"

// maxSlots is how many argument slots the programs ask for: 12 arguments
// of up to 16 bytes.
const maxSlots = 24

// Record layout in the map value: hits, bpf_get_func_arg_cnt, the mask of
// slots bpf_get_func_arg returned 0 for, then the slots.
const (
	offHits  = 0
	offCnt   = 8
	offMask  = 16
	offSlots = 24
	valueLen = offSlots + 8*maxSlots
)

// abiKeys are the map entries of the two programs.
const (
	keyFentry = 0
	keyFexit  = 1
)

// probeABI runs the ABI probe on every function named in list (one a line)
// and prints one line per function:
//
//	PROBE abi NAME ok cnt=N mask=HEX slots=S,S,... exit=N/HEX base=A/A/... got=A/A/...
//	PROBE abi NAME refused TEXT
//	PROBE abi NAME error TEXT
//
// S is a slot as 16 hex digits (the u64 the program read), or - when
// bpf_get_func_arg refused it; exit is the fexit program's count and mask;
// base and got are the arguments the function received untraced and traced
// (hex, memory order, as /proc/abiprobe prints them).
func probeABI(list string, cache *btf.Cache) error {
	names, err := readList(list)
	if err != nil {
		return err
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "abiprobe_slots",
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  valueLen,
		MaxEntries: 2,
	})
	if err != nil {
		return fmt.Errorf("abi map: %w", err)
	}
	defer m.Close()
	for _, name := range names {
		fmt.Printf("%s abi-start %s\n", marker, name)
		fmt.Printf("%s abi %s %s\n", marker, name, probeOne(m, name, cache))
	}
	return nil
}

// probeOne probes one function and returns the rest of its line.
func probeOne(m *ebpf.Map, name string, cache *btf.Cache) string {
	base, err := callProbe(name)
	if err != nil {
		return "error untraced call: " + oneLine(err.Error())
	}
	zero := make([]byte, valueLen)
	for _, k := range []uint32{keyFentry, keyFexit} {
		if err := m.Put(k, zero); err != nil {
			return "error clear map: " + oneLine(err.Error())
		}
	}
	var links []link.Link
	defer func() {
		if keepLinks {
			kept = append(kept, links...)
			return
		}
		for _, l := range links {
			l.Close()
		}
	}()
	for _, at := range []struct {
		typ ebpf.AttachType
		key uint32
	}{{ebpf.AttachTraceFEntry, keyFentry}, {ebpf.AttachTraceFExit, keyFexit}} {
		prog, err := newTracing(&ebpf.ProgramSpec{
			Name:         "abiprobe",
			Type:         ebpf.Tracing,
			AttachType:   at.typ,
			AttachTo:     name,
			License:      "GPL",
			Instructions: slotProgram(m.FD(), at.key),
		}, cache)
		if err != nil {
			return "refused load " + at.typ.String() + ": " + oneLine(err.Error())
		}
		l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: at.typ})
		prog.Close() // the link holds it
		if err != nil {
			return "refused attach " + at.typ.String() + ": " + oneLine(err.Error())
		}
		links = append(links, l)
	}
	got, err := callProbe(name)
	if err != nil {
		return "error traced call: " + oneLine(err.Error())
	}
	var entry, exit []byte
	if err := m.Lookup(uint32(keyFentry), &entry); err != nil {
		return "error read map: " + oneLine(err.Error())
	}
	if err := m.Lookup(uint32(keyFexit), &exit); err != nil {
		return "error read map: " + oneLine(err.Error())
	}
	le := binary.LittleEndian
	var b strings.Builder
	fmt.Fprintf(&b, "ok hits=%d cnt=%d mask=%x slots=", le.Uint64(entry[offHits:]), le.Uint64(entry[offCnt:]), le.Uint64(entry[offMask:]))
	mask := le.Uint64(entry[offMask:])
	for n := 0; n < maxSlots; n++ {
		if n > 0 {
			b.WriteByte(',')
		}
		if mask&(1<<n) == 0 {
			b.WriteByte('-')
			continue
		}
		fmt.Fprintf(&b, "%016x", le.Uint64(entry[offSlots+8*n:]))
	}
	fmt.Fprintf(&b, " exit=%d/%x base=%s got=%s", le.Uint64(exit[offHits:]), le.Uint64(exit[offMask:]), base, got)
	return b.String()
}

// slotProgram records, in entry key of the map, one more hit, the argument
// count and every slot bpf_get_func_arg returns, stopping at the first it
// refuses.
func slotProgram(mapFD int, key uint32) asm.Instructions {
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.StoreImm(asm.RFP, -4, int64(key), asm.Word),
		asm.LoadMapPtr(asm.R1, mapFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "exit"),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.LoadMem(asm.R1, asm.R7, offHits, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R7, offHits, asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnGetFuncArgCnt.Call(),
		asm.StoreMem(asm.R7, offCnt, asm.R0, asm.DWord),
	}
	for n := 0; n < maxSlots; n++ {
		insns = append(insns,
			// 6.1 wants the output slot initialized (ARG_PTR_TO_LONG).
			asm.Mov.Imm(asm.R1, 0),
			asm.StoreMem(asm.RFP, -16, asm.R1, asm.DWord),
			asm.Mov.Reg(asm.R1, asm.R6),
			asm.Mov.Imm(asm.R2, int32(n)),
			asm.Mov.Reg(asm.R3, asm.RFP),
			asm.Add.Imm(asm.R3, -16),
			asm.FnGetFuncArg.Call(),
			asm.JNE.Imm(asm.R0, 0, "exit"),
			asm.LoadMem(asm.R1, asm.RFP, -16, asm.DWord),
			asm.StoreMem(asm.R7, int16(offSlots+8*n), asm.R1, asm.DWord),
			asm.LoadMem(asm.R1, asm.R7, offMask, asm.DWord),
			asm.Or.Imm(asm.R1, int32(1)<<n),
			asm.StoreMem(asm.R7, offMask, asm.R1, asm.DWord),
		)
	}
	return append(insns,
		asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
		asm.Return(),
	)
}

// callProbe makes the abiprobe module call name and returns what the
// function received: its arguments as hex, joined by '/'.
func callProbe(name string) (string, error) {
	f, err := os.OpenFile(abiProc, os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(name); err != nil {
		f.Close()
		return "", fmt.Errorf("call %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	rec, err := os.ReadFile(abiProc)
	if err != nil {
		return "", err
	}
	var args []string
	sc := bufio.NewScanner(strings.NewReader(string(rec)))
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case first:
			first = false
			if len(f) != 2 || f[0] != "fn" || f[1] != name {
				return "", fmt.Errorf("%s names %q, want fn %s", abiProc, sc.Text(), name)
			}
		case len(f) == 4 && f[0] == "arg":
			args = append(args, f[3])
		default:
			return "", fmt.Errorf("%s: unexpected line %q", abiProc, sc.Text())
		}
	}
	if len(args) == 0 {
		return "", fmt.Errorf("%s: %s recorded no arguments", abiProc, name)
	}
	return strings.Join(args, "/"), nil
}

// readList returns the non-empty lines of a file.
func readList(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}
