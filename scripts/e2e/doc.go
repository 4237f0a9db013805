// Package e2e boots real kernels under QEMU (TCG) with a busybox initramfs,
// loads kernel modules with insmod and tries to attach BPF fentry programs to
// functions by name. It is the end-to-end check that BTF rewritten by
// btffilter is still accepted by the kernel: module BTF must load
// (/sys/kernel/btf/MODULE, docs/facts.md §6) and kept functions must stay
// attachable (docs/facts.md §1-2).
//
// Run builds the initramfs (cpio newc, written here), the probe binary
// (scripts/e2e/probe, a static Go program) for the guest architecture, boots
// the kernel and parses the "PROBE ..." lines the guest prints on its serial
// console. amd64, arm64, riscv64 (virt, OpenSBI) and s390x (s390-ccw-virtio,
// from the compressed image with the vmlinux's BTF put in, s390x.go) boot. Kernels come from the cache described by package
// btffilter/scripts/kernels; busybox from $BTFFILTER_CACHE/busybox/ARCH
// (scripts/setup.sh puts it there).
//
// For the default-rules boots (TestBootDefaultRules, docs/testing.md) it
// also chooses modules and samples FUNCs deterministically (PickRich,
// Sample), builds the ABI probe module of testdata/abiprobe for a kernel
// (BuildABIProbe, through scripts/build-abiprobe.sh) and judges what the
// trampoline showed of each probe function (ABIFuncs, JudgeABI).
// TestBootAcceptance (docs/testing.md, "What the kernel accepts") compares
// btffilter --check with what booted kernels do, on modules with distilled
// bases (scripts/build-distilled.sh), on a second Debian 6.1 kernel
// (scripts/fetch-neighbour.sh) and on modules of Debian's DKMS packages as
// dkms builds them (scripts/build-dkms.sh, scripts/dkms-hook.sh). It runs
// btffilter only as a command, and reads its rules' decisions only from
// the command's report: it never imports the filter's internal packages,
// so the probe's expectation owes nothing to the models it checks.
package e2e
