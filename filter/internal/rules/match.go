package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// Matching a BTF FUNC with what the ELF file says about the function.
//
// By name, as pahole does: the DWARF subprograms whose (origin-resolved)
// name is the FUNC's, and the ELF function symbols whose name up to its
// first '.' is the FUNC's. A static function may be defined in several
// units (one DWARF definition each, one symbol each); an inlined function
// has an abstract root (no code) and possibly concrete out-of-line
// instances pointing at it through DW_AT_abstract_origin; gcc's clones
// (NAME.isra.N, NAME.constprop.N) are concrete instances of the root at the
// clone symbol's address. NAME.part.N and NAME.cold are fragments of a
// function's body, not functions: no rule counts them as the function's
// symbols (ambiguous, attached), but a gcc NAME.part.N is a concrete
// instance of the root too, and pahole flags the name when that instance's
// parameters are reordered (signature.go), so its symbol is kept aside to
// name it.

// judge holds the per-file indexes the rules share.
type judge struct {
	in     Input
	byName map[string][]int    // DWARF.Funcs indexes by name
	syms   map[string][]Symbol // function symbols by name up to the first '.'
	frags  map[string][]Symbol // fragment symbols (fragment) likewise
	// unjudged counts FUNCs a rule could not decide, by rule and reason.
	unjudged map[string]map[string]int
	pointees map[uint64]string // pointeeKey's cache, of the targets it could read
	// unreadable lists the pointer targets whose DIE could not be read,
	// as met (again each time: they are not cached), and why.
	unreadable []unreadableTarget
}

// unreadableTarget is a pointer target whose DIE could not be read.
type unreadableTarget struct {
	off uint64
	err error
}

func newJudge(in Input) *judge {
	c := &judge{in: in, byName: map[string][]int{}, syms: map[string][]Symbol{}, frags: map[string][]Symbol{}, unjudged: map[string]map[string]int{}}
	if in.DWARF != nil {
		// Rust units are not C: their functions' short names collide with
		// C functions (panic, kstrtobool), and pahole leaves them out
		// (the kernel runs it with --lang_exclude=rust). Likewise a
		// subprogram whose linkage name differs from its name is not the
		// C function of that name.
		foreign := make([]bool, len(in.DWARF.Units))
		for i, u := range in.DWARF.Units {
			foreign[i] = strings.Contains(u.Producer, "rustc")
		}
		for i := range in.DWARF.Funcs {
			f := &in.DWARF.Funcs[i]
			if f.Name == "" || f.Unit >= 0 && f.Unit < len(foreign) && foreign[f.Unit] ||
				f.LinkageName != "" && f.LinkageName != f.Name {
				continue
			}
			c.byName[f.Name] = append(c.byName[f.Name], i)
		}
	}
	for _, s := range in.Symbols {
		base, _, _ := strings.Cut(s.Name, ".")
		if fragment(s.Name) {
			c.frags[base] = append(c.frags[base], s)
			continue
		}
		c.syms[base] = append(c.syms[base], s)
	}
	return c
}

// fragment reports symbol names that are a piece of a function's body.
func fragment(name string) bool {
	_, suffix, ok := strings.Cut(name, ".")
	return ok && (strings.Contains("."+suffix, ".cold") || strings.Contains("."+suffix, ".part"))
}

// cannot records that rule could not judge a FUNC, for the warnings.
func (c *judge) cannot(rule, why string) { c.countUnjudged(rule, why, 1) }

func (c *judge) countUnjudged(rule, why string, n int) {
	m := c.unjudged[rule]
	if m == nil {
		m = map[string]int{}
		c.unjudged[rule] = m
	}
	m[why] += n
}

func (c *judge) warnings() []string {
	var out []string
	for rule, m := range c.unjudged {
		for why, n := range m {
			out = append(out, fmt.Sprintf("rule %s could not judge %d function(s): %s", rule, n, why))
		}
	}
	sort.Strings(out)
	if w := c.pointeeWarning(); w != "" {
		out = append(out, w)
	}
	return out
}

// subject is one BTF FUNC with everything matched to it.
type subject struct {
	id    btf.TypeID
	name  string
	proto *btf.Type // its FUNC_PROTO, nil when the FUNC is malformed
	// defs are the DWARF subprograms with code (definitions, out-of-line
	// instances, clones); decls the others (declarations, abstract roots).
	defs, decls []*dwarf.Func
	// syms are the ELF function symbols of the name (fragments excluded);
	// frags the fragments' (NAME.part.N, NAME.cold).
	syms, frags []Symbol
}

func (c *judge) subject(id btf.TypeID, name string, fn *btf.Type) *subject {
	s := &subject{id: id, name: name, syms: c.syms[name], frags: c.frags[name]}
	if p, err := c.in.Spec.Type(btf.TypeID(fn.SizeType)); err == nil && p != nil && p.Kind() == btf.KindFuncProto {
		s.proto = p
	}
	for _, i := range c.byName[name] {
		f := &c.in.DWARF.Funcs[i]
		if f.HasPC && !f.Declaration {
			s.defs = append(s.defs, f)
		} else {
			s.decls = append(s.decls, f)
		}
	}
	return s
}

// root returns the subprogram that lists f's declared parameters: f itself,
// or the abstract root its DW_AT_abstract_origin chain leads to.
func (c *judge) root(f *dwarf.Func) *dwarf.Func {
	for i := 0; i < 8 && f.Origin != 0; i++ {
		o, ok := c.in.DWARF.FuncAt(f.Origin)
		if !ok {
			break
		}
		f = o
	}
	if len(f.Params) == 0 && f.Specification != 0 {
		if sp, ok := c.in.DWARF.FuncAt(f.Specification); ok && len(sp.Params) > 0 {
			return sp
		}
	}
	return f
}

// declared returns the declared parameters of f (its root's), without
// artificial ones. The result may be the root's own slice: callers only
// read it.
func (c *judge) declared(f *dwarf.Func) []dwarf.Param {
	r := c.root(f)
	if !slices.ContainsFunc(r.Params, func(p dwarf.Param) bool { return p.Artificial }) {
		return r.Params
	}
	out := make([]dwarf.Param, 0, len(r.Params))
	for _, p := range r.Params {
		if !p.Artificial {
			out = append(out, p)
		}
	}
	return out
}

// entryParams maps the declared parameters of a code instance to the
// instance's own parameter DIEs (which carry the entry locations): nil where
// the instance lists no DIE for a declared parameter. extra counts instance
// parameters that stand for no declared one.
func (c *judge) entryParams(f *dwarf.Func) (decl []dwarf.Param, inst []*dwarf.Param, extra int) {
	decl = c.declared(f)
	inst = make([]*dwarf.Param, len(decl))
	r := c.root(f)
	if r == f {
		for i := range decl {
			inst[i] = &decl[i]
		}
		return decl, inst, 0
	}
	pos := map[uint64]int{}
	for i, p := range decl {
		pos[p.Offset] = i
	}
	for i := range f.Params {
		p := &f.Params[i]
		if j, ok := pos[p.Origin]; ok && p.Origin != 0 {
			inst[j] = p
		} else if !p.Artificial {
			extra++
		}
	}
	return decl, inst, extra
}

// attached returns the code instances the kernel attaches to for the FUNC:
// those at the address of a symbol named exactly like it. Without symbols
// every definition counts.
func (c *judge) attached(s *subject) []*dwarf.Func {
	if c.in.Symbols == nil {
		return s.defs
	}
	var out []*dwarf.Func
	for _, f := range s.defs {
		for _, sym := range s.syms {
			if sym.Name == s.name && sym.Value == f.LowPC {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// symbolAt returns the name of a symbol of s at f's entry, "" if none.
func symbolAt(s *subject, f *dwarf.Func) string {
	for _, sym := range s.syms {
		if sym.Value == f.LowPC {
			return sym.Name
		}
	}
	return ""
}

// placeOf names the code instance f: the symbol of s (fragments included)
// at its entry, or its address.
func placeOf(s *subject, f *dwarf.Func) string {
	if n := symbolAt(s, f); n != "" {
		return n
	}
	for _, sym := range s.frags {
		if sym.Value == f.LowPC {
			return sym.Name
		}
	}
	return fmt.Sprintf("the code at %#x", f.LowPC)
}

// prototypes returns one code instance per distinct declared prototype
// (by root), definitions first; declarations when nothing has code.
func (c *judge) prototypes(s *subject) []*dwarf.Func {
	seen := map[*dwarf.Func]bool{}
	var out []*dwarf.Func
	for _, list := range [][]*dwarf.Func{s.defs, s.decls} {
		for _, f := range list {
			r := c.root(f)
			if !seen[r] {
				seen[r] = true
				out = append(out, f)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return out
}
