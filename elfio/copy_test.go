package elfio

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// alignedBytes returns n bytes of pattern in an anonymous mapping, so that
// they start on a page as a mapped file's Data does.
func alignedBytes(t *testing.T, n int, seed byte) []byte {
	t.Helper()
	m, err := unix.Mmap(-1, 0, max(n, 1), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	copy(m, pattern(n, seed))
	return m[:n]
}

// TestWriteDirect: the bytes written are the bytes given, whatever the
// size against the alignment and the chunk; every aligned byte is handed to
// evict once, in order; data off a page is refused with nothing written.
func TestWriteDirect(t *testing.T) {
	dir := t.TempDir()
	if !directWorks(t, dir) {
		t.Skipf("the file system of %s refuses direct I/O", dir)
	}
	for _, n := range []int{0, 1, directAlign - 1, directAlign, directAlign + 1, directChunk, directChunk + directAlign + 5, 2*directChunk + 777} {
		data := alignedBytes(t, n, byte(n))
		tmp, err := os.CreateTemp(dir, "direct")
		if err != nil {
			t.Fatal(err)
		}
		var evicted int
		err = writeDirect(tmp, data, func(b []byte) {
			if &b[0] != &data[evicted] {
				t.Errorf("size %d: evict given offset %d, want %d", n, len(data)-len(b), evicted)
			}
			evicted += len(b)
		})
		tmp.Close()
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		got, err := os.ReadFile(tmp.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: file holds %d bytes that differ from the %d given", n, len(got), len(data))
		}
		if want := n / directAlign * directAlign; evicted != want {
			t.Errorf("size %d: %d bytes evicted, want the aligned %d", n, evicted, want)
		}
	}

	data := alignedBytes(t, 3*directAlign, 1)[1:]
	tmp, err := os.CreateTemp(dir, "unaligned")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if err := writeDirect(tmp, data, func([]byte) { t.Error("evict called for a refused write") }); !errors.Is(err, errDirectRefused) {
		t.Fatalf("data off a page: err = %v, want errDirectRefused", err)
	}
	if fi, err := tmp.Stat(); err != nil || fi.Size() != 0 {
		t.Fatalf("refused direct write left %v bytes (%v)", fi.Size(), err)
	}
}

// offeredWay is the cheapest way the file system of dir offers to make a
// new version of a mapped file, found by trying each on files of its own.
func offeredWay(t *testing.T, dir string) copyWay {
	t.Helper()
	src, err := os.CreateTemp(dir, "probe-src")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(src.Name())
	defer src.Close()
	if _, err := src.Write(pattern(directAlign, 1)); err != nil {
		t.Fatal(err)
	}
	dst, err := os.CreateTemp(dir, "probe-dst")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dst.Name())
	defer dst.Close()
	if unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil {
		return wayClone
	}
	if directFS(dst) && directWorks(t, dir) {
		return wayDirect
	}
	return wayCopy
}

// directWorks reports whether writeDirect can write a file in dir.
func directWorks(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.CreateTemp(dir, "probe-direct")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return writeDirect(f, alignedBytes(t, directAlign, 2), func([]byte) {}) == nil
}

// bigELF is a fixture grown past mapThreshold, so that Open maps it: its
// .BTF.ext, which the tests do not replace, is moved to the end and made
// n bytes.
func bigELF(t *testing.T, n int) []byte {
	t.Helper()
	out, err := mustParse(t, "rel-bpfel.o", fixture(t, "rel-bpfel.o")).Rewrite(map[string][]byte{".BTF.ext": pattern(n, 5)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPrepareRewrite rewrites copies of small and mapped files in dir
// through PrepareRewrite: each must take the way it is due (the cheapest
// the file system offers for a mapped file of directMin bytes or more, a
// clone or the kernel's copy for any other) and commit exactly the image
// Rewrite makes in memory. checkNew is given each large case's new
// version before it is committed. directMin is lowered for the run, so
// that a file of a few megabytes counts as large.
func checkPrepareRewrite(t *testing.T, dir string, checkNew func(*testing.T, *Pending)) {
	defer func(n int) { directMin = n }(directMin)
	directMin = 2 << 20
	offered := offeredWay(t, dir)
	// Under directMin the file is cloned where the file system can, else
	// copied by the kernel.
	small := wayCopy
	if offered == wayClone {
		small = wayClone
	}
	t.Logf("%s offers %v", dir, offered)
	big := bigELF(t, 3<<20+777) // ends off a page
	mid := bigELF(t, 3<<19)
	signedBig, _ := signed(big, 300)
	btfSize := int(mustParse(t, "big", big).Section(".BTF").FileSize)
	smallBTF := int(mustParse(t, "rel-bpfel.o", fixture(t, "rel-bpfel.o")).Section(".BTF").FileSize)
	cases := []struct {
		name          string
		image         []byte
		btf           int // the new .BTF's size
		mapped, large bool
	}{
		{"small, same size", fixture(t, "rel-bpfel.o"), smallBTF, false, false},
		{"mapped, under directMin", mid, btfSize, true, false},
		{"large, same size", big, btfSize, true, true},
		{"large, shrunk", big, btfSize/2 + 3, true, true},
		{"large, grown and moved", big, btfSize + 4097, true, true},
		{"large, signed", signedBig, btfSize, true, true},
		{"large, signed, grown and moved", signedBig, btfSize + 4097, true, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".ko")
			if err := os.WriteFile(path, tc.image, 0o644); err != nil {
				t.Fatal(err)
			}
			repl := map[string][]byte{".BTF": pattern(tc.btf, byte(40+i))}
			want, err := mustParse(t, path, tc.image).Rewrite(repl)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if (f.mapped != nil) != tc.mapped {
				t.Fatalf("mapped = %v, want %v", f.mapped != nil, tc.mapped)
			}
			p, err := f.PrepareRewrite(path, repl, NoSync)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Abort() // a failed check must not keep the file open
			switch {
			case tc.large && p.copied != offered:
				t.Fatalf("copied by %v, want %v (the cheapest this file system offers)", p.copied, offered)
			case !tc.large && p.copied != small:
				t.Fatalf("a file under directMin copied by %v, want %v", p.copied, small)
			}
			if tc.large {
				checkNew(t, p)
			}
			if err := p.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("committed file (%d bytes) differs from Rewrite's image (%d bytes)", len(got), len(want))
			}
		})
	}
	// PrepareCopy (-o of a file nothing changes) takes the same ways and
	// keeps every byte, the signature too.
	for _, tc := range []struct {
		name  string
		image []byte
		way   copyWay
	}{
		{"copy, small", fixture(t, "rel-bpfel.o"), small},
		{"copy, large, signed", signedBig, offered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".ko")
			if err := os.WriteFile(path, tc.image, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			out := path + ".out"
			p, err := f.PrepareCopy(out, NoSync)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Abort()
			if p.copied != tc.way {
				t.Fatalf("copied by %v, want %v", p.copied, tc.way)
			}
			if err := p.Commit(); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, tc.image) {
				t.Fatalf("the copy (%d bytes) differs from the file (%d bytes) (%v)", len(got), len(tc.image), err)
			}
		})
	}
}

// TestPrepareRewrite runs checkPrepareRewrite in the test's temporary
// directory, on whatever file system holds it.
func TestPrepareRewrite(t *testing.T) {
	checkPrepareRewrite(t, t.TempDir(), func(*testing.T, *Pending) {})
}

// TestPrepareRewriteFileSystems runs checkPrepareRewrite on a loop-mounted
// XFS, whose reflinks make the new version a clone sharing the old one's
// blocks, and on a loop-mounted ext4, which cannot share blocks and gets
// the new version by direct I/O, so that afterwards the page cache does not
// hold a second copy of the image.
func TestPrepareRewriteFileSystems(t *testing.T) {
	if testing.Short() {
		t.Skip("loop mounts need root: not in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Fatal("loop mounts need root (scripts/test.sh runs as root)")
	}
	for _, fs := range []struct {
		name   string
		mkfs   []string
		size   int64 // mkfs.xfs refuses file systems under 300 MB
		offers copyWay
		check  func(*testing.T, *Pending)
	}{
		{"xfs", []string{"mkfs.xfs", "-q", "-m", "reflink=1"}, 320 << 20, wayClone, sharesBlocks},
		{"ext4", []string{"mkfs.ext4", "-q"}, 64 << 20, wayDirect, notCached},
	} {
		t.Run(fs.name, func(t *testing.T) {
			for _, tool := range []string{fs.mkfs[0], "filefrag"} {
				if _, err := exec.LookPath(tool); err != nil {
					t.Fatalf("%s is missing (scripts/setup.sh installs it)", tool)
				}
			}
			mnt := loopMount(t, fs.size, fs.mkfs)
			if got := offeredWay(t, mnt); got != fs.offers {
				t.Fatalf("%s offers %v, want %v", fs.name, got, fs.offers)
			}
			checkPrepareRewrite(t, mnt, fs.check)
			checkFull(t, mnt, fs.offers)
		})
	}
}

// checkFull rewrites a large file on a file system left with room for
// half of it. Where the new version is a clone it needs no room for the
// unchanged bytes, and PrepareRewrite must succeed. Elsewhere it must fail
// with the file system's error, naming the file, and leave the file and
// its directory as they were.
func checkFull(t *testing.T, dir string, offers copyWay) {
	t.Run("no room", func(t *testing.T) {
		defer func(n int) { directMin = n }(directMin)
		directMin = 2 << 20
		image := bigELF(t, 6<<20)
		path := filepath.Join(dir, "full.ko")
		if err := os.WriteFile(path, image, 0o644); err != nil {
			t.Fatal(err)
		}
		// Fill the file system but for about half the image.
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		filler := filepath.Join(dir, "filler")
		free := int64(st.Bfree) * st.Bsize // root may use the reserved blocks too
		if err := exec.Command("fallocate", "-l", strconv.FormatInt(free-int64(len(image))/2, 10), filler).Run(); err != nil {
			t.Fatalf("fallocate %s: %v", filler, err)
		}
		defer os.Remove(filler)
		before := dirNames(t, dir)
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		btf, err := f.BTF()
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.PrepareRewrite(path, map[string][]byte{".BTF": pattern(len(btf), 3)}, NoSync)
		if offers == wayClone {
			if err != nil {
				t.Fatalf("a clone needs no room for the unchanged bytes, yet: %v", err)
			}
			p.Abort()
			return
		}
		if err == nil {
			p.Abort()
			t.Fatal("PrepareRewrite succeeded with no room for the new version")
		}
		if !errors.Is(err, unix.ENOSPC) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Fatalf("error = %v, want ENOSPC naming %s", err, path)
		}
		t.Log(err)
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, image) {
			t.Fatalf("the file changed (%v)", err)
		}
		if after := dirNames(t, dir); !slices.Equal(after, before) {
			t.Fatalf("directory holds %q, held %q", after, before)
		}
	})
}

// loopMount makes a file system of size bytes in an image under the
// test's temporary directory, mounts it and returns the mount point; the
// cleanup unmounts it.
func loopMount(t *testing.T, size int64, mkfs []string) string {
	t.Helper()
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(append(mkfs, img)...)
	run("mount", "-o", "loop", img, mnt)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
			exec.Command("umount", "-l", mnt).Run() // detached, not left behind
		}
	})
	return mnt
}

// sharesBlocks checks that a prepared new version shares extents with the
// file it replaces: filefrag flags them "shared".
func sharesBlocks(t *testing.T, p *Pending) {
	t.Helper()
	out, err := exec.Command("filefrag", "-v", p.tmp.Name()).CombinedOutput()
	if err != nil {
		t.Fatalf("filefrag: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "shared") {
		t.Fatalf("the cloned new version shares no extent with the old file:\n%s", out)
	}
}

// notCached checks that a prepared new version written by direct I/O is
// not in the page cache, but for the few pages written or read back the
// ordinary way (headers, the replaced section, the tail): a copy through
// the page cache would leave every page there.
func notCached(t *testing.T, p *Pending) {
	t.Helper()
	fi, err := p.tmp.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pages := int(fi.Size()+int64(os.Getpagesize())-1) / os.Getpagesize()
	if n := residentPages(t, p.tmp); n > pages/8 {
		t.Fatalf("%d of the new version's %d pages are in the page cache, want at most %d", n, pages, pages/8)
	}
}

// residentPages counts the pages of f in the page cache.
func residentPages(t *testing.T, f *os.File) int {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal("mincore:", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// BenchmarkPrepareRewrite prepares (and aborts) a new version of a mapped
// 32 MiB file in the benchmark's temporary directory, by direct I/O and by
// the kernel's copy. scripts/bench measures the same on a real vmlinux,
// whole process.
func BenchmarkPrepareRewrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		min  int
	}{{"direct", 0}, {"copy", math.MaxInt}} {
		b.Run(bc.name, func(b *testing.B) {
			defer func(n int) { directMin = n }(directMin)
			directMin = bc.min
			path := filepath.Join(b.TempDir(), "big.ko")
			image, err := mustParse(b, "rel-bpfel.o", fixture(b, "rel-bpfel.o")).Rewrite(map[string][]byte{".BTF.ext": pattern(32<<20, 5)})
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, image, 0o644); err != nil {
				b.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			btf, err := f.BTF()
			if err != nil {
				b.Fatal(err)
			}
			repl := map[string][]byte{".BTF": pattern(len(btf), 9)}
			b.SetBytes(int64(len(image)))
			for b.Loop() {
				p, err := f.PrepareRewrite(path, repl, NoSync)
				if err != nil {
					b.Fatal(err)
				}
				p.Abort()
			}
		})
	}
}
