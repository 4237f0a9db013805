package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The command line of the judging rules: --rules, --debuginfo, --arch,
// --kernel, a file without DWARF, and -v's pahole line format.
func TestRulesCommandLine(t *testing.T) {
	raw := filepath.Join("..", "..", "testdata", "x86_64", "gcc", "base.btf")
	obj := filepath.Join("..", "..", "testdata", "x86_64", "gcc", "base.o")
	abiObj := filepath.Join("..", "..", "testdata", "abi", "x86_64-gcc.o")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // regexp
		stderr string // regexp
	}{
		{name: "no DWARF, default rules: warning", args: []string{"-n", raw}, code: 0,
			stderr: `warning: no DWARF \(\.debug_info; give --debuginfo\): rules abi, consistent, signature not applied`},
		{name: "no DWARF, a DWARF rule named: error", args: []string{"-n", "--rules", "abi", raw}, code: 1,
			stderr: `rule\(s\) abi need DWARF`},
		{name: "no DWARF, only ambiguous named: fine", args: []string{"-n", "--rules", "ambiguous", raw}, code: 0,
			stdout: `0 functions removed`},
		{name: "separate debug file", args: []string{"-n", "--rules", "abi,signature", "--arch", "x86_64", "--debuginfo", obj, raw}, code: 0,
			stdout: `raw : .*functions removed`},
		{name: "debug file not found", args: []string{"-n", "--rules", "abi", "--debuginfo", filepath.Join(t.TempDir(), "none"), raw}, code: 1,
			stderr: `need DWARF: .*not found`},
		// A bad value, or one the files contradict, is a bad command
		// line: exit 2.
		{name: "unknown rule", args: []string{"-n", "--rules", "abi,bogus", raw}, code: 2, stderr: `unknown rule "bogus"`},
		{name: "--arch contradicts the ELF", args: []string{"-n", "--arch", "arm64", abiObj}, code: 2, stderr: `--arch arm64, but the file is x86_64`},
		{name: "bad --arch", args: []string{"-n", "--arch", "sparc", raw}, code: 2, stderr: `unknown architecture`},
		{name: "--arch contradicts the debug file", args: []string{"-n", "--rules", "abi", "--arch", "arm64", "--debuginfo", obj, raw}, code: 2,
			stderr: `--arch arm64, but the debug file .*x86_64/gcc/base.o is x86_64`},
		// Every name a report prints is an --arch; one without a model
		// says what the abi rule does not do.
		{name: "--arch with no model", args: []string{"-n", "--rules", "abi", "--arch", "i386", "--debuginfo", "../../testdata/i686/clang/base.o", "../../testdata/i686/clang/base.btf"}, code: 0,
			stderr: `there is no calling-convention model for i386, so the rule does not judge this file`},
		{name: "--arch, another spelling", args: []string{"-n", "--rules", "abi,signature", "--arch", "amd64", "--debuginfo", obj, raw}, code: 0},
		{name: "raw blob, nothing to judge by", args: []string{"-n", raw}, code: 0, stderr: `nothing was judged: no DWARF and no function symbols`},
		{name: "bad --kernel", args: []string{"-n", "--kernel", "x", raw}, code: 2, stderr: `--kernel: no kernel version`},
		{name: "bad --drop glob", args: []string{"-n", "--drop", "[", raw}, code: 2, stderr: `bad glob "\["`},
		{name: "bad --keep glob", args: []string{"-n", "--keep", "[", raw}, code: 2, stderr: `bad glob "\["`},
		{name: "--base-btf and --btf_base disagree", args: []string{"-n", "-B", raw, "--btf_base", abiObj, raw}, code: 2, stderr: `disagree`},
		{name: "bad --jobs", args: []string{"-n", "--jobs", "many", raw}, code: 2, stderr: `invalid argument "many"`},
		{name: "-v prints pahole's line", args: []string{"-n", "-v", "--kernel", "7.2", abiObj}, code: 0,
			stdout: `(?m)^pk_mis_p1: skipping BTF encoding of function due to arg 0 \(struct pk_mis, 13 bytes, packed\): ABI passes it on the stack`},
		{name: "--drop alone runs no rule", args: []string{"-n", "-v", "--kernel", "7.2", "--drop", "nosuchfunction", abiObj}, code: 0,
			stdout: `0 functions removed`},
		{name: "--drop with --rules", args: []string{"-n", "-v", "--kernel", "7.2", "--rules", "abi", "--drop", "pk_ok_p1", abiObj}, code: 0,
			stdout: `(?s)pk_ok_p1: skipping BTF encoding of function due to matches --drop pk_ok_p1.*pk_mis_p1: skipping`},
		{name: "-abi keeps the abi removals", args: []string{"-n", "--kernel", "7.2", "--rules", "-abi", abiObj}, code: 0,
			stdout: `0 functions removed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.stdout != "" && !regexp.MustCompile(tc.stdout).MatchString(stdout) {
				t.Errorf("stdout %q does not match %q", stdout, tc.stdout)
			}
			if tc.stderr != "" && !regexp.MustCompile(tc.stderr).MatchString(stderr) {
				t.Errorf("stderr %q does not match %q", stderr, tc.stderr)
			}
			if tc.code == 0 && strings.Contains(stderr, "error") {
				t.Errorf("unexpected error: %s", stderr)
			}
		})
	}
}
