#!/usr/bin/env bash
# Boots the cached Debian kernels under QEMU (TCG) with a busybox initramfs
# and runs the end-to-end harness checks of package scripts/e2e: shipped
# modules load with their BTF, fentry attaches by name, a corrupted module
# BTF is noticed. Prints boot times per kernel.
#
# Usage: scripts/e2e-boot.sh [TAG...]     TAG: 6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64
#                                          7.2-riscv64 7.2-s390x
# Needs scripts/setup.sh (QEMU, busybox) and scripts/fetch-kernels.sh first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh

for tool in qemu-system-x86_64 qemu-system-aarch64 aarch64-linux-gnu-objcopy \
	qemu-system-riscv64 riscv64-linux-gnu-objcopy qemu-system-s390x zstd; do
	command -v "$tool" >/dev/null || bf_die "$tool not found; run scripts/setup.sh"
done
for arch in amd64 arm64 riscv64 s390x; do
	[[ -x $BF_CACHE/busybox/$arch/busybox ]] || bf_die "$BF_CACHE/busybox/$arch/busybox missing; run scripts/setup.sh"
done

run='TestBoot'
if (($# > 0)); then
	# Subtests are named after the tag (TestBootCorruptBTF adds /strip=...).
	tags=$(IFS='|'; echo "$*")
	run="TestBoot.*/^($tags)\$"
fi
bf_step "go test -run '$run' ./scripts/e2e"
exec go test -count=1 -timeout 30m -v -run "$run" ./scripts/e2e
