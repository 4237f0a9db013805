package abi

// x86-64 System V psABI 3.2.3: classification per eightbyte, then register
// assignment with whole-argument fallback to the stack.

type x86Class uint8

const (
	x86None x86Class = iota // padding only: takes no register
	x86Integer
	x86SSE
)

// x86Classify returns the class of each eightbyte of a, or memory when the
// argument is passed on the stack whatever registers are left.
func x86Classify(a Arg) (classes []x86Class, memory bool) {
	switch a.Class {
	case Int, Pointer:
		return []x86Class{x86Integer}, false
	case Int128:
		return []x86Class{x86Integer, x86Integer}, false
	case Float:
		if a.Size > 8 {
			// long double is class X87, passed in memory.
			return nil, true
		}
		return []x86Class{x86SSE}, false
	case Struct, Union:
		if a.Size == 0 {
			return nil, false
		}
		// Rule 1: larger than two eightbytes (for the integer and SSE
		// classes the kernel can have), or an unaligned field: MEMORY.
		if a.Size > 16 || a.Packed {
			return nil, true
		}
		classes = make([]x86Class, a.slots())
		for _, l := range a.leaves(0, nil) {
			for eb := l.offset / 8; eb <= (l.offset+l.size-1)/8 && eb < len(classes); eb++ {
				// Merge: INTEGER wins over SSE, anything over NO_CLASS.
				switch {
				case !l.float:
					classes[eb] = x86Integer
				case classes[eb] == x86None:
					classes[eb] = x86SSE
				}
			}
		}
		return classes, false
	}
	return nil, true
}

// locateX86 assigns every argument of args.
func locateX86(args []Arg) []Location {
	out := make([]Location, len(args))
	nInt, nSSE, nsaa := 0, 0, 0
	for i, a := range args {
		classes, memory := x86Classify(a)
		needInt, needSSE := 0, 0
		for _, c := range classes {
			switch c {
			case x86Integer:
				needInt++
			case x86SSE:
				needSSE++
			}
		}
		if !memory && nInt+needInt <= len(x86IntRegs) && nSSE+needSSE <= len(x86SSERegs) {
			var slots []Slot
			for _, c := range classes {
				switch c {
				case x86Integer:
					slots = append(slots, reg(x86IntRegs[nInt]))
					nInt++
				case x86SSE:
					slots = append(slots, reg(x86SSERegs[nSSE]))
					nSSE++
				}
			}
			out[i] = Location{Slots: slots}
			continue
		}
		if a.Size == 0 {
			continue
		}
		// On the stack: 8-byte slots, 16-aligned for 16-aligned types.
		align := 8
		if a.realAlign() >= 16 {
			align = 16
		}
		nsaa = roundUp(nsaa, align)
		out[i] = Location{Slots: stackRun(nsaa, a.slots())}
		nsaa += 8 * a.slots()
	}
	return out
}
