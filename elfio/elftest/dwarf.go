package elftest

// DWARF 4 sections for tests: shapes no compiler emits but a corrupt or
// hostile file can hold, such as a typedef chain thousands of links long or
// one that loops back on itself.

import (
	"debug/elf"
	"encoding/binary"
)

// DWARF 4 constants used below (DWARF 4 standard, section 7).
const (
	tagCompileUnit     = 0x11
	tagSubprogram      = 0x2e
	tagFormalParameter = 0x05
	tagTypedef         = 0x16
	tagBaseType        = 0x24

	atName      = 0x03
	atByteSize  = 0x0b
	atLowPC     = 0x11
	atHighPC    = 0x12
	atPrototyed = 0x27
	atExternal  = 0x3f
	atEncoding  = 0x3e
	atType      = 0x49

	formAddr        = 0x01
	formData1       = 0x0b
	formData8       = 0x07
	formString      = 0x08
	formRef4        = 0x13
	formFlagPresent = 0x19

	ateSigned = 0x05
)

// TypedefChain returns .debug_abbrev and .debug_info holding one 64-bit
// little-endian unit with a function void fn(chain_t arg) whose parameter's
// type is a chain of links typedefs ending at int. With loop, the last typedef refers
// back to the first instead, so the chain never ends.
func TypedefChain(fn string, links int, loop bool) (abbrev, info []byte) {
	abbrev = []byte{
		1, tagCompileUnit, 1, atName, formString, 0, 0,
		2, tagSubprogram, 1, atName, formString, atExternal, formFlagPresent, atPrototyed, formFlagPresent,
		atLowPC, formAddr, atHighPC, formData8, 0, 0,
		3, tagFormalParameter, 0, atName, formString, atType, formRef4, 0, 0,
		4, tagTypedef, 0, atName, formString, atType, formRef4, 0, 0,
		5, tagBaseType, 0, atName, formString, atEncoding, formData1, atByteSize, formData1, 0, 0,
		0,
	}
	le := binary.LittleEndian
	// Unit header: length (patched last), version 4, abbrev offset 0,
	// address size 8.
	info = []byte{0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8}
	str := func(s string) { info = append(append(info, s...), 0) }
	// refs records where each ref4 goes and which DIE (by index into at) it
	// names; at[i] is the unit-relative offset of typedef i, at[links] of int.
	type fixup struct{ pos, target int }
	var refs []fixup
	at := make([]int, links+1)
	ref := func(target int) {
		refs = append(refs, fixup{len(info), target})
		info = append(info, 0, 0, 0, 0)
	}

	info = append(info, 1)
	str("dwarftest.c")
	info = append(info, 2)
	str(fn)
	info = le.AppendUint64(info, 0x1000)
	info = le.AppendUint64(info, 0x10)
	info = append(info, 3)
	str("arg")
	ref(0)
	info = append(info, 0) // end of the subprogram's children
	for i := 0; i < links; i++ {
		at[i] = len(info)
		info = append(info, 4)
		str("chain_t")
		next := i + 1
		if loop && i == links-1 {
			next = 0
		}
		ref(next)
	}
	at[links] = len(info)
	info = append(info, 5)
	str("int")
	info = append(info, ateSigned, 4)
	info = append(info, 0) // end of the unit's children

	for _, f := range refs {
		le.PutUint32(info[f.pos:], uint32(at[f.target]))
	}
	le.PutUint32(info, uint32(len(info)-4))
	return abbrev, info
}

// DebugFile wraps the sections in an x86-64 ELF executable, the shape of a
// separate debug file.
func DebugFile(abbrev, info []byte) []byte {
	return Build(elf.ELFCLASS64, binary.LittleEndian, elf.ET_EXEC, []Section{
		{Name: ".debug_abbrev", Type: elf.SHT_PROGBITS, Align: 1, Data: abbrev},
		{Name: ".debug_info", Type: elf.SHT_PROGBITS, Align: 1, Data: info},
	})
}
