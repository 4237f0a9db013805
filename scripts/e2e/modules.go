package e2e

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// readModule returns the uncompressed bytes of a kernel module file. The
// compression is chosen by the file name suffix (.ko.xz, .ko.zst, .ko.gz),
// as kmod does; anything else is returned as read.
func readModule(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch {
	case strings.HasSuffix(path, ".xz"):
		xr, err := xz.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: xz: %w", path, err)
		}
		r = xr
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w", path, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(path, ".gz"):
		gr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		r = gr
	default:
		return raw, nil
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: decompress: %w", path, err)
	}
	return out, nil
}

// modinfo returns the key=value pairs of a module's .modinfo section. A key
// that appears several times (alias=) keeps its last value, which is enough
// for the keys used here (name, depends).
func modinfo(path string, ko []byte) (map[string]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("%s: no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: .modinfo at offset %#x: %w", path, sec.Offset, err)
	}
	info := make(map[string]string)
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			info[k] = v
		}
	}
	return info, nil
}

// aliases returns every alias= value of a module's .modinfo (modinfo keeps
// only the last). A module that cannot be parsed has none.
func aliases(ko []byte) []string {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil
	}
	var out []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("alias=")); ok {
			out = append(out, string(v))
		}
	}
	return out
}

// moduleNameFromFile is the name the kernel gives a module built from this
// file when .modinfo has no name= field: the base name without the .ko
// suffix, dashes turned into underscores (kbuild's KBUILD_MODNAME).
func moduleNameFromFile(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i > 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ModuleName returns the name the kernel will know the module file by
// (the directory under /sys/module and /sys/kernel/btf).
func ModuleName(path string) (string, error) {
	ko, err := readModule(path)
	if err != nil {
		return "", err
	}
	info, err := modinfo(path, ko)
	if err != nil {
		return "", err
	}
	if n := info["name"]; n != "" {
		return n, nil
	}
	return moduleNameFromFile(path), nil
}

// PickModules returns n module files from files that depend on no other
// module (empty depends= in .modinfo), so that each can be insmod'ed alone.
// The choice is deterministic: the candidates are sorted by path and every
// k-th is taken, k = candidates/n, which spreads the pick over the tree.
// Modules that refuse to load in a plain QEMU guest for reasons that say
// nothing about their BTF are left out (see unloadable).
func PickModules(files []string, n int) ([]string, error) {
	if n <= 0 {
		return nil, fmt.Errorf("pick modules: n is %d, want > 0", n)
	}
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)
	var cand []string
	for _, p := range sorted {
		ko, err := readModule(p)
		if err != nil {
			return nil, err
		}
		info, err := modinfo(p, ko)
		if err != nil {
			return nil, err
		}
		if info["depends"] == "" && !unloadable(p, aliases(ko)) {
			cand = append(cand, p)
		}
	}
	if len(cand) < n {
		return nil, fmt.Errorf("pick modules: %d of %d files have no dependencies, want %d", len(cand), len(files), n)
	}
	k := len(cand) / n
	picked := make([]string, 0, n)
	for i := 0; i < n; i++ {
		picked = append(picked, cand[i*k])
	}
	return picked, nil
}

// unloadable says whether a module's init is known to fail with ENODEV in
// a QEMU guest without the hardware, firmware or hypervisor it is made for:
// modules under arch/ (CPU-feature crypto and platform drivers), Xen and
// Hyper-V drivers (they check that they run on that hypervisor), and
// modules whose aliases bind them to a machine model or a CPU feature (they
// check DMI or CPUID in their init). A PCI or USB driver without its device
// loads fine and stays a candidate.
func unloadable(path string, aliases []string) bool {
	p := filepath.ToSlash(path)
	if strings.Contains(p, "/arch/") {
		return true
	}
	base := filepath.Base(p)
	dir := filepath.Base(filepath.Dir(p))
	for _, s := range []string{base, dir} {
		if strings.Contains(s, "xen") || strings.Contains(s, "hyperv") || strings.HasPrefix(s, "hv_") {
			return true
		}
	}
	for _, a := range aliases {
		for _, prefix := range []string{"dmi:", "x86cpu:", "cpu:", "xen:", "xen-backend:", "vmbus:"} {
			if strings.HasPrefix(a, prefix) {
				return true
			}
		}
	}
	return false
}

// sigMagic ends a module with an appended signature (scripts/sign-file,
// include/linux/module_signature.h). Before it: a 12-byte struct
// module_signature whose last 4 bytes are the big-endian length of the
// PKCS#7 blob that precedes the struct.
const sigMagic = "~Module signature appended~\n"

// stripSignature returns ko without its appended signature, and whether
// there was one. A trailer whose length does not fit is an error.
func stripSignature(path string, ko []byte) ([]byte, bool, error) {
	if !bytes.HasSuffix(ko, []byte(sigMagic)) {
		return ko, false, nil
	}
	end := len(ko) - len(sigMagic) - 12
	if end < 0 {
		return nil, false, fmt.Errorf("%s: signature trailer longer than the file", path)
	}
	sigLen := int(binary.BigEndian.Uint32(ko[end+8:]))
	if sigLen > end {
		return nil, false, fmt.Errorf("%s: signature length %d at offset %#x exceeds the file", path, sigLen, end+8)
	}
	return ko[:end-sigLen], true, nil
}
