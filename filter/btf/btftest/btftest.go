// Package btftest is for tests of the packages that handle BTF: it builds
// small specs by hand and loads the BTF of fixture and kernel files.
package btftest

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
)

// Builder makes a spec type by type. Spec is the result so far; tests may
// edit it directly to make shapes the methods do not.
type Builder struct {
	Spec *btf.Spec
	strs map[string]uint32
}

// NewBuilder starts an empty spec in the given byte order, split on base
// when base is not nil.
func NewBuilder(order binary.ByteOrder, base *btf.Spec) *Builder {
	b := &Builder{
		Spec: &btf.Spec{Order: order, Base: base, Header: btf.Header{Version: 1, HdrLen: btf.HeaderLen}},
		strs: map[string]uint32{},
	}
	if base == nil {
		b.Spec.Strings = []byte{0}
		b.strs[""] = 0
	}
	return b
}

// Str returns the offset of s in the string section, adding it once.
func (b *Builder) Str(s string) uint32 {
	if s == "" && b.Spec.Base != nil {
		return 0
	}
	if off, ok := b.strs[s]; ok {
		return off
	}
	off := b.Spec.StrBase() + uint32(len(b.Spec.Strings))
	b.Spec.Strings = append(append(b.Spec.Strings, s...), 0)
	b.strs[s] = off
	return off
}

// Add appends a type and returns its ID.
func (b *Builder) Add(name string, k btf.Kind, vlen int, kflag bool, sizeType uint32, extra ...uint32) btf.TypeID {
	info := uint32(k)<<24 | uint32(vlen)
	if kflag {
		info |= 1 << 31
	}
	b.Spec.Types = append(b.Spec.Types, btf.Type{NameOff: b.Str(name), Info: info, SizeType: sizeType, Extra: extra})
	return b.Spec.NextID() - 1
}

// Raw returns a copy of the BTF of the file at path (an ELF file's .BTF, or
// a raw blob), as it is. Any failure fails the test.
func Raw(t testing.TB, path string) []byte {
	t.Helper()
	f, err := elfio.Open(path)
	if err != nil {
		t.Fatalf("%v (fixtures: scripts/build-fixtures.sh; kernels: scripts/fetch-kernels.sh)", err)
	}
	defer f.Close()
	raw, err := f.BTF()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(raw)
}

// Load reads the BTF of the file at path (an ELF file's .BTF, or a raw
// blob), split on base when base is not nil, and checks it against the
// kernel's rules. Any failure fails the test.
func Load(t testing.TB, path string, base *btf.Spec) *btf.Spec {
	t.Helper()
	s, err := btf.ValidateBlob(Raw(t, path), base)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
