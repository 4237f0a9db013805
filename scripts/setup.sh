#!/usr/bin/env bash
# Installs the tools the tests and scripts need on a Debian bookworm machine
# (run as root) and places static busybox binaries for amd64, arm64, riscv64
# and s390x in the cache, for the QEMU initramfs. Idempotent: when everything
# is present it only checks and returns.
#
# Usage: scripts/setup.sh
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

packages=(
	qemu-system-x86 qemu-system-arm busybox-static
	binutils-aarch64-linux-gnu gcc-aarch64-linux-gnu
	# riscv64 and s390x boots: QEMU, OpenSBI (the riscv64 virt machine's
	# firmware) and the binutils that turn a riscv64 vmlinux into an Image.
	qemu-system-misc opensbi binutils-riscv64-linux-gnu
	# Cross compilers of the DWARF and ABI fixtures of the other 64-bit
	# architectures (testdata/dwarf/build.sh, scripts/build-abi-fixtures.sh).
	gcc-s390x-linux-gnu gcc-powerpc64le-linux-gnu gcc-riscv64-linux-gnu
	clang llvm lld dwarves bpftool
	zstd xz-utils gzip cpio debootstrap file
	# Also used by scripts/build-fixtures.sh.
	gcc binutils gcc-arm-linux-gnueabihf openssl
	# kbuild for the ABI probe module (scripts/build-abiprobe.sh, 6.1).
	make gcc-12 libelf1
	# Used by the benchmark scripts.
	time
	# The manual page test renders the page; the durability test traces
	# the sync calls.
	man-db strace
	# elfio's rewrite test makes XFS and ext4 images, to see a new version
	# cloned on one and written by direct I/O on the other.
	xfsprogs e2fsprogs
	# Kernel builds on the host (scripts/build-kernel.sh 6.1-*).
	make bc bison flex libelf-dev libssl-dev kmod python3
)

[[ $(id -u) == 0 ]] || bf_die "run as root (apt-get install is needed)"
export DEBIAN_FRONTEND=noninteractive
# Other jobs may hold the dpkg lock for a while; wait instead of failing.
apt_install_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)

# --- 1. system packages -----------------------------------------------------
missing=()
for p in "${packages[@]}"; do
	if [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) != "ii " ]]; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	bf_step "packages: all ${#packages[@]} installed"
else
	bf_step "packages: installing ${missing[*]}"
	# Lists may be absent (fresh image) or stale (a fixed .deb was replaced on
	# the mirror): update first when a package has no candidate, and retry
	# once after an update when the install fails.
	need_update=0
	for p in "${missing[@]}"; do
		cand=$(apt-cache policy "$p" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
		if [[ -z $cand || $cand == "(none)" ]]; then
			need_update=1
		fi
	done
	if ((need_update)); then
		bf_step "apt-get update (a package has no candidate)"
		apt-get -qq -o DPkg::Lock::Timeout=600 update
	fi
	if ! apt-get "${apt_install_opts[@]}" install "${missing[@]}" >/tmp/btffilter-setup-apt.log 2>&1; then
		if ((need_update)); then
			cat /tmp/btffilter-setup-apt.log >&2
			bf_die "apt-get install failed"
		fi
		bf_step "apt-get update (install failed with the current lists)"
		apt-get -qq -o DPkg::Lock::Timeout=600 update
		apt-get "${apt_install_opts[@]}" install "${missing[@]}" >/tmp/btffilter-setup-apt.log 2>&1 ||
			{
				cat /tmp/btffilter-setup-apt.log >&2
				bf_die "apt-get install failed"
			}
	fi
	bf_note "installed (log: /tmp/btffilter-setup-apt.log)"
fi

# --- 2. amd64 busybox ---------------------------------------------------------
bb_src=$(dpkg-query -L busybox-static | grep -E '/bin/busybox$' | head -n1)
[[ -n $bb_src && -x $bb_src ]] || bf_die "busybox-static installs no bin/busybox"
bb_amd64=$BF_CACHE/busybox/amd64/busybox
if [[ -x $bb_amd64 ]] && cmp -s "$bb_src" "$bb_amd64"; then
	bf_step "busybox amd64: $bb_amd64 up to date"
else
	mkdir -p "${bb_amd64%/*}"
	cp "$bb_src" "$bb_amd64.tmp"
	mv "$bb_amd64.tmp" "$bb_amd64"
	bf_step "busybox amd64: copied $bb_src to $bb_amd64"
fi

# --- 3. busybox of the other architectures, without adding them to dpkg's
# architectures: from bookworm (arm64, s390x) or sid (riscv64, which bookworm
# does not have) through a private apt configuration.
# busybox_for ARCH SUITE FILE-WORDS places $BF_CACHE/busybox/ARCH/busybox;
# FILE-WORDS is what file(1) must say about it.
busybox_for() {
	local arch=$1 suite=$2 want=$3 bb ver deb tmp src
	bb=$BF_CACHE/busybox/$arch/busybox
	if [[ -x $bb && $(file -b "$bb") == *"$want"*"statically linked"* ]]; then
		bf_step "busybox $arch: $bb present ($(cat "$BF_CACHE/busybox/$arch/version" 2>/dev/null || echo unknown version))"
		return 0
	fi
	case $suite in
	bookworm) bf_apt_bookworm "$arch" ;;
	sid) bf_apt_sid "$arch" ;;
	esac
	bf_apt_ensure_lists
	ver=$(bf_apt_field busybox-static Version)
	if [[ -z $ver ]]; then
		bf_apt_update
		ver=$(bf_apt_field busybox-static Version)
	fi
	[[ -n $ver ]] || bf_die "busybox-static:$arch not found in $BF_APT_DIR/sources.list"
	bf_download busybox-static "$ver" "$arch" "$BF_CACHE/debs"
	deb=$BF_CACHE/debs/$(bf_deb_file busybox-static "$ver" "$arch")
	mkdir -p "$BF_CACHE/busybox"
	tmp=$(mktemp -d "$BF_CACHE/busybox/.$arch.XXXXXX")
	dpkg-deb -x "$deb" "$tmp"
	src=$(find "$tmp" -path '*/bin/busybox' -type f | head -n1)
	[[ -n $src ]] || bf_die "$deb: no bin/busybox inside"
	[[ $(file -b "$src") == *"$want"* ]] || bf_die "$deb: bin/busybox is not an $arch binary: $(file -b "$src")"
	mkdir -p "${bb%/*}"
	mv "$src" "$bb.tmp"
	mv "$bb.tmp" "$bb"
	printf 'busybox-static %s %s\n' "$ver" "$arch" >"$BF_CACHE/busybox/$arch/version"
	rm -rf "$tmp"
	bf_step "busybox $arch: $bb from busybox-static $ver ($suite)"
}
busybox_for arm64 bookworm "ARM aarch64"
busybox_for s390x bookworm "IBM S/390"
busybox_for riscv64 sid "RISC-V"

bf_step "setup done"
