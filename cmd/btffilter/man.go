package main

import (
	"fmt"
	"io"
	"strings"

	flag "github.com/spf13/pflag"
)

// The manual page is made from the flag definitions themselves, so that it
// cannot say anything --help does not: `btffilter --man` prints it, and
// scripts/install.sh installs it as man1/btffilter.1.

// writeMan prints the manual page in roff (man(7) macros).
func writeMan(w io.Writer, fs *flag.FlagSet) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p(`.TH BTFFILTER 1 "" "btffilter" "User Commands"`)
	p(".SH NAME")
	p(`btffilter \- remove from Linux kernel BTF the functions it cannot describe`)
	p(".SH SYNOPSIS")
	p(`.B btffilter`)
	p(`[\fIflags\fR] \fIFILE\fR|\fIDIR\fR...`)
	p(".SH DESCRIPTION")
	p(`.B btffilter`)
	p(`reads the BTF and the DWARF of a vmlinux, of kernel modules (.ko, .ko.gz, .ko.xz, .ko.zst, signed or not) or of raw BTF blobs,`)
	p(`removes the FUNC entries whose arguments the kernel's BPF trampoline would misread or whose prototype is not the code's,`)
	p(`deduplicates what is left and rewrites .BTF in place, atomically.`)
	p(`A directory is walked for kernel modules. A vmlinux given with its modules is filtered first and the modules are moved onto it;`)
	p(`a run writes all of its files or, when any fails, none.`)
	p(".SH OPTIONS")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		p(".TP")
		head := `\fB\-\-` + roff(f.Name) + `\fR`
		if f.Shorthand != "" {
			head = `\fB\-` + f.Shorthand + `\fR, ` + head
		}
		if name != "" {
			head += ` \fI` + roff(name) + `\fR`
		}
		p("%s", head)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.Name != "jobs" {
			usage += " (default " + f.DefValue + ")"
		}
		p("%s", roff(usage))
	})
	p(".SH EXIT STATUS")
	p(".TP\n0\nEvery file was processed, whether or not anything was removed.")
	p(".TP\n1\nA file failed; no file was written, and the report says which file failed and why.")
	p(".TP\n2\nA bad command line: an unknown flag, a bad value, or a value that contradicts a file (an \\-\\-arch other than the file's, a base the module was not built on).")
	p(".SH ENVIRONMENT")
	p(".TP\nGOMEMLIMIT\nThe soft memory limit of the Go runtime; without it btffilter keeps its heap near 800 MB.")
	p(".SH EXAMPLES")
	for _, e := range examples {
		p(".PP\n%s\n.PP\n.RS\n.EX\n%s\n.EE\n.RE", roff(e.what), roff(e.cmd))
	}
	p(".SH SEE ALSO")
	p(`.BR pahole (1),`)
	p(`.BR bpftool (8).`)
	p(`The rules and the facts behind them are described in the project's docs/rules.md and docs/facts.md.`)
}

// roff escapes text for a roff line: backslashes and hyphens, and a
// leading dot or quote that would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
