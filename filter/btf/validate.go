package btf

import (
	"errors"
	"fmt"
	"sync"
)

// maxNameLen is the kernel's KSYM_NAME_LEN: the longest identifier a BTF
// name may be.
const maxNameLen = 512

// ValidateBlob decodes data and checks it against the rules the kernel
// applies when it loads BTF (docs/facts.md §6): the header, the tiling of its
// sections, the string section, and every record (Validate).
func ValidateBlob(data []byte, base *Spec) (*Spec, error) {
	s, err := Decode(data, base)
	if err != nil {
		return nil, err
	}
	h := &s.Header
	if h.Version != 1 {
		return nil, blobError(2, "unsupported version %d", h.Version)
	}
	if h.Flags != 0 {
		return nil, blobError(3, "unsupported flags %#x", h.Flags)
	}
	for i, b := range h.Tail {
		if b != 0 {
			return nil, blobError(int64(HeaderLen+i), "unknown header byte is %#x, not zero", b)
		}
	}
	if h.TypeOff%4 != 0 {
		return nil, blobError(8, "type section offset %#x is not 4-byte aligned", h.TypeOff)
	}
	type span struct {
		name   string
		off, n uint64
	}
	spans := []span{{"type", uint64(h.TypeOff), uint64(h.TypeLen)}, {"string", uint64(h.StrOff), uint64(h.StrLen)}}
	// An empty layout section takes no part, whatever its offset (7.x
	// external-module builds write layout_off 0 beside types at 0).
	if h.HdrLen >= HeaderLenLayout && h.LayoutLen != 0 {
		spans = append(spans, span{"layout", uint64(h.LayoutOff), uint64(h.LayoutLen)})
	}
	// btf_check_sec_info sorts by offset, then by length.
	less := func(a, b span) bool { return a.off < b.off || a.off == b.off && a.n < b.n }
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && less(spans[j], spans[j-1]); j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	end := uint64(0)
	for _, sp := range spans {
		if sp.off != end {
			return nil, blobError(-1, "%s section at %#x leaves a gap or overlap after %#x (unsupported section found)", sp.name, sp.off, end)
		}
		end += sp.n
	}
	if total := uint64(len(data)) - uint64(h.HdrLen); end != total {
		return nil, blobError(-1, "sections end at %#x but the data has %#x bytes after the header (unsupported section found)", end, total)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks the string section and every record of s against the
// kernel's per-kind rules, and that every type ID it refers to exists.
//
// The per-type checks of a large spec run in two halves beside the loop
// check, on as many cores as there are: the three only read the spec, and
// the error returned is the one a check in ID order finds first.
func (s *Spec) Validate() error {
	if err := s.validateStrings(); err != nil {
		return err
	}
	n := len(s.Types)
	if n < parallelValidate {
		if err := s.validateTypes(0, n); err != nil {
			return err
		}
		return s.checkLoops()
	}
	var errs [3]error
	var wg sync.WaitGroup
	wg.Go(func() { errs[1] = s.validateTypes(n/2, n) })
	wg.Go(func() { errs[2] = s.checkLoops() })
	errs[0] = s.validateTypes(0, n/2)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parallelValidate is the number of types from which Validate splits its
// work: a module's few thousand types are checked in well under a
// millisecond, which a second core would not shorten.
const parallelValidate = 1 << 14

// validateTypes checks Types[from:to].
func (s *Spec) validateTypes(from, to int) error {
	next := s.NextID()
	for i := from; i < to; i++ {
		id := s.FirstID() + TypeID(i)
		if err := s.validateType(id, &s.Types[i], next); err != nil {
			return typeError(id, s.Types[i].Kind(), -1, err)
		}
	}
	return nil
}

func (s *Spec) validateStrings() error {
	str := s.Strings
	if s.Base != nil && len(str) == 0 {
		return nil
	}
	if len(str) == 0 {
		return blobError(-1, "string section is empty")
	}
	if s.Base == nil && str[0] != 0 {
		return blobError(-1, "string section does not start with NUL")
	}
	if str[len(str)-1] != 0 {
		return blobError(-1, "string section does not end with NUL")
	}
	return nil
}

// Classes of the bytes of an identifier, for validIdent.
const (
	identStart  = 1 << iota // may start an identifier: a letter or '_'
	identRest               // may follow: a letter, '_' or a digit
	sectionRest             // may follow in a section name: also '.'
)

// identClass is the class of every byte value, so that validIdent reads one
// table entry a byte.
var identClass = func() (c [256]uint8) {
	for b := 0; b < 256; b++ {
		switch {
		case b == '_', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
			c[b] = identStart | identRest | sectionRest
		case b >= '0' && b <= '9':
			c[b] = identRest | sectionRest
		case b == '.':
			c[b] = sectionRest
		}
	}
	return c
}()

// validIdent is the kernel's btf_name_valid_identifier; section names may
// also hold '.', and digits anywhere.
func validIdent(name []byte, section bool) bool {
	if len(name) == 0 || len(name) >= maxNameLen {
		return false
	}
	if section {
		for _, c := range name {
			if identClass[c]&sectionRest == 0 {
				return false
			}
		}
		return true
	}
	if identClass[name[0]]&identStart == 0 {
		return false
	}
	for _, c := range name[1:] {
		if identClass[c]&identRest == 0 {
			return false
		}
	}
	return true
}

func (s *Spec) validateType(id TypeID, t *Type, next TypeID) error {
	name, err := s.StrBytes(t.NameOff)
	if err != nil {
		return err
	}
	k := t.Kind()
	// The references and string offsets of the record's elements, read
	// without a callback or a copy: this runs for every type of every
	// input and output.
	if TypeID(maxRef(t)) >= next {
		var bad uint32
		t.VisitTypeIDs(func(p *uint32) {
			if bad == 0 && TypeID(*p) >= next {
				bad = *p
			}
		})
		return fmt.Errorf("refers to type ID %d past the last type %d", bad, next-1)
	}
	if err := s.checkStrings(t); err != nil {
		return err
	}
	needName := func(what string) error {
		if !validIdent(name, false) {
			return fmt.Errorf("invalid %s name %q", what, name)
		}
		return nil
	}
	optName := func(off uint32, what string) error {
		if off == 0 {
			return nil
		}
		n, _ := s.StrBytes(off)
		if !validIdent(n, false) {
			return fmt.Errorf("invalid %s name %q", what, n)
		}
		return nil
	}
	noName := func() error {
		if t.NameOff != 0 {
			return fmt.Errorf("has a name %q where none is allowed", name)
		}
		return nil
	}
	switch k {
	case KindInt:
		enc := t.Extra[0]
		bits, off := enc&0xff, (enc>>16)&0xff
		if bits > 128 || uint64(off)+uint64(bits) > 8*uint64(t.SizeType) {
			return fmt.Errorf("invalid int encoding %#x for size %d", enc, t.SizeType)
		}
		switch t.SizeType {
		case 1, 2, 4, 8, 16:
		default:
			return fmt.Errorf("invalid int size %d", t.SizeType)
		}
		return nil
	case KindPtr, KindVolatile, KindConst, KindRestrict:
		return noName()
	case KindTypedef:
		return needName("typedef")
	case KindTypeTag, KindDeclTag:
		if len(name) == 0 {
			return errors.New("has no tag value")
		}
		if k == KindDeclTag {
			return s.validateDeclTag(t)
		}
		return nil
	case KindArray:
		if t.NameOff != 0 || t.SizeType != 0 {
			return errors.New("has a name or a size")
		}
		return s.needSize(TypeID(t.Extra[0]), "element")
	case KindStruct, KindUnion:
		if err := optName(t.NameOff, "struct"); err != nil {
			return err
		}
		for j := 0; j+2 < len(t.Extra); j += 3 {
			if err := optName(t.Extra[j], "member"); err != nil {
				return fmt.Errorf("member %d: %w", j/3, err)
			}
			if err := s.needSize(TypeID(t.Extra[j+1]), "member"); err != nil {
				return fmt.Errorf("member %d: %w", j/3, err)
			}
		}
		return nil
	case KindEnum, KindEnum64:
		if err := optName(t.NameOff, "enum"); err != nil {
			return err
		}
		switch t.SizeType {
		case 1, 2, 4, 8:
		default:
			return fmt.Errorf("invalid enum size %d", t.SizeType)
		}
		step := 2
		if k == KindEnum64 {
			step = 3
		}
		for i := 0; i < len(t.Extra); i += step {
			if t.Extra[i] == 0 {
				return fmt.Errorf("enumerator %d has no name", i/step)
			}
			if err := optName(t.Extra[i], "enumerator"); err != nil {
				return err
			}
		}
		return nil
	case KindFwd:
		return needName("forward")
	case KindFunc:
		if err := needName("function"); err != nil {
			return err
		}
		if t.KindFlag() || t.Vlen() > 1 {
			return fmt.Errorf("invalid linkage %d or kind_flag", t.Vlen())
		}
		p, err := s.Type(TypeID(t.SizeType))
		if err != nil || p == nil || p.Kind() != KindFuncProto {
			return fmt.Errorf("type %d is not a FUNC_PROTO", t.SizeType)
		}
		return nil
	case KindFuncProto:
		if err := noName(); err != nil {
			return err
		}
		n := len(t.Extra) / 2
		for i := 0; i < n; i++ {
			nameOff, typ := t.Extra[2*i], t.Extra[2*i+1]
			if typ == 0 && (i != n-1 || nameOff != 0) {
				return fmt.Errorf("parameter %d is void", i)
			}
			if err := optName(nameOff, "parameter"); err != nil {
				return err
			}
		}
		return nil
	case KindVar:
		if err := needName("variable"); err != nil {
			return err
		}
		if t.SizeType == 0 || t.Extra[0] > 2 {
			return fmt.Errorf("void type or invalid linkage %d", t.Extra[0])
		}
		return s.needSize(TypeID(t.SizeType), "variable")
	case KindDatasec:
		if !validIdent(name, true) {
			return fmt.Errorf("invalid section name %q", name)
		}
		end := uint64(0)
		for i := 0; i < len(t.Extra); i += 3 {
			off, sz := uint64(t.Extra[i+1]), uint64(t.Extra[i+2])
			if off < end || off+sz > uint64(t.SizeType) {
				return fmt.Errorf("entry %d at %d size %d is out of order or past the section size %d", i/3, off, sz, t.SizeType)
			}
			end = off + sz
		}
		return nil
	case KindFloat:
		switch t.SizeType {
		case 2, 4, 8, 12, 16:
		default:
			return fmt.Errorf("invalid float size %d", t.SizeType)
		}
		return nil
	}
	return nil
}

// maxRef returns the highest type ID t refers to (0 for none): the words
// VisitTypeIDs visits, in one switch.
func maxRef(t *Type) uint32 {
	var m uint32
	k := t.Kind()
	if k.refersByHeader() {
		m = t.SizeType
	}
	x := t.Extra
	switch k {
	case KindArray:
		if len(x) >= 2 {
			m = max(m, x[0], x[1])
		}
	case KindStruct, KindUnion:
		for i := 0; i+2 < len(x); i += 3 {
			m = max(m, x[i+1])
		}
	case KindFuncProto:
		for i := 0; i+1 < len(x); i += 2 {
			m = max(m, x[i+1])
		}
	case KindDatasec:
		for i := 0; i+2 < len(x); i += 3 {
			m = max(m, x[i])
		}
	}
	return m
}

// checkStrings checks every string offset of t (the words VisitStrings
// visits). An offset into s's own section only needs to be in range: the
// section ends with a NUL (validateStrings), so every string in it is
// terminated. Offsets into the base are read there.
func (s *Spec) checkStrings(t *Type) error {
	base, end := s.StrBase(), uint64(s.StrBase())+uint64(len(s.Strings))
	ok := func(off uint32) bool {
		if off >= base {
			return uint64(off) < end
		}
		_, err := s.Base.StrBytes(off)
		return err == nil
	}
	if !ok(t.NameOff) {
		_, err := s.StrBytes(t.NameOff)
		return err
	}
	step := 0
	switch t.Kind() {
	case KindStruct, KindUnion, KindEnum64:
		step = 3
	case KindEnum, KindFuncProto:
		step = 2
	}
	for i := 0; step > 0 && i+step-1 < len(t.Extra); i += step {
		if !ok(t.Extra[i]) {
			_, err := s.StrBytes(t.Extra[i])
			return err
		}
	}
	return nil
}

func (s *Spec) validateDeclTag(t *Type) error {
	idx := t.ComponentIdx()
	target, err := s.Type(TypeID(t.SizeType))
	if err != nil || target == nil {
		return fmt.Errorf("target %d does not exist", t.SizeType)
	}
	switch target.Kind() {
	case KindStruct, KindUnion:
		if idx >= int32(target.Vlen()) || idx < -1 {
			return fmt.Errorf("component index %d out of range", idx)
		}
	case KindFunc:
		if idx < -1 {
			return fmt.Errorf("component index %d out of range", idx)
		}
		if idx >= 0 {
			p, err := s.Type(TypeID(target.SizeType))
			if err != nil || p == nil || idx >= int32(p.Vlen()) {
				return fmt.Errorf("component index %d out of range", idx)
			}
		}
	case KindVar, KindTypedef:
		if idx != -1 {
			return fmt.Errorf("component index %d on a %v", idx, target.Kind())
		}
	default:
		return fmt.Errorf("target %d is a %v", t.SizeType, target.Kind())
	}
	return nil
}

// needSize checks that id, through typedefs, qualifiers and type tags, is a
// type with a size: what a member, an array element or a variable holds by
// value. The kernel refuses void, a forward declaration or a function there
// ("Invalid member"); deduplication would even turn a member of a forward
// declared struct into a struct containing itself.
func (s *Spec) needSize(id TypeID, what string) error {
	for depth := 0; depth < 32; depth++ {
		if id == 0 {
			return fmt.Errorf("%s is void", what)
		}
		t, err := s.Type(id)
		if err != nil {
			return err
		}
		switch t.Kind() {
		case KindInt, KindPtr, KindArray, KindStruct, KindUnion, KindEnum, KindEnum64, KindFloat:
			return nil
		case KindTypedef, KindConst, KindVolatile, KindRestrict, KindTypeTag:
			id = TypeID(t.SizeType)
		default:
			return fmt.Errorf("%s type [%d] is a %v, which has no size", what, id, t.Kind())
		}
	}
	return fmt.Errorf("%s type [%d] does not resolve: a loop of typedefs and qualifiers, or too many of them", what, id)
}
