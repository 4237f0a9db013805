package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// marker starts every line the host parses.
const marker = "PROBE"

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var modules listFlag
	flag.Var(&modules, "btf", "report whether /sys/kernel/btf/`MODULE` exists (repeatable)")
	fentryList := flag.String("fentry-list", "", "also try fentry on the targets in `FILE`, one a line")
	goneList := flag.String("gone-list", "", "check that the targets in `FILE` are gone from their BTF")
	abiList := flag.String("abi-list", "", "run the ABI probe on the abiprobe functions in `FILE`")
	flag.BoolVar(&keepLinks, "keep", false, "keep every link attached and power off from the probe (see keepLinks)")
	goneNoAttach := flag.Bool("gone-no-attach", false, "with -gone-list, only look the targets up in BTF (a kernel without fentry)")
	kfuncCall := flag.String("kfunc-call", "", "load the syscall programs of the BPF object `FILE` (kfunc calls) and run each once")
	forceInsmod := flag.String("force-insmod", "", "load the module `FILE` as modprobe --force does, report it under the name given as argument, and exit")
	flag.Parse()
	if *forceInsmod != "" {
		insmodForce(*forceInsmod, flag.Arg(0))
		return
	}

	for _, m := range modules {
		report("btf", m, btfPresent(m))
	}

	if err := rlimit.RemoveMemlock(); err != nil {
		// Kernels >= 5.11 account BPF memory to the cgroup and need no
		// rlimit change; go on and let the loads themselves fail if needed.
		fmt.Printf("%s note rlimit %s\n", marker, oneLine(err.Error()))
	}
	phase("start")
	cache := btf.NewCache()
	// The ABI probe first: with -keep, the links of the other phases stay,
	// and fentry alone on a misread function already hands it clobbered
	// arguments (arm64).
	if *abiList != "" {
		if err := probeABI(*abiList, cache); err != nil {
			fmt.Printf("%s note abi-list %s\n", marker, oneLine(err.Error()))
		}
	}
	phase("abi")
	if *kfuncCall != "" {
		if err := callKfuncs(*kfuncCall, cache); err != nil {
			fmt.Printf("%s note kfunc-call %s\n", marker, oneLine(err.Error()))
		}
	}
	targets := flag.Args()
	if *fentryList != "" {
		more, err := readList(*fentryList)
		if err != nil {
			fmt.Printf("%s note fentry-list %s\n", marker, oneLine(err.Error()))
		}
		targets = append(targets, more...)
	}
	for _, target := range targets {
		if err := attach(target, cache); err != nil {
			report("fentry", target, "err "+oneLine(err.Error()))
		} else {
			report("fentry", target, "ok")
		}
	}
	phase("fentry")
	if *goneList != "" {
		if err := probeGone(*goneList, cache, *goneNoAttach); err != nil {
			fmt.Printf("%s note gone-list %s\n", marker, oneLine(err.Error()))
		}
	}
	phase("gone")

	lines, err := btfLogLines()
	if err != nil {
		fmt.Printf("%s note kmsg %s\n", marker, oneLine(err.Error()))
	}
	fmt.Printf("%s dmesg-btf-errors %d\n", marker, len(lines))
	for _, l := range lines {
		fmt.Printf("%s dmesg %s\n", marker, l)
	}
	fmt.Printf("%s done\n", marker)
	if keepLinks {
		powerOff()
	}
}

// keepLinks (-keep) leaves every program the probe attaches attached, and
// the probe powers the machine off itself instead of exiting: under TCG,
// detaching a trampoline costs as much as attaching one or more (on arm64
// twice as much), and exiting would detach them all.
var keepLinks bool

// kept holds the links of -keep, so that they stay open.
var kept []link.Link

// powerOff prints the kernel log, as /init would after the probe, then
// powers off without closing the probe's links.
func powerOff() {
	fmt.Printf("%s dmesg-begin\n", marker)
	cmd := exec.Command("/bin/dmesg")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Printf("%s note dmesg %s\n", marker, oneLine(err.Error()))
	}
	fmt.Printf("%s end\n", marker)
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("%s note poweroff %s\n", marker, oneLine(err.Error()))
	}
}

// phase notes the system's uptime at the end of a phase, for the host's
// timing.
func phase(name string) {
	up, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(up))
	if len(f) > 0 {
		fmt.Printf("%s note phase %s %s\n", marker, name, f[0])
	}
}

// report prints one result line.
func report(kind, name, result string) {
	fmt.Printf("%s %s %s %s\n", marker, kind, name, result)
}

// btfPresent says whether the kernel accepted the BTF of module m.
func btfPresent(m string) string {
	if _, err := os.Stat("/sys/kernel/btf/" + m); err == nil {
		return "yes"
	}
	return "no"
}

// attach loads a program that returns 0 as fentry on target and attaches it,
// then detaches it again. The program does nothing; the load and attach are
// what the kernel checks against the target's BTF.
func attach(target string, cache *btf.Cache) error {
	fn := target
	if mod, name, ok := strings.Cut(target, ":"); ok {
		fn = name
		if err := checkResolution(mod, name, cache); err != nil {
			return err
		}
	} else if err := inVmlinux(fn, cache); err != nil {
		// Try to attach all the same: the kernel has the last word.
		if aerr := load(fn, cache); aerr != nil {
			return fmt.Errorf("%w; %w", err, aerr)
		}
		return fmt.Errorf("%w, yet fentry attached", err)
	}
	return load(fn, cache)
}

// inVmlinux checks that fn is a FUNC of the running kernel's BTF.
func inVmlinux(fn string, cache *btf.Cache) error {
	kernel, err := cache.Kernel()
	if err != nil {
		return fmt.Errorf("load vmlinux BTF: %w", err)
	}
	var f *btf.Func
	if err := kernel.TypeByName(fn, &f); err != nil {
		return fmt.Errorf("not found: no FUNC %s in vmlinux BTF (%w)", fn, err)
	}
	return nil
}

// load loads the fentry program for fn and attaches it.
func load(fn string, cache *btf.Cache) error {
	prog, err := newTracing(&ebpf.ProgramSpec{
		Name:       "probe_fentry",
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceFEntry,
		AttachTo:   fn,
		License:    "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	}, cache)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceFEntry})
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	if keepLinks {
		kept = append(kept, l)
		return nil
	}
	return l.Close()
}

// newTracing loads one tracing program, resolving its target by name with
// cache: ebpf.NewProgram would decode the kernel's and every module's BTF
// again for each program.
func newTracing(spec *ebpf.ProgramSpec, cache *btf.Cache) (*ebpf.Program, error) {
	coll, err := ebpf.NewCollectionWithOptions(&ebpf.CollectionSpec{
		Programs: map[string]*ebpf.ProgramSpec{spec.Name: spec},
	}, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return nil, err
	}
	prog := coll.DetachProgram(spec.Name)
	coll.Close()
	return prog, nil
}

// callKfuncs loads every program of the BPF ELF object at path, which
// calls kfuncs (found by name in vmlinux or module BTF as cilium/ebpf
// resolves them), runs each once with BPF_PROG_TEST_RUN and reports its
// return value, or why the load or run failed.
func callKfuncs(path string, cache *btf.Cache) error {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(spec.Programs))
	for _, name := range names {
		coll, err := ebpf.NewCollectionWithOptions(&ebpf.CollectionSpec{
			Programs: map[string]*ebpf.ProgramSpec{name: spec.Programs[name]},
		}, ebpf.CollectionOptions{Cache: cache})
		if err != nil {
			report("kfunc", name, "err load: "+oneLine(err.Error()))
			continue
		}
		ret, err := coll.Programs[name].Run(&ebpf.RunOptions{})
		coll.Close()
		if err != nil {
			report("kfunc", name, "err run: "+oneLine(err.Error()))
			continue
		}
		report("kfunc", name, fmt.Sprintf("ok %d", ret))
	}
	return nil
}

// checkResolution makes sure that resolving fn by name, the way cilium/ebpf
// does it, lands in module mod: fn must be a FUNC in mod's BTF and in no BTF
// object searched before it.
func checkResolution(mod, fn string, cache *btf.Cache) error {
	var f *btf.Func
	kernel, err := cache.Kernel()
	if err != nil {
		return fmt.Errorf("load vmlinux BTF: %w", err)
	}
	if kernel.TypeByName(fn, &f) == nil {
		return fmt.Errorf("%s is also a FUNC in vmlinux BTF, attach by name would not reach module %s", fn, mod)
	}
	it := new(btf.HandleIterator)
	defer it.Handle.Close()
	for it.Next() {
		info, err := it.Handle.Info()
		if err != nil {
			return fmt.Errorf("BTF object %d: %w", it.ID, err)
		}
		if !info.IsModule() {
			continue
		}
		spec, err := cache.Module(info.Name)
		if err != nil {
			return fmt.Errorf("BTF of module %s: %w", info.Name, err)
		}
		err = spec.TypeByName(fn, &f)
		if errors.Is(err, btf.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("look up %s in module %s: %w", fn, info.Name, err)
		}
		if info.Name != mod {
			return fmt.Errorf("%s is first found in module %s, not %s", fn, info.Name, mod)
		}
		return nil
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterate BTF objects: %w", err)
	}
	return fmt.Errorf("no FUNC %s in the BTF of module %s (module BTF loaded: %s)", fn, mod, btfPresent(mod))
}

// btfLogLines reads the kernel log from /dev/kmsg without blocking and
// returns the messages that mention BTF or a module that failed validation.
func btfLogLines() ([]string, error) {
	// syscall, not os: an O_NONBLOCK os.File may be handed to the runtime
	// poller, which would wait for new records instead of returning EAGAIN.
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var lines []string
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EPIPE {
			// Records were overwritten before we read them; the next read
			// continues with the oldest one still present.
			continue
		}
		if err == syscall.EAGAIN || n == 0 {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		if msg, ok := kmsgText(buf[:n]); ok && mentionsBTF(msg) {
			lines = append(lines, msg)
		}
	}
}

// kmsgText extracts the message of one /dev/kmsg record:
// "prio,seq,usec,flags[,...];message\n" followed by " KEY=value" lines.
func kmsgText(rec []byte) (string, bool) {
	s := string(rec)
	_, msg, ok := strings.Cut(s, ";")
	if !ok {
		return "", false
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return msg, true
}

// mentionsBTF selects the log lines the host collects as BTF errors.
func mentionsBTF(msg string) bool {
	l := strings.ToLower(msg)
	return strings.Contains(l, "btf") || strings.Contains(l, "failed to validate module")
}

// oneLine keeps a multi-line error (a verifier log) on one output line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// insmodForce loads the module file as modprobe --force does: finit_module
// with MODULE_INIT_IGNORE_MODVERSIONS and MODULE_INIT_IGNORE_VERMAGIC, and
// reports it as the init script's insmod does.
func insmodForce(path, name string) {
	const ignoreModversions, ignoreVermagic = 1, 2 // include/uapi/linux/module.h
	f, err := os.Open(path)
	if err == nil {
		err = unix.FinitModule(int(f.Fd()), "", ignoreModversions|ignoreVermagic)
		f.Close()
	}
	if err != nil {
		report("insmod", name, "err "+oneLine(err.Error()))
		return
	}
	report("insmod", name, "ok")
}
