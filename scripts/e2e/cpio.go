package e2e

import (
	"bufio"
	"fmt"
	"io"
)

// cpioWriter writes a cpio archive in the "new ASCII" (newc) format the
// kernel unpacks as initramfs (Documentation/driver-api/early-userspace/
// buffer-format.rst): per entry a 110-byte header "070701" plus 13
// eight-digit hex fields, the NUL-terminated name padded to 4 bytes, the
// data padded to 4 bytes; the archive ends with the entry "TRAILER!!!".
// Entries are written in call order; the kernel needs a directory before
// the entries inside it.
type cpioWriter struct {
	w   *bufio.Writer
	ino uint32
	err error
}

// File mode bits of the entries (stat.h).
const (
	modeDir  = 0o040000
	modeReg  = 0o100000
	modeLink = 0o120000
	modeChr  = 0o020000
)

func newCpioWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriter(w)}
}

// entry writes one header, name and data. rdev is (major, minor) for
// device nodes.
func (c *cpioWriter) entry(name string, mode uint32, data []byte, rdevMajor, rdevMinor uint32) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	fields := []uint32{
		c.ino, mode, 0, 0, nlink, 0, uint32(len(data)),
		0, 0, rdevMajor, rdevMinor, uint32(len(name) + 1), 0,
	}
	hdr := "070701"
	for _, f := range fields {
		hdr += fmt.Sprintf("%08x", f)
	}
	c.write([]byte(hdr))
	c.write([]byte(name))
	c.write([]byte{0})
	c.pad(len(hdr) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

// pad writes the NULs that bring n up to a multiple of 4.
func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) Dir(name string) { c.entry(name, modeDir|0o755, nil, 0, 0) }
func (c *cpioWriter) File(name string, data []byte, perm uint32) {
	c.entry(name, modeReg|perm, data, 0, 0)
}
func (c *cpioWriter) Symlink(name, target string) {
	c.entry(name, modeLink|0o777, []byte(target), 0, 0)
}
func (c *cpioWriter) CharDev(name string, major, minor uint32) {
	c.entry(name, modeChr|0o600, nil, major, minor)
}

// Close writes the trailer and flushes; it reports the first write error.
func (c *cpioWriter) Close() error {
	c.entry("TRAILER!!!", 0, nil, 0, 0)
	if c.err != nil {
		return c.err
	}
	return c.w.Flush()
}
