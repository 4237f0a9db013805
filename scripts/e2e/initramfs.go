package e2e

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// applets are the busybox commands /init uses; each gets a /bin symlink.
var applets = []string{"sh", "mount", "insmod", "dmesg", "uname", "cat", "poweroff", "reboot"}

// safeWord is what module and function names may contain: they are pasted
// into the /init shell script.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// safeArg is what an extra probe argument may contain (flags, file paths).
var safeArg = regexp.MustCompile(`^[A-Za-z0-9_.:/=-]+$`)

// guestModule is a module as /init sees it.
type guestModule struct {
	name string // kernel module name
	path string // inside the initramfs
	data []byte // uncompressed .ko
	// force: loaded by the probe past the release checks (Boot.Force).
	force bool
}

// initScript returns /init: mount the pseudo file systems, quiet the
// console, insmod every module and print the result, run the probe, dump the
// kernel log between markers, power off (or, with reboot, reset: QEMU runs
// with -no-reboot, so either ends it). Kernel messages are kept off the
// console while the probe prints (printk level 1) so that they cannot split
// a PROBE line; the full log is printed afterwards from dmesg.
func initScript(mods []guestModule, btfNames, fentry, probeArgs []string, reboot bool) string {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk
echo "PROBE boot $(uname -r)"
ins() {
	if out=$(insmod "$2" 2>&1); then
		echo "PROBE insmod $1 ok"
	else
		echo "PROBE insmod $1 err" $out
	fi
}
`)
	for _, m := range mods {
		if m.force {
			fmt.Fprintf(&b, "/probe -force-insmod %s -- %s\n", m.path, m.name)
			continue
		}
		fmt.Fprintf(&b, "ins %s %s\n", m.name, m.path)
	}
	b.WriteString("/probe")
	for _, n := range btfNames {
		fmt.Fprintf(&b, " -btf %s", n)
	}
	for _, a := range probeArgs {
		fmt.Fprintf(&b, " %s", a)
	}
	b.WriteString(" --")
	for _, f := range fentry {
		fmt.Fprintf(&b, " %s", f)
	}
	b.WriteString(`
echo "PROBE dmesg-begin"
dmesg
echo "PROBE end"
`)
	if reboot {
		b.WriteString("reboot -f\n")
	} else {
		b.WriteString("poweroff -f\nreboot -f\n")
	}
	return b.String()
}

// writeInitramfs writes the cpio archive to path.
func writeInitramfs(path string, busybox, probe []byte, mods []guestModule, fentry, probeArgs []string, files map[string][]byte, reboot bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c := newCpioWriter(f)
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "modules"} {
		c.Dir(d)
	}
	// The kernel opens /dev/console for init's stdio before /init can mount
	// devtmpfs, so the node must be in the archive.
	c.CharDev("dev/console", 5, 1)
	c.File("bin/busybox", busybox, 0o755)
	for _, a := range applets {
		c.Symlink("bin/"+a, "busybox")
	}
	c.File("probe", probe, 0o755)
	var names []string
	for _, m := range mods {
		c.File(strings.TrimPrefix(m.path, "/"), m.data, 0o644)
		names = append(names, m.name)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		c.File(name, files[name], 0o644)
	}
	c.File("init", []byte(initScript(mods, names, fentry, probeArgs, reboot)), 0o755)
	if err := c.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
