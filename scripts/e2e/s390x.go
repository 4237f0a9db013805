package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/klauspost/compress/zstd"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// An s390x kernel boots from its compressed image (arch/s390/boot: a
// decompressor followed by the kernel's loadable segments, vmlinux.bin,
// compressed; Debian's is zstd), which QEMU's -kernel takes; the vmlinux ELF
// does not boot. A rewritten vmlinux differs from the shipped one only in
// .BTF and .BTF_ids, whose sizes btffilter keeps (docs/facts.md §6), so the
// image of the rewritten kernel is the shipped image with those sections'
// bytes replaced inside the compressed payload. The decompressor takes the
// payload's length from the frame itself ("there may be junk at the end of
// the frame", lib/decompress_unzstd.c, decompress_single), so a recompressed
// payload no longer than the original fits in its place, zero-padded.

// zstdMagic starts every zstd frame (RFC 8878, little-endian 0xFD2FB528).
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// zstdFrameLen returns the length of the zstd frame at the start of b
// (RFC 8878 §3.1.1: header, blocks, optional checksum), or false when b does
// not start with a whole frame.
func zstdFrameLen(b []byte) (int, bool) {
	if len(b) < 5 || !bytes.Equal(b[:4], zstdMagic) {
		return 0, false
	}
	fhd := b[4]
	p := 5
	single := fhd&0x20 != 0
	if !single {
		p++ // window descriptor
	}
	p += [4]int{0, 1, 2, 4}[fhd&3] // dictionary ID
	switch fcs := fhd >> 6; {
	case fcs == 0 && single:
		p++
	case fcs == 1:
		p += 2
	case fcs == 2:
		p += 4
	case fcs == 3:
		p += 8
	}
	for {
		if p+3 > len(b) {
			return 0, false
		}
		h := uint32(b[p]) | uint32(b[p+1])<<8 | uint32(b[p+2])<<16
		p += 3
		last, typ, size := h&1 != 0, (h>>1)&3, int(h>>3)
		switch typ {
		case 0, 2: // raw, compressed
			p += size
		case 1: // RLE: one byte
			p++
		default:
			return 0, false
		}
		if p > len(b) {
			return 0, false
		}
		if last {
			break
		}
	}
	if fhd&4 != 0 {
		p += 4 // content checksum
	}
	if p > len(b) {
		return 0, false
	}
	return p, true
}

// loadSection is an SHF_ALLOC section of a vmlinux and where it sits in the
// flat image of its loadable segments.
type loadSection struct {
	name   string
	off    uint64 // in the flat image
	data   []byte
	change bool // .BTF or .BTF_ids: replaced
}

// vmlinuxSections lists the SHF_ALLOC, PROGBITS sections of vmlinux with
// their offsets from the lowest loadable address (where objcopy -O binary,
// which makes vmlinux.bin, starts).
func vmlinuxSections(vmlinux string) ([]loadSection, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_S390 {
		return nil, fmt.Errorf("e2e: %s is %v, not s390x", vmlinux, f.Machine)
	}
	base := ^uint64(0)
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Filesz > 0 {
			base = min(base, p.Paddr)
		}
	}
	if base == ^uint64(0) {
		return nil, fmt.Errorf("e2e: %s has no loadable segment", vmlinux)
	}
	var out []loadSection
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type != elf.SHT_PROGBITS || s.Size == 0 || s.Addr < base {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("e2e: %s: section %s: %w", vmlinux, s.Name, err)
		}
		out = append(out, loadSection{name: s.Name, off: s.Addr - base, data: data,
			change: s.Name == ".BTF" || s.Name == ".BTF_ids"})
	}
	return out, nil
}

// s390xImage writes the boot image of vmlinux: vmlinuz, the shipped image of
// the same kernel, with the .BTF and .BTF_ids of vmlinux put into its
// payload. It refuses a vmlinuz whose payload differs from vmlinux anywhere
// else, so the image is always vmlinux's kernel. Recompressing takes a
// minute or two, and btffilter's output is deterministic: the image is kept
// in $BTFFILTER_CACHE/e2e under a hash of vmlinuz and the two sections, and
// reused (in workDir when the cache cannot be written).
func s390xImage(ctx context.Context, vmlinux, vmlinuz, workDir string) (string, error) {
	if vmlinuz == "" {
		return "", errors.New("e2e: s390x boots the compressed image: Boot.Vmlinuz is empty")
	}
	out, err := cachedName(vmlinux, workDir, "bzImage")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	img, err := os.ReadFile(vmlinuz)
	if err != nil {
		return "", fmt.Errorf("e2e: %w", err)
	}
	secs, err := vmlinuxSections(vmlinux)
	if err != nil {
		return "", err
	}
	// The payload is the zstd frame whose content starts with vmlinux's
	// first section; the decompressor's code may hold the magic bytes too.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(1<<30), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return "", err
	}
	defer dec.Close()
	var start, n int
	var bin []byte
	for i := 0; ; i++ {
		j := bytes.Index(img[i:], zstdMagic)
		if j < 0 {
			return "", fmt.Errorf("e2e: %s: no zstd payload holding %s (is it its image?)", vmlinuz, vmlinux)
		}
		i += j
		if l, ok := zstdFrameLen(img[i:]); ok {
			if b, err := dec.DecodeAll(img[i:i+l], nil); err == nil && sectionsMatch(b, secs[:1]) == nil {
				start, n, bin = i, l, b
				break
			}
		}
	}
	if err := sectionsMatch(bin, secs); err != nil {
		return "", fmt.Errorf("e2e: %s does not hold %s: %w", vmlinuz, vmlinux, err)
	}
	changed := false
	for _, s := range secs {
		if s.change && !bytes.Equal(bin[s.off:s.off+uint64(len(s.data))], s.data) {
			copy(bin[s.off:], s.data)
			changed = true
		}
	}
	if !changed {
		return vmlinuz, nil // vmlinux is the shipped kernel
	}
	h := sha256.New()
	h.Write(img)
	for _, s := range secs {
		if s.change {
			h.Write(s.data)
		}
	}
	key := "bzImage-s390x-" + hex.EncodeToString(h.Sum(nil)[:12])
	cached := filepath.Join(kernels.Cache(), "e2e", key)
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err == nil {
		out = cached
	}
	packed, err := zstdCompress(ctx, bin, n)
	if err != nil {
		return "", fmt.Errorf("e2e: %s: %w", vmlinuz, err)
	}
	copy(img[start:], packed)
	clear(img[start+len(packed) : start+n])
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, img, 0o644); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// sectionsMatch checks that bin holds each section at its offset; the
// sections btffilter rewrites need only fit.
func sectionsMatch(bin []byte, secs []loadSection) error {
	for _, s := range secs {
		end := s.off + uint64(len(s.data))
		if end > uint64(len(bin)) {
			return fmt.Errorf("section %s [%#x, %#x) past the payload's %#x bytes", s.name, s.off, end, len(bin))
		}
		if !s.change && !bytes.Equal(bin[s.off:end], s.data) {
			return fmt.Errorf("section %s differs at payload offset %#x", s.name, s.off)
		}
	}
	return nil
}

// zstdCompress compresses b into at most limit bytes, as kbuild compresses
// the s390x payload (cmd_zstd22: `zstd -22 --ultra` reading standard
// input). bookworm's zstd (1.5.4) makes the Debian 7.2 payload 0.5% larger
// than the shipped one, too large for its place; sid's (1.5.7) comes within
// a thousandth, and a rewritten kernel, whose .BTF ends in NUL padding,
// compresses below it. So the sid chroot's zstd is used
// (scripts/sid-chroot.sh, which installs it).
func zstdCompress(ctx context.Context, b []byte, limit int) ([]byte, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, errors.New("cannot locate scripts/sid-chroot.sh")
	}
	chroot := filepath.Join(filepath.Dir(self), "..", "sid-chroot.sh")
	if msg, err := exec.CommandContext(ctx, "bash", chroot, "ensure", "zstd").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s ensure zstd: %w\n%s", chroot, err, msg)
	}
	cmd := exec.CommandContext(ctx, "bash", chroot, "run", "zstd", "-22", "--ultra", "-q", "-c")
	cmd.Stdin = bytes.NewReader(b)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("zstd -22 --ultra in the sid chroot: %w: %s", err, stderr.String())
	}
	if out.Len() > limit {
		return nil, fmt.Errorf("the recompressed payload takes %d bytes, more than the %d of the original", out.Len(), limit)
	}
	return out.Bytes(), nil
}
