// Command probe runs inside the test VM that package e2e boots. It tries to
// attach a minimal fentry program to each named kernel function, reports
// whether /sys/kernel/btf/MODULE exists for each module named with -btf, and
// lists the kernel log lines that mention BTF. Every result is one line on
// standard output that starts with "PROBE ", so the host can pick them out of
// the serial console among kernel messages.
//
// Usage:
//
//	probe [-btf MODULE]... [-fentry-list FILE] [-gone-list FILE] [-abi-list FILE] [-kfunc-call FILE] [-keep] [-gone-no-attach] [FUNC | MODULE:FUNC]...
//
// Output lines, in this order:
//
//	PROBE btf MODULE yes|no
//	PROBE abi-start NAME                                 (-abi-list, before each)
//	PROBE abi NAME ok|refused|error ...                  (see probeABI)
//	PROBE kfunc PROGRAM ok RETVAL | err TEXT           (-kfunc-call)
//	PROBE fentry TARGET ok
//	PROBE fentry TARGET err TEXT
//	PROBE gone TARGET absent|present|nobtf ok|err TEXT|skip (-gone-list)
//	PROBE dmesg-btf-errors N
//	PROBE dmesg TEXT            (N lines)
//	PROBE done
//
// A MODULE:FUNC target must be found in that module's BTF, and cilium/ebpf
// resolves fentry targets by name alone (vmlinux first, then modules in load
// order), so the probe refuses the attach when the name would resolve to a
// different BTF object than the one asked for.
//
// -fentry-list adds the targets of a file to those of the command line;
// -gone-list checks removed functions (probeGone); -abi-list runs the ABI
// probe on the functions of the abiprobe module (probeABI, testdata/abiprobe);
// -kfunc-call runs the syscall programs of a BPF object that call kfuncs
// (callKfuncs, testdata/abiprobe/kfunc.bpf.c).
// -keep leaves every link attached and powers off from the probe after
// printing the kernel log (keepLinks).
package main
