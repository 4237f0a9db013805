package dwarf

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// Open maps the ELF file at path read-only and scans it. The mapping is
// released once the Data is unreachable (TypeName reads the sections
// again). Compressed whole files (.ko.xz and the like) are for elfio.Open
// followed by Scan.
func Open(path string, opt Options) (*Data, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dwarf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("dwarf: %w", err)
	}
	size := st.Size()
	if size <= 0 || size != int64(int(size)) {
		return nil, fmt.Errorf("dwarf: %s: empty or too large (%d bytes)", path, size)
	}
	m, err := syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("dwarf: %s: mmap: %w", path, err)
	}
	f, err := elf.NewFile(bytes.NewReader(m))
	if err != nil {
		syscall.Munmap(m)
		return nil, fmt.Errorf("dwarf: %s: %w", path, err)
	}
	d, err := Scan(f, m, opt)
	if err != nil {
		syscall.Munmap(m)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	runtime.AddCleanup(d, func(m []byte) { syscall.Munmap(m) }, m)
	return d, nil
}
