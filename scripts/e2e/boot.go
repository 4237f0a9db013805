package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// Boot describes one QEMU run.
type Boot struct {
	Arch    string    // "amd64" | "arm64" | "riscv64" | "s390x"
	Vmlinux string    // unstripped vmlinux ELF (x86-64 boots it directly; arm64 and riscv64 converted to Image in WorkDir; s390x see Vmlinuz)
	Modules []string  // module files to insmod in this order (.ko, .ko.xz, .ko.zst, .ko.gz)
	Fentry  []string  // functions to try to attach fentry to ("func" or "module:func")
	WorkDir string    // scratch directory (initramfs, probe binary, arm64 Image); one per concurrent Run
	Log     io.Writer // console output copy (may be nil)

	// Force names modules (by module name) that the guest loads as
	// modprobe --force does, past the kernel's release and symbol version
	// checks: finit_module with MODULE_INIT_IGNORE_VERMAGIC and
	// MODULE_INIT_IGNORE_MODVERSIONS (busybox insmod has no such option).
	// The kernel honours it only with CONFIG_MODULE_FORCE_LOAD.
	Force []string

	// StripSignature removes the appended module signature before insmod.
	// The kernel rejects a module whose signature no longer matches its
	// bytes (EKEYREJECTED, "Key was rejected by service") even when
	// signatures are not enforced, while an unsigned module loads and only
	// taints the kernel. Leave it false to see what a user would see.
	StripSignature bool

	// Reboot ends the guest with reboot -f instead of poweroff -f. A
	// kernel without ACPI cannot power an x86 machine off (poweroff
	// halts, and QEMU would wait for ever); a reset ends QEMU, which runs
	// with -no-reboot.
	Reboot bool

	// Busybox is a static busybox for Arch; empty means
	// $BTFFILTER_CACHE/busybox/ARCH/busybox, placed there by scripts/setup.sh.
	Busybox string

	// Files are more files for the initramfs, by path inside it (no
	// leading slash), and ProbeArgs more arguments for the probe, such as
	// "-fentry-list", "/targets" (scripts/e2e/probe).
	Files     map[string][]byte
	ProbeArgs []string
	// MemoryMB is the guest's memory; 0 means 1024.
	MemoryMB int
	// Vmlinuz is the compressed boot image of Vmlinux's kernel, as its
	// image package ships it (kernels.Kernel.Vmlinuz). Only s390x needs it:
	// QEMU's s390x machine boots no vmlinux ELF, so Run puts Vmlinux's
	// .BTF and .BTF_ids into a copy of this image (s390xImage).
	Vmlinuz string
}

// Result is what the guest reported.
type Result struct {
	Release   string            // uname -r in the guest
	Fentry    map[string]string // target -> "ok" or the error text
	ModuleBTF map[string]bool   // module name -> /sys/kernel/btf/<name> exists
	Insmod    map[string]string // module name -> "ok" or insmod's error
	Gone      map[string]string // -gone-list target -> "absent|present|nobtf ok|TEXT"
	Kfunc     map[string]string // -kfunc-call program -> "ok RETVAL" or "err TEXT"
	ABI       map[string]string // -abi-list function -> the rest of its line
	ABIOrder  []string          // -abi-list functions in the order they started
	Notes     []string          // the probe's notes ("phase NAME UPTIME", ...)
	BTFErrors []string          // kernel log lines that mention BTF or module validation
	Console   string            // the whole serial console
	BootTime  time.Duration     // QEMU start until /init ran
	Total     time.Duration     // QEMU start until QEMU exited
}

// archConfig is how QEMU boots one architecture.
type archConfig struct {
	qemu    string
	machine []string
	console string
	cmdline string // more kernel parameters
}

var arches = map[string]archConfig{
	"amd64": {
		qemu:    "qemu-system-x86_64",
		machine: []string{"-cpu", "max"},
		console: "ttyS0",
		// The kernel checks at boot that the IO-APIC timer ticks within a
		// busy-wait; under TCG on a loaded host it may not, and the
		// kernel panics ("IO-APIC + timer doesn't work!"). KVM guests
		// skip the check; this one is told to.
		cmdline: " no_timer_check",
	},
	"arm64": {
		qemu: "qemu-system-aarch64",
		// pauth-impdef: QEMU's own pointer-authentication hash instead of
		// the architected QARMA, much cheaper under TCG.
		machine: []string{"-M", "virt", "-cpu", "max,pauth-impdef=on"},
		console: "ttyAMA0",
	},
	"riscv64": {
		qemu: "qemu-system-riscv64",
		// The virt machine's default firmware is OpenSBI (Debian's opensbi
		// package), which starts the kernel Image in S mode.
		machine: []string{"-M", "virt"},
		console: "ttyS0",
	},
	"s390x": {
		qemu:    "qemu-system-s390x",
		machine: []string{"-M", "s390-ccw-virtio"},
		console: "ttysclp0",
	},
}

// Run boots b.Vmlinux under QEMU with TCG, loads b.Modules, tries fentry on
// b.Fentry and returns what the guest reported. The context bounds the whole
// run (QEMU is killed when it ends). When the guest does not finish, Run
// returns the partial Result (with the console) together with the error.
func Run(ctx context.Context, b Boot) (*Result, error) {
	ac, ok := arches[b.Arch]
	if !ok {
		return nil, fmt.Errorf("e2e: unknown arch %q (want amd64, arm64, riscv64 or s390x)", b.Arch)
	}
	if b.WorkDir == "" {
		return nil, errors.New("e2e: WorkDir is empty")
	}
	if err := os.MkdirAll(b.WorkDir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range b.Fentry {
		if !safeWord.MatchString(f) {
			return nil, fmt.Errorf("e2e: fentry target %q: only letters, digits, _ . : - allowed", f)
		}
	}
	for _, a := range b.ProbeArgs {
		if !safeArg.MatchString(a) {
			return nil, fmt.Errorf("e2e: probe argument %q: only letters, digits, _ . : - / = allowed", a)
		}
	}
	if _, err := os.Stat(b.Vmlinux); err != nil {
		return nil, fmt.Errorf("e2e: vmlinux: %w", err)
	}
	mods, err := loadModules(b.Modules, b.StripSignature)
	if err != nil {
		return nil, err
	}
	for _, name := range b.Force {
		i := slices.IndexFunc(mods, func(m guestModule) bool { return m.name == name })
		if i < 0 {
			return nil, fmt.Errorf("e2e: forced module %s is not among the modules", name)
		}
		mods[i].force = true
	}
	busyboxPath := b.Busybox
	if busyboxPath == "" {
		busyboxPath = filepath.Join(kernels.Cache(), "busybox", b.Arch, "busybox")
	}
	busybox, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("e2e: busybox for %s: %w (run scripts/setup.sh)", b.Arch, err)
	}
	probePath, err := buildProbe(ctx, b.Arch, b.WorkDir)
	if err != nil {
		return nil, err
	}
	probe, err := os.ReadFile(probePath)
	if err != nil {
		return nil, err
	}
	initrd := filepath.Join(b.WorkDir, "initramfs-"+b.Arch+".cpio")
	if err := writeInitramfs(initrd, busybox, probe, mods, b.Fentry, b.ProbeArgs, b.Files, b.Reboot); err != nil {
		return nil, err
	}
	kernel := b.Vmlinux
	switch b.Arch {
	case "arm64":
		kernel, err = flatImage(ctx, "aarch64-linux-gnu-objcopy", "binutils-aarch64-linux-gnu", b.Vmlinux, b.WorkDir)
	case "riscv64":
		kernel, err = flatImage(ctx, "riscv64-linux-gnu-objcopy", "binutils-riscv64-linux-gnu", b.Vmlinux, b.WorkDir)
	case "s390x":
		kernel, err = s390xImage(ctx, b.Vmlinux, b.Vmlinuz, b.WorkDir)
	}
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"-accel", "tcg",
		"-m", fmt.Sprint(cmp.Or(b.MemoryMB, 1024)),
		"-smp", "1",
		"-kernel", kernel,
		"-initrd", initrd,
		"-append", "console=" + ac.console + " panic=-1 quiet" + ac.cmdline,
		"-no-reboot",
		"-nographic",
		"-monitor", "none",
	}, ac.machine...)
	return runQEMU(ctx, ac.qemu, args, b.Log)
}

// loadModules decompresses the module files, names them and, if asked,
// strips their signatures.
func loadModules(files []string, strip bool) ([]guestModule, error) {
	var mods []guestModule
	seen := map[string]string{}
	for i, p := range files {
		ko, err := readModule(p)
		if err != nil {
			return nil, fmt.Errorf("e2e: %w", err)
		}
		info, err := modinfo(p, ko)
		if err != nil {
			return nil, fmt.Errorf("e2e: %w", err)
		}
		name := info["name"]
		if name == "" {
			name = moduleNameFromFile(p)
		}
		if !safeWord.MatchString(name) {
			return nil, fmt.Errorf("e2e: %s: module name %q is not a plain word", p, name)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("e2e: %s and %s are both module %s", prev, p, name)
		}
		seen[name] = p
		if strip {
			if ko, _, err = stripSignature(p, ko); err != nil {
				return nil, fmt.Errorf("e2e: %w", err)
			}
		}
		mods = append(mods, guestModule{
			name: name,
			path: fmt.Sprintf("/modules/%02d-%s.ko", i, name),
			data: ko,
		})
	}
	return mods, nil
}

// buildProbe compiles scripts/e2e/probe as a static binary for arch. The
// source is found next to this file, so Run works from any directory of a
// source checkout.
func buildProbe(ctx context.Context, arch, workDir string) (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("e2e: cannot locate the probe source")
	}
	src := filepath.Join(filepath.Dir(self), "probe")
	out, err := filepath.Abs(filepath.Join(workDir, "probe-"+arch))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("e2e: build probe for %s: %w\n%s", arch, err, msg)
	}
	return out, nil
}

// flatImage converts an arm64 or riscv64 vmlinux ELF to the flat Image QEMU
// boots (its -kernel takes no ELF with these architectures' Linux boot
// protocols; the Image is the loadable segments, whose first bytes are the
// Image header). The result is kept in workDir under a name derived from
// the vmlinux path, size and modification time, so a changed vmlinux gets a
// fresh Image.
func flatImage(ctx context.Context, objcopy, pkg, vmlinux, workDir string) (string, error) {
	img, err := cachedName(vmlinux, workDir, "Image")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(img); err == nil {
		return img, nil
	}
	tmp := img + ".tmp"
	cmd := exec.CommandContext(ctx, objcopy, "-O", "binary", vmlinux, tmp)
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("e2e: objcopy %s to Image: %w\n%s (install %s: scripts/setup.sh)", vmlinux, err, msg, pkg)
	}
	return img, os.Rename(tmp, img)
}

// cachedName is the path in workDir of a file made from vmlinux: prefix and
// a hash of vmlinux's absolute path, size and modification time.
func cachedName(vmlinux, workDir, prefix string) (string, error) {
	st, err := os.Stat(vmlinux)
	if err != nil {
		return "", fmt.Errorf("e2e: %w", err)
	}
	abs, err := filepath.Abs(vmlinux)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano()))
	return filepath.Join(workDir, prefix+"-"+hex.EncodeToString(h[:8])), nil
}

// runQEMU runs QEMU with stdin from /dev/null, reads the console from its
// stdout line by line and parses the PROBE lines.
func runQEMU(ctx context.Context, qemu string, args []string, log io.Writer) (*Result, error) {
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.Stdin = nil // /dev/null: QEMU must never read a terminal
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// After a kill, do not wait forever for the pipe to drain.
	cmd.WaitDelay = time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("e2e: start %s: %w (install it: scripts/setup.sh)", qemu, err)
	}
	p := newParser()
	var console strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		l := sc.Text()
		console.WriteString(l)
		console.WriteByte('\n')
		if log != nil {
			fmt.Fprintln(log, l)
		}
		wasBooted := p.booted
		p.line(l)
		if !wasBooted && p.booted {
			p.res.BootTime = time.Since(start)
		}
	}
	scanErr := sc.Err()
	waitErr := cmd.Wait()
	p.res.Total = time.Since(start)
	p.res.Console = console.String()
	p.res.Release = p.release
	switch {
	case ctx.Err() != nil:
		return p.res, fmt.Errorf("e2e: %s: %w (after %v; last console lines:\n%s)", qemu, ctx.Err(), p.res.Total.Round(time.Millisecond), tail(p.res.Console, 15))
	case waitErr != nil:
		return p.res, fmt.Errorf("e2e: %s: %w: %s", qemu, waitErr, strings.TrimSpace(stderr.String()))
	case scanErr != nil:
		return p.res, fmt.Errorf("e2e: read console: %w", scanErr)
	}
	if err := p.check(); err != nil {
		return p.res, fmt.Errorf("e2e: %w; last console lines:\n%s", err, tail(p.res.Console, 15))
	}
	return p.res, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
