package elfio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How the unchanged bytes of a rewritten file reach its new version.
//
// A new version must be a new inode for the replacement to be atomic, so
// its bytes are written somewhere. Three ways are tried, cheapest first:
//
//  1. A clone (FICLONE), where the file system shares blocks between files
//     (XFS, btrfs, bcachefs): no byte is read or written, the new file
//     shares the old one's extents until the replaced sections are written
//     over them.
//  2. Direct I/O from the mapping, for a mapped file of directMin bytes
//     or more (a vmlinux): the old file's pages, in the page cache because
//     the run read them, go straight to the disk. Copying through the page
//     cache instead allocates a second, dirty copy of the whole image (588
//     MB for a Debian 6.1 vmlinux) only to write it back later, and the
//     rename then frees the first: allocating and filling those pages,
//     and ext4 allocating their blocks at the rename, were most of the
//     cost of a rewrite in place (on a virtual machine whose host backs
//     fresh guest memory on first touch, 1.4 s against 0.4 s for the
//     direct writes and their rename; docs/architecture.md). Where direct I/O is refused (a file system without
//     it, a device asking for a larger alignment), nothing has been
//     written and the third way is taken. It is tried only on the file
//     systems of local disks (directFS): on NFS, copy_file_range has the
//     server copy, which beats sending the image over the network.
//  3. copy_file_range, through io.Copy: the kernel copies, through the
//     page cache, and on NFS the server does. A module takes this way: it
//     is small, and the next build step (resolve_btfids, strip, sign,
//     compress) reads it whole, better from the page cache than from the
//     disk. A vmlinux's DWARF, most of its size, is seldom read again
//     soon.

// directMin is the size from which a mapped file's new version is written
// by direct I/O. Tests lower it, to use small files.
var directMin = 64 << 20

// directChunk is the size of one direct write: large enough that the
// per-call cost vanishes, a multiple of any block size a device asks for.
const directChunk = 8 << 20

// directAlign is the alignment of a direct write's offset, length and
// memory: a page, which covers every logical block size up to 4 KiB.
var directAlign = max(os.Getpagesize(), 4096)

// copyWay is how copyBody wrote a new version's unchanged bytes.
type copyWay int

const (
	wayClone  copyWay = iota + 1 // FICLONE: blocks shared with the old file
	wayDirect                    // direct I/O from the mapping (writeDirect)
	wayCopy                      // copy_file_range (io.Copy)
)

func (w copyWay) String() string {
	switch w {
	case wayClone:
		return "clone"
	case wayDirect:
		return "direct I/O"
	case wayCopy:
		return "copy"
	}
	return fmt.Sprintf("copyWay(%d)", int(w))
}

// copyBody writes the first size bytes of the file as it is on disk into
// tmp, which is empty, and says which way it took: Data's length for a
// rewrite (the file without an appended module signature), the file's
// size for a copy.
func (f *File) copyBody(tmp *os.File, size int64) (copyWay, error) {
	src, err := f.reopen()
	if err != nil {
		return 0, err
	}
	defer src.Close()
	if unix.IoctlFileClone(int(tmp.Fd()), int(src.Fd())) == nil {
		// The clone is the whole file: an appended signature goes.
		return wayClone, tmp.Truncate(size)
	}
	// The mapping is the whole file as on disk (Data is its start when
	// the file is mapped).
	if f.mapped != nil && size >= int64(directMin) && size <= int64(len(f.mapped)) && directFS(tmp) {
		switch err := writeDirect(tmp, f.mapped[:size], f.Evict); {
		case err == nil:
			return wayDirect, nil
		case !errors.Is(err, errDirectRefused):
			return 0, err
		}
	}
	n, err := io.Copy(tmp, io.LimitReader(src, size))
	if err == nil && n != size {
		err = fmt.Errorf("copied %d of %d bytes: %w", n, size, ErrChanged)
	}
	return wayCopy, err
}

// directFS reports whether f is on a file system of a local disk, where
// copy_file_range copies through the page cache and direct I/O is the
// cheaper way: ext2/3/4, XFS and btrfs (where a clone failed: reflinks
// off, nodatacow), F2FS.
func directFS(f *os.File) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(int(f.Fd()), &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC:
		return true
	}
	return false
}

// errDirectRefused says that direct I/O cannot be used for this file and
// that nothing was written.
var errDirectRefused = errors.New("direct I/O refused")

// writeDirect writes data at offset 0 of tmp, which is empty: the aligned
// bulk by direct I/O, the unaligned tail by an ordinary write. It returns
// errDirectRefused, having written nothing, when data is not aligned in
// memory or the file system or the device refuses the first direct write.
// A direct write maps the pages it reads into the process; evict is given
// each chunk once it is written, so that copying a mapped image does not
// make it resident.
func writeDirect(tmp *os.File, data []byte, evict func([]byte)) error {
	if uintptr(unsafe.Pointer(unsafe.SliceData(data)))%uintptr(directAlign) != 0 {
		return errDirectRefused
	}
	fd := int(tmp.Fd())
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return errDirectRefused
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags|unix.O_DIRECT); err != nil {
		return errDirectRefused
	}
	bulk := len(data) / directAlign * directAlign
	for off := 0; off < bulk; {
		n := min(directChunk, bulk-off)
		w, err := unix.Pwrite(fd, data[off:off+n], int64(off))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err == nil && w <= 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
			if off == 0 {
				// Nothing written: the ordinary copy reports the
				// error if it is not direct I/O's.
				return errDirectRefused
			}
			return &os.PathError{Op: "write", Path: tmp.Name(), Err: err}
		}
		evict(data[off : off+w])
		off += w
		if w%directAlign != 0 {
			// A short write off the alignment: the rest goes the
			// ordinary way.
			bulk = off
		}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags); err != nil {
		return &os.PathError{Op: "fcntl", Path: tmp.Name(), Err: err}
	}
	_, err = tmp.WriteAt(data[bulk:], int64(bulk))
	return err
}
