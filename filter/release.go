package filter

import (
	"bytes"
	"debug/elf"
	"strings"

	"github.com/btffilter/btffilter/elfio"
)

// kernelRelease tells which kernel release a file belongs to, when it can be
// told: a module's vermagic (.modinfo), a vmlinux's linux_banner. It returns
// "" for raw blobs and files that carry neither.
func kernelRelease(f *elfio.File) string {
	if f.ELF == nil {
		return ""
	}
	if isModule(f) {
		data, err := f.SectionData(".modinfo")
		if err != nil {
			return ""
		}
		for _, kv := range bytes.Split(data, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("vermagic=")); ok {
				if fs := strings.Fields(string(v)); len(fs) > 0 {
					return fs[0]
				}
			}
		}
		return ""
	}
	syms, err := f.Symbols()
	if err != nil {
		return ""
	}
	for _, s := range syms {
		if s.Name != "linux_banner" {
			continue
		}
		_, off, err := f.SymbolOffset(s)
		if err != nil {
			continue // undefined here, or not inside its section
		}
		sec := f.ELF.Sections[s.Section] // an index SymbolOffset checked
		size := min(s.Size, 512)
		if sec.Type == elf.SHT_NOBITS || size == 0 {
			return ""
		}
		buf := make([]byte, size)
		if _, err := sec.ReadAt(buf, int64(off)); err != nil {
			return ""
		}
		// "Linux version RELEASE (builder) ..."
		fs := strings.Fields(string(buf))
		if len(fs) >= 3 && fs[0] == "Linux" && fs[1] == "version" {
			return fs[2]
		}
	}
	return ""
}
