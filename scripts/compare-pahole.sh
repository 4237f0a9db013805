#!/usr/bin/env bash
# Compares btffilter's decisions with pahole 1.32's on the Debian 6.1 amd64
# vmlinux (whose BTF an older pahole made): pahole re-encodes BTF from the
# DWARF with --verbose, which names every function it skips and why;
# btffilter judges the existing BTF with its default rules (-n -j). For the
# functions pahole skips for signature, consistency and ambiguity reasons,
# filter/internal/tools/compare-pahole (Go) counts how many btffilter removes and under
# which rule, and explains each one it keeps.
#
# Usage: scripts/compare-pahole.sh [TAG]   (default 6.1-amd64)
# Needs: scripts/fetch-kernels.sh and scripts/sid-chroot.sh setup done.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/.."

tag=${1:-6.1-amd64}
vmlinux=$(readlink -f "$BF_CACHE/kernels/$tag/vmlinux")
[[ -f $vmlinux ]] || bf_die "$BF_CACHE/kernels/$tag/vmlinux missing: run scripts/fetch-kernels.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bf_step "building btffilter"
go build -o "$work/btffilter" ./cmd/btffilter

bf_step "pahole: $("$here/sid-chroot.sh" run pahole --version) -J --btf_features=default --verbose on $vmlinux"
"$here/sid-chroot.sh" run pahole -J --btf_features=default --verbose \
	--btf_encode_detached="$work/pahole.btf" "$vmlinux" >"$work/pahole.out" 2>"$work/pahole.err" ||
	bf_die "pahole failed: $(tail -n 3 "$work/pahole.err")"
bf_note "$(grep -c 'skipping BTF encoding of function' "$work/pahole.out") functions skipped"

bf_step "btffilter -n -j $vmlinux"
"$work/btffilter" -n -j "$vmlinux" >"$work/btffilter.json"

bf_step "comparison"
go run ./filter/internal/tools/compare-pahole "$work/pahole.out" "$work/btffilter.json" "$vmlinux"
