package btf

import "encoding/binary"

// specBuilder makes small specs by hand for tests.
type specBuilder struct {
	s    *Spec
	strs map[string]uint32
}

func newSpec(order binary.ByteOrder, base *Spec) *specBuilder {
	b := &specBuilder{s: &Spec{Order: order, Base: base, Header: Header{Version: 1, HdrLen: HeaderLen}}, strs: map[string]uint32{}}
	if base == nil {
		b.s.Strings = []byte{0}
		b.strs[""] = 0
	}
	return b
}

func (b *specBuilder) str(s string) uint32 {
	if s == "" && b.s.Base != nil {
		return 0
	}
	if off, ok := b.strs[s]; ok {
		return off
	}
	off := b.s.StrBase() + uint32(len(b.s.Strings))
	b.s.Strings = append(append(b.s.Strings, s...), 0)
	b.strs[s] = off
	return off
}

func info(k Kind, vlen int, kflag bool) uint32 {
	i := uint32(k)<<24 | uint32(vlen)
	if kflag {
		i |= 1 << 31
	}
	return i
}

// add appends a type and returns its ID.
func (b *specBuilder) add(name string, k Kind, vlen int, kflag bool, sizeType uint32, extra ...uint32) TypeID {
	b.s.Types = append(b.s.Types, Type{NameOff: b.str(name), Info: info(k, vlen, kflag), SizeType: sizeType, Extra: extra})
	return b.s.NextID() - 1
}

// everyKind builds a base spec with one or more types of every kind 1-19.
func everyKind(order binary.ByteOrder) *Spec {
	b := newSpec(order, nil)
	i32 := b.add("int", KindInt, 0, false, 4, 1<<24|32)                                                   // 1
	ptr := b.add("", KindPtr, 0, false, uint32(i32))                                                      // 2
	arr := b.add("", KindArray, 0, false, 0, uint32(i32), uint32(i32), 4)                                 // 3
	st := b.add("s", KindStruct, 2, true, 8, b.str("a"), uint32(i32), 3<<24, b.str("b"), uint32(ptr), 32) // 4, bitfield
	b.add("u", KindUnion, 1, false, 4, b.str("x"), uint32(i32), 0)                                        // 5
	b.add("e", KindEnum, 2, true, 4, b.str("E1"), 0xffffffff, b.str("E2"), 1)                             // 6
	b.add("fw", KindFwd, 0, true, 0)                                                                      // 7
	td := b.add("td", KindTypedef, 0, false, uint32(st))                                                  // 8
	b.add("", KindVolatile, 0, false, uint32(td))                                                         // 9
	b.add("", KindConst, 0, false, uint32(arr))                                                           // 10
	b.add("", KindRestrict, 0, false, uint32(ptr))                                                        // 11
	proto := b.add("", KindFuncProto, 2, false, uint32(i32), b.str("p"), uint32(i32), 0, 0)               // 12, variadic
	fn := b.add("f", KindFunc, 0, false, uint32(proto))                                                   // 13
	v := b.add("v", KindVar, 0, false, uint32(i32), 1)                                                    // 14
	b.add(".data", KindDatasec, 1, false, 8, uint32(v), 0, 4)                                             // 15
	b.add("double", KindFloat, 0, false, 8)                                                               // 16
	b.add("bpf_kfunc", KindDeclTag, 0, false, uint32(fn), 0xffffffff)                                     // 17
	b.add("user", KindTypeTag, 0, false, uint32(i32))                                                     // 18
	b.add("e64", KindEnum64, 1, true, 8, b.str("BIG"), 1, 2)                                              // 19
	return b.s
}
