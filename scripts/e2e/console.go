package e2e

import (
	"fmt"
	"strconv"
	"strings"
)

// probeMarker starts every machine-readable line the guest prints.
const probeMarker = "PROBE "

// parser collects PROBE lines from the console into a Result.
type parser struct {
	res      *Result
	release  string
	booted   bool // "PROBE boot" seen: /init runs
	done     bool // "PROBE done" seen: the probe finished
	end      bool // "PROBE end" seen: /init finished
	dmesgN   int  // announced number of BTF log lines
	problems []string
}

func newParser() *parser {
	return &parser{res: &Result{
		Fentry:    map[string]string{},
		ModuleBTF: map[string]bool{},
		Insmod:    map[string]string{},
		Gone:      map[string]string{},
		Kfunc:     map[string]string{},
		ABI:       map[string]string{},
	}}
}

// line takes one console line. The marker may follow other text on the
// same line (a kernel message without a newline), so it is searched for.
func (p *parser) line(l string) {
	l = strings.TrimRight(l, "\r\n")
	i := strings.Index(l, probeMarker)
	if i < 0 {
		return
	}
	rest := l[i+len(probeMarker):]
	kind, args, _ := strings.Cut(rest, " ")
	switch kind {
	case "boot":
		p.booted = true
		p.release = args
	case "insmod":
		name, status, ok := strings.Cut(args, " ")
		if !ok {
			p.bad(l)
			return
		}
		p.res.Insmod[name] = result(status)
	case "btf":
		name, status, ok := strings.Cut(args, " ")
		if !ok || (status != "yes" && status != "no") {
			p.bad(l)
			return
		}
		p.res.ModuleBTF[name] = status == "yes"
	case "fentry":
		name, status, ok := strings.Cut(args, " ")
		if !ok {
			p.bad(l)
			return
		}
		p.res.Fentry[name] = result(status)
	case "kfunc":
		name, status, ok := strings.Cut(args, " ")
		if !ok {
			p.bad(l)
			return
		}
		p.res.Kfunc[name] = status
	case "gone":
		name, status, ok := strings.Cut(args, " ")
		if !ok {
			p.bad(l)
			return
		}
		p.res.Gone[name] = status
	case "abi-start":
		p.res.ABIOrder = append(p.res.ABIOrder, args)
	case "abi":
		name, rest, ok := strings.Cut(args, " ")
		if !ok {
			p.bad(l)
			return
		}
		p.res.ABI[name] = rest
	case "dmesg-btf-errors":
		n, err := strconv.Atoi(args)
		if err != nil {
			p.bad(l)
			return
		}
		p.dmesgN = n
	case "dmesg":
		p.res.BTFErrors = append(p.res.BTFErrors, args)
	case "done":
		p.done = true
	case "end":
		p.end = true
	case "note":
		p.res.Notes = append(p.res.Notes, args)
	case "dmesg-begin":
	default:
		p.bad(l)
	}
}

// result turns "ok" into "ok" and "err TEXT" into TEXT. An error without
// text stays "err" so that it never reads as success.
func result(status string) string {
	if status == "ok" {
		return "ok"
	}
	if t, ok := strings.CutPrefix(status, "err "); ok && strings.TrimSpace(t) != "" {
		return strings.TrimSpace(t)
	}
	return status
}

func (p *parser) bad(l string) {
	p.problems = append(p.problems, fmt.Sprintf("unparsable probe line %q", l))
}

// check reports what is missing from a complete run.
func (p *parser) check() error {
	switch {
	case !p.booted:
		return fmt.Errorf("guest never ran /init (no %q line)", probeMarker+"boot")
	case !p.done:
		return fmt.Errorf("probe did not finish (no %q line)", probeMarker+"done")
	case p.dmesgN != len(p.res.BTFErrors):
		return fmt.Errorf("probe announced %d BTF log lines, console has %d", p.dmesgN, len(p.res.BTFErrors))
	case len(p.problems) > 0:
		return fmt.Errorf("%s", strings.Join(p.problems, "; "))
	}
	return nil
}
