package btf_test

import (
	"encoding/binary"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// everyKind builds a base spec with one or more types of every kind 1-19.
func everyKind(order binary.ByteOrder) *btf.Spec {
	b := btftest.NewBuilder(order, nil)
	i32 := b.Add("int", btf.KindInt, 0, false, 4, 1<<24|32)                                                   // 1
	ptr := b.Add("", btf.KindPtr, 0, false, uint32(i32))                                                      // 2
	arr := b.Add("", btf.KindArray, 0, false, 0, uint32(i32), uint32(i32), 4)                                 // 3
	st := b.Add("s", btf.KindStruct, 2, true, 8, b.Str("a"), uint32(i32), 3<<24, b.Str("b"), uint32(ptr), 32) // 4, bitfield
	b.Add("u", btf.KindUnion, 1, false, 4, b.Str("x"), uint32(i32), 0)                                        // 5
	b.Add("e", btf.KindEnum, 2, true, 4, b.Str("E1"), 0xffffffff, b.Str("E2"), 1)                             // 6
	b.Add("fw", btf.KindFwd, 0, true, 0)                                                                      // 7
	td := b.Add("td", btf.KindTypedef, 0, false, uint32(st))                                                  // 8
	b.Add("", btf.KindVolatile, 0, false, uint32(td))                                                         // 9
	b.Add("", btf.KindConst, 0, false, uint32(arr))                                                           // 10
	b.Add("", btf.KindRestrict, 0, false, uint32(ptr))                                                        // 11
	proto := b.Add("", btf.KindFuncProto, 2, false, uint32(i32), b.Str("p"), uint32(i32), 0, 0)               // 12, variadic
	fn := b.Add("f", btf.KindFunc, 0, false, uint32(proto))                                                   // 13
	v := b.Add("v", btf.KindVar, 0, false, uint32(i32), 1)                                                    // 14
	b.Add(".data", btf.KindDatasec, 1, false, 8, uint32(v), 0, 4)                                             // 15
	b.Add("double", btf.KindFloat, 0, false, 8)                                                               // 16
	b.Add("bpf_kfunc", btf.KindDeclTag, 0, false, uint32(fn), 0xffffffff)                                     // 17
	b.Add("user", btf.KindTypeTag, 0, false, uint32(i32))                                                     // 18
	b.Add("e64", btf.KindEnum64, 1, true, 8, b.Str("BIG"), 1, 2)                                              // 19
	return b.Spec
}
