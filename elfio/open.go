package elfio

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Compression is how a file is compressed on disk.
type Compression int

// The compressions kbuild applies to modules (docs/facts.md §8).
const (
	None Compression = iota
	Gzip
	XZ
	Zstd
)

// String returns the lower-case name of c, as used in reports.
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case XZ:
		return "xz"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// Format is what the decompressed content of a file is.
type Format int

// The two formats btffilter reads.
const (
	// FormatRaw is a bare BTF blob, as in /sys/kernel/btf/vmlinux or pahole's
	// --btf_encode_detached output.
	FormatRaw Format = iota
	// FormatELF is an ELF object: a vmlinux or a kernel module.
	FormatELF
)

// String returns "raw" or "elf".
func (f Format) String() string {
	switch f {
	case FormatRaw:
		return "raw"
	case FormatELF:
		return "elf"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// File is an opened input: its decompressed bytes plus what they are. The
// fields are read-only for callers; Data is never modified by this package.
type File struct {
	Path        string
	Compression Compression
	Format      Format
	// Data is the decompressed content without any appended module signature.
	Data []byte
	// Signature is the appended module signature (PKCS#7 blob, struct
	// module_signature and the "~Module signature appended~\n" marker), nil if
	// the file carries none.
	Signature []byte
	// ELF is parsed from Data; nil for FormatRaw.
	ELF *elf.File

	// stat is the file as Open found it (nil for parsed bytes).
	stat os.FileInfo
	// mapped is the file's mapping when Data lies in one (Close unmaps
	// it), nil when Data is on the heap.
	mapped []byte
	// The symbol table, parsed on first use (Symbols) and kept until
	// ReleaseSymbols.
	symsMu   sync.Mutex
	symsRead bool
	syms     []elf.Symbol
	symsErr  error
}

// MaxDecompressedSize is the largest decompressed content Open accepts,
// for a whole file and for an SHF_COMPRESSED section. The largest real
// input, an unstripped vmlinux, is about 600 MB; anything past this limit
// is treated as a decompression bomb. A program may lower it before it
// opens files (tests do, to show the refusal without inflating gigabytes).
var MaxDecompressedSize int64 = 2 << 30

// Magic numbers that identify an input by its first bytes.
var (
	magicGzip = []byte{0x1f, 0x8b}
	magicXZ   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicELF  = []byte(elf.ELFMAG)
	// BTF's magic is the u16 0xeB9F in the blob's own byte order.
	magicBTFLE = []byte{0x9f, 0xeb}
	magicBTFBE = []byte{0xeb, 0x9f}
)

// mapThreshold is the size from which an uncompressed file is mapped
// rather than read: a vmlinux of several hundred megabytes then costs no
// heap (the garbage collector neither counts nor copies it), and only the
// pages read (its DWARF, its BTF) become resident.
const mapThreshold = 1 << 20

// Open reads path, decompresses it if it is gzip, xz or zstd, strips an
// appended module signature and parses the ELF. Every error starts with path.
// A large uncompressed file is mapped (privately: writes to Data do not
// reach the file) instead of read; Close unmaps it.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		// The error already names the path ("open PATH: ...").
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	raw, mapped, err := readOrMap(fh, st)
	if err != nil {
		return nil, WithPath(path, err)
	}
	f, err := parse(path, raw)
	if err != nil {
		if mapped != nil {
			syscall.Munmap(mapped)
		}
		return nil, err
	}
	f.stat, f.mapped = st, mapped
	return f, nil
}

// readOrMap returns the file's bytes: mapped when it is a large regular
// file whose first bytes are no compression magic, read otherwise.
func readOrMap(fh *os.File, st os.FileInfo) (raw, mapped []byte, err error) {
	if st.Mode().IsRegular() && st.Size() >= mapThreshold && st.Size() <= MaxDecompressedSize {
		head := make([]byte, 8)
		if _, err := fh.ReadAt(head, 0); err == nil && compressionOf(head) == None {
			m, err := syscall.Mmap(int(fh.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
			if err == nil {
				return m, m, nil
			}
		}
	}
	raw, err = readAll(fh, st.Size())
	return raw, nil, err
}

// Refault panics again with r when r is a memory fault: reading a mapped
// file that another process truncated meanwhile. The recovers that turn a
// parser's panic into "malformed" call it first, so that a file that
// changed on disk is reported as changed (by the caller's guard, which set
// debug.SetPanicOnFault) rather than as malformed.
func Refault(r any) {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		panic(r)
	}
}

// Evict says that the bytes b, a slice of f.Data, will not be needed again
// soon: the whole pages they cover leave the process's resident memory.
// They stay in the page cache, and reading them again faults them back in
// unchanged (the mapping is private and read-only). For a file that is not
// mapped, or bytes outside its mapping, Evict does nothing.
func (f *File) Evict(b []byte) {
	if f.mapped == nil || len(b) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p-base > uintptr(len(f.mapped)) || uintptr(len(b)) > uintptr(len(f.mapped))-(p-base) {
		return
	}
	page := uintptr(os.Getpagesize())
	lo := (p - base + page - 1) &^ (page - 1)
	hi := (p - base + uintptr(len(b))) &^ (page - 1)
	if lo < hi {
		// Advice only: a failure leaves the pages resident, nothing else.
		_ = syscall.Madvise(f.mapped[lo:hi], syscall.MADV_DONTNEED)
	}
}

// Close releases what Open took: the mapping of a large file. f and every
// slice of its Data may not be used afterwards. Closing a File that holds
// no mapping, or closing twice, does nothing.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	m := f.mapped
	f.mapped, f.Data, f.ELF = nil, nil, nil
	return syscall.Munmap(m)
}

// readAll reads r to its end into one allocation of the expected size
// (io.ReadAll's doubling would need twice the memory of a vmlinux). Files
// that report no size (sysfs, pipes) are read the ordinary way.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > MaxDecompressedSize {
		return io.ReadAll(r)
	}
	buf := make([]byte, size, size+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read: %w (the file shrank while being read?)", err)
	}
	// Anything past the size Stat gave: the file grew meanwhile.
	rest, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return append(buf, rest...), nil
}

// CheckUnchanged reports an error when the file at f.Path is no longer the
// one Open read: replaced (another inode), truncated, grown or written to
// since. Writing a result over a file someone else changed meanwhile would
// lose their change.
func (f *File) CheckUnchanged() error {
	if f.stat == nil {
		return nil
	}
	now, err := os.Stat(f.Path)
	if err != nil {
		return err
	}
	if !os.SameFile(f.stat, now) || now.Size() != f.stat.Size() || !now.ModTime().Equal(f.stat.ModTime()) {
		return WithPath(f.Path, ErrChanged)
	}
	return nil
}

// NewFile is Open on bytes already in memory: a file's contents as stored
// (compressed, signed, raw BTF or ELF). name is used in errors and as
// File.Path; CheckUnchanged has nothing to compare with and passes.
func NewFile(name string, raw []byte) (*File, error) { return parse(name, raw) }

// parse is NewFile. It is the entry point of FuzzOpen, so it must not panic.
func parse(path string, raw []byte) (*File, error) {
	f := &File{Path: path, Compression: compressionOf(raw)}
	data := raw
	if f.Compression != None {
		var err error
		data, err = decompress(f.Compression, raw, MaxDecompressedSize)
		if err != nil {
			return nil, WithPath(path, err)
		}
	}

	switch {
	case bytes.HasPrefix(data, magicELF):
		f.Format = FormatELF
	case bytes.HasPrefix(data, magicBTFLE), bytes.HasPrefix(data, magicBTFBE):
		f.Format = FormatRaw
		f.Data = data
		return f, nil
	case f.Compression != None:
		return nil, WithPath(path, fmt.Errorf("%s content is neither an ELF file nor a raw BTF blob", f.Compression))
	default:
		return nil, WithPath(path, errors.New("not an ELF file, a raw BTF blob or a compressed module"))
	}

	body, sig, err := splitSignature(data)
	if err != nil {
		return nil, WithPath(path, err)
	}
	f.Data, f.Signature = body, sig

	ef, err := newELF(body)
	if err != nil {
		return nil, WithPath(path, err)
	}
	f.ELF = ef
	if err := checkExtents(ef, int64(len(body))); err != nil {
		return nil, WithPath(path, err)
	}
	return f, nil
}

// newELF parses data with debug/elf. debug/elf is meant to return errors for
// malformed input, but a panic on some corner it missed must still become an
// error: btffilter runs over whole distribution trees and one bad file must
// not take the others down.
func newELF(data []byte) (ef *elf.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			Refault(r)
			ef, err = nil, fmt.Errorf("malformed ELF: %v", r)
		}
	}()
	ef, err = elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("malformed ELF: %w", err)
	}
	return ef, nil
}

// checkExtents verifies that every section that occupies file bytes lies
// within the file. debug/elf only reads section contents lazily, so a
// truncated file would otherwise pass Open and fail (or be rewritten wrongly)
// much later.
func checkExtents(ef *elf.File, size int64) error {
	for i, s := range ef.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL || s.FileSize == 0 {
			continue
		}
		end := s.Offset + s.FileSize
		if end < s.Offset || end > uint64(size) {
			return fmt.Errorf("section %s [%d] extends past the end of the file (offset %#x, size %#x, file size %#x): truncated or corrupt",
				s.Name, i, s.Offset, s.FileSize, size)
		}
	}
	return nil
}
