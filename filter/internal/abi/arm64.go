package abi

// AAPCS64 parameter passing, stages B and C (aapcs64.rst).

// hfa reports whether a is a homogeneous floating-point aggregate (one to
// four floating-point members of one size) and how many members it has.
func hfa(a Arg) (n int, ok bool) {
	if !a.Class.aggregate() || len(a.Members) == 0 {
		return 0, false
	}
	ls := a.leaves(0, nil)
	if len(ls) == 0 || len(ls) > 4 {
		return 0, false
	}
	for _, l := range ls {
		if !l.float || l.size != ls[0].size {
			return 0, false
		}
	}
	// A union of floats overlaps its members: it is an HFA of one element
	// per distinct offset only when every leaf has its own place.
	for i := 1; i < len(ls); i++ {
		if ls[i].offset != ls[i-1].offset+ls[i-1].size {
			return 0, false
		}
	}
	return len(ls), true
}

// arm64Align is the B.5/B.6 adjusted alignment: 16 when the natural
// alignment is at least 16, else 8. The aggregate's own aligned attribute
// does not count.
func arm64Align(a Arg) int {
	if a.Align >= 16 {
		return 16
	}
	return 8
}

func locateARM64(args []Arg) []Location {
	out := make([]Location, len(args))
	ngrn, nsrn, nsaa := 0, 0, 0
	onStack := func(size, align int) Location {
		nsaa = roundUp(nsaa, align)
		n := (size + 7) / 8
		if n == 0 {
			n = 1
		}
		l := Location{Slots: stackRun(nsaa, n)}
		nsaa += 8 * n
		return l
	}
	for i, a := range args {
		switch {
		case a.Class == Float:
			// C.1-C.5: v registers; on the stack 8-aligned or 16 for long double.
			if nsrn < len(arm64FPRegs) {
				out[i] = Location{Slots: []Slot{reg(arm64FPRegs[nsrn])}}
				nsrn++
				continue
			}
			out[i] = onStack(a.Size, max(8, a.Size))
		case a.Class.aggregate():
			if n, ok := hfa(a); ok {
				// C.2/C.3: all members in consecutive v registers, or none.
				if nsrn+n <= len(arm64FPRegs) {
					var slots []Slot
					for k := 0; k < n; k++ {
						slots = append(slots, reg(arm64FPRegs[nsrn+k]))
					}
					nsrn += n
					out[i] = Location{Slots: slots}
					continue
				}
				nsrn = len(arm64FPRegs)
				out[i] = onStack(a.Size, arm64Align(a))
				continue
			}
			if a.Size > 16 {
				// B.4: a pointer to a copy, passed as an integer (C.9).
				l := locateARM64Pointer(&ngrn, &nsaa)
				l.ByRef = true
				out[i] = l
				continue
			}
			if a.Size == 0 {
				continue
			}
			align := arm64Align(a)
			if align == 16 {
				ngrn = roundUp(ngrn, 2) // C.10
			}
			if n := a.slots(); n <= len(arm64IntRegs)-ngrn { // C.12
				out[i] = Location{Slots: regRun(arm64IntRegs, ngrn, n)}
				ngrn += n
				continue
			}
			ngrn = len(arm64IntRegs) // C.13
			out[i] = onStack(a.Size, align)
		case a.Class == Int128:
			ngrn = roundUp(ngrn, 2)         // C.10
			if ngrn < len(arm64IntRegs)-1 { // C.11
				out[i] = Location{Slots: regRun(arm64IntRegs, ngrn, 2)}
				ngrn += 2
				continue
			}
			ngrn = len(arm64IntRegs) // C.13
			out[i] = onStack(16, 16)
		default:
			out[i] = locateARM64Pointer(&ngrn, &nsaa) // C.9, or C.16-C.17
		}
	}
	return out
}

// locateARM64Pointer places an argument of at most 8 bytes in the integer
// registers or on the stack.
func locateARM64Pointer(ngrn, nsaa *int) Location {
	if *ngrn < len(arm64IntRegs) {
		l := Location{Slots: []Slot{reg(arm64IntRegs[*ngrn])}}
		*ngrn++
		return l
	}
	l := Location{Slots: []Slot{stack(*nsaa)}}
	*nsaa += 8
	return l
}

// regRun is n consecutive registers of set from index first.
func regRun(set []int, first, n int) []Slot {
	out := make([]Slot, n)
	for i := range out {
		out[i] = reg(set[first+i])
	}
	return out
}
