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
package e2e
