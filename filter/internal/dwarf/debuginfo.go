package dwarf

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DebugQuery describes a stripped file whose separate debug information is
// wanted.
type DebugQuery struct {
	// BuildID is the stripped file's GNU build-id (BuildID reads it), nil
	// when it has none. When set, a candidate whose build-id differs is
	// rejected.
	BuildID []byte
	// Path is the stripped file's path, e.g. an unpacked image package's
	// .../lib/modules/6.1.0-53-cloud-amd64/kernel/fs/foo.ko(.xz); the part
	// from "lib/modules/" on is looked up under the debug roots.
	Path string
	// Release is the kernel release, used for a vmlinux (boot/vmlinux-REL)
	// and for a module whose Path has no lib/modules/REL component (then
	// lib/modules/REL/ + the path from each "kernel" component on is
	// tried, the outermost first).
	Release string
}

// debugSuffixes are the endings a compressed module has and its debug
// twin (as shipped by Debian's -dbg packages) does not.
var debugSuffixes = []string{".xz", ".zst", ".gz"}

// FindDebugInfo returns the path of the separate debug file for q. When file
// is not empty it is the answer (it must exist and, if q.BuildID is set,
// carry the same build-id). Otherwise each root is searched in order; a root
// is either a file-system root (an unpacked debug package, holding
// usr/lib/debug) or a debug directory itself (/usr/lib/debug). Within a
// root the layouts of the distributions are tried, in order:
//
//   - .build-id/xx/rest.debug (Debian, Ubuntu, Fedora, RHEL, Arch);
//   - the module's path under lib/modules/REL/, under its own name without
//     a compression suffix (Debian, Ubuntu) or with .debug appended
//     (Fedora, RHEL: NAME.ko.debug);
//   - for a vmlinux, boot/vmlinux-REL (Debian, Ubuntu),
//     lib/modules/REL/vmlinux (Fedora, RHEL) and vmlinux-REL.
//
// A candidate whose build-id is another one is passed over, and a warning
// names both ids. The error lists every path tried and why each was
// rejected.
func FindDebugInfo(q DebugQuery, file string, roots []string) (path string, warnings []string, err error) {
	var tried []string
	check := func(p string) bool {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			tried = append(tried, p+": not found")
			return false
		}
		if len(q.BuildID) == 0 {
			return true
		}
		id, err := fileBuildID(p)
		switch {
		case err != nil:
			tried = append(tried, fmt.Sprintf("%s: %v", p, err))
			return false
		case id != nil && !bytes.Equal(id, q.BuildID):
			why := fmt.Sprintf("%s: build-id %x, want %x", p, id, q.BuildID)
			tried = append(tried, why)
			warnings = append(warnings, "debug file "+why+": not used")
			return false
		}
		return true
	}
	if file != "" {
		if check(file) {
			return file, nil, nil
		}
		return "", nil, fmt.Errorf("dwarf: debug information %s", strings.Join(tried, "; "))
	}
	for _, root := range roots {
		for _, p := range debugCandidates(q, root) {
			if check(p) {
				return p, warnings, nil
			}
		}
	}
	if len(tried) == 0 {
		return "", nil, errors.New("dwarf: no debug root to search and no build-id or path to search by")
	}
	return "", warnings, fmt.Errorf("dwarf: no debug information found (tried %s)", strings.Join(tried, "; "))
}

// debugCandidates lists the paths to try under one root.
func debugCandidates(q DebugQuery, root string) []string {
	var dirs []string
	dirs = append(dirs, root)
	if d := filepath.Join(root, "usr", "lib", "debug"); d != root {
		dirs = append(dirs, d)
	}
	var rels []string
	if len(q.BuildID) >= 2 {
		h := hex.EncodeToString(q.BuildID)
		rels = append(rels, filepath.Join(".build-id", h[:2], h[2:]+".debug"))
	}
	if q.Path != "" {
		p := filepath.ToSlash(q.Path)
		for _, s := range debugSuffixes {
			p = strings.TrimSuffix(p, s)
		}
		if i := strings.LastIndex(p, "lib/modules/"); i >= 0 {
			rel := filepath.FromSlash(p[i:])
			rels = append(rels, rel, rel+".debug")
		} else if q.Release != "" {
			// A tree without lib/modules/REL in its path (a copy of one
			// elsewhere): the module's path below its kernel/ directory,
			// which may be any "kernel" component of the path
			// (tree/kernel/arch/x86/kernel/msr.ko), the outermost first.
			for i := 0; i < len(p); i++ {
				if strings.HasPrefix(p[i:], "kernel/") && (i == 0 || p[i-1] == '/') {
					rel := filepath.Join("lib", "modules", q.Release, filepath.FromSlash(p[i:]))
					rels = append(rels, rel, rel+".debug")
				}
			}
		}
	}
	if q.Release != "" && (q.Path == "" || strings.HasPrefix(filepath.Base(q.Path), "vmlinu")) {
		rels = append(rels, filepath.Join("boot", "vmlinux-"+q.Release),
			filepath.Join("lib", "modules", q.Release, "vmlinux"), "vmlinux-"+q.Release)
	}
	var out []string
	for _, d := range dirs {
		for _, r := range rels {
			out = append(out, filepath.Join(d, r))
		}
	}
	return out
}

// fileBuildID reads the build-id of the ELF file at path (nil if it has
// none).
func fileBuildID(path string) ([]byte, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return BuildID(f)
}

// BuildID returns the GNU build-id note (NT_GNU_BUILD_ID) of f, nil if it
// has none.
func BuildID(f *elf.File) ([]byte, error) {
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("dwarf: section %s: %w", s.Name, err)
		}
		bo := f.ByteOrder
		for p := 0; p+12 <= len(data); {
			nsz, dsz, typ := int(bo.Uint32(data[p:])), int(bo.Uint32(data[p+4:])), bo.Uint32(data[p+8:])
			p += 12
			nend := p + (nsz+3)&^3
			if nsz < 0 || dsz < 0 || nend > len(data) || nend < p || dsz > len(data)-nend {
				break
			}
			name := data[p : p+nsz]
			desc := data[nend : nend+dsz]
			p = nend + (dsz+3)&^3
			if typ == 3 && string(bytes.TrimRight(name, "\x00")) == "GNU" {
				return append([]byte(nil), desc...), nil
			}
		}
	}
	return nil, nil
}
