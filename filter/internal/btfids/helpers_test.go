package btfids

import (
	"encoding/binary"
	"fmt"
)

// builder lays out a .BTF_ids section the way the btf_ids.h macros do, so
// tests can state a section as the macro calls that would produce it.
type builder struct {
	order   binary.ByteOrder
	words   []uint32
	syms    []Symbol
	counter int
}

func newBuilder(order binary.ByteOrder) *builder { return &builder{order: order} }

func (b *builder) off() uint64 { return uint64(len(b.words)) * wordSize }

// id is BTF_ID(kind, name) with the ID resolve_btfids would have written.
func (b *builder) id(kind, name string, id uint32) *builder {
	b.counter++
	b.syms = append(b.syms, Symbol{Name: fmt.Sprintf("__BTF_ID__%s__%s__%d", kind, name, b.counter), Offset: b.off()})
	b.words = append(b.words, id)
	return b
}

// idFlags is BTF_ID_FLAGS(kind, name, flags) inside a set8.
func (b *builder) idFlags(kind, name string, id, flags uint32) *builder {
	b.id(kind, name, id)
	b.words = append(b.words, flags)
	return b
}

// unused is BTF_ID_UNUSED: a zero word without a symbol.
func (b *builder) unused() *builder {
	b.words = append(b.words, 0)
	return b
}

// raw appends words no symbol names (a set entry without its own symbol).
func (b *builder) raw(w ...uint32) *builder {
	b.words = append(b.words, w...)
	return b
}

// label is BTF_ID_LIST(name): a symbol without data.
func (b *builder) label(name string) *builder {
	b.syms = append(b.syms, Symbol{Name: name, Offset: b.off()})
	return b
}

// set is BTF_SET_START(name) with cnt as resolve_btfids writes it; the
// entries follow with id or raw.
func (b *builder) set(name string, cnt uint32) *builder {
	b.label(name)
	b.syms = append(b.syms, Symbol{Name: "__BTF_ID__set__" + name, Offset: b.off()})
	b.words = append(b.words, cnt)
	return b
}

// set8 is BTF_SET8_START / BTF_KFUNCS_START(name) with its header flags.
func (b *builder) set8(name string, cnt, flags uint32) *builder {
	b.label(name)
	b.syms = append(b.syms, Symbol{Name: "__BTF_ID__set8__" + name, Offset: b.off()})
	b.words = append(b.words, cnt, flags)
	return b
}

func (b *builder) bytes() []byte {
	out := make([]byte, len(b.words)*wordSize)
	for i, w := range b.words {
		b.order.PutUint32(out[i*wordSize:], w)
	}
	return out
}

// words decodes a section into words for comparison.
func words(order binary.ByteOrder, data []byte) []uint32 {
	out := make([]uint32, len(data)/wordSize)
	for i := range out {
		out[i] = order.Uint32(data[i*wordSize:])
	}
	return out
}

// setsSorted reports whether every set and set8 in data, laid out as s
// found them, is sorted by id.
func setsSorted(s *Section, data []byte) bool {
	for _, st := range s.sets {
		first, stride := st.entries()
		for k := uint64(1); k < uint64(st.count); k++ {
			if s.order.Uint32(data[first+k*stride:]) < s.order.Uint32(data[first+(k-1)*stride:]) {
				return false
			}
		}
	}
	return true
}

// byteOrders are both orders every hand-built case runs in.
var byteOrders = []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}
