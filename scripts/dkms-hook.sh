#!/usr/bin/env bash
# Runs the DKMS recipe of docs/packaging.md ("DKMS: after make") with the
# real dkms, for TestBootAcceptance in scripts/e2e: the module of
# testdata/kbuild/module becomes the dkms package btffilter-kbuild 1.0,
# whose dkms.conf has the MAKE[0] line of docs/packaging.md and whose
# sources have btffilter-dkms.sh, the document's snippet "dkms-make", both
# taken from the document itself. dkms builds it against the Debian 7.2
# amd64 headers in the sid chroot (installed by scripts/build-dkms.sh),
# with the given btffilter first on PATH, then strips and signs it. What
# dkms made and its make.log (with btffilter's report) are copied into
# OUTDIR, and the package is removed from dkms again.
#
# Not cached: it runs the btffilter it is given. Takes a few seconds.
#
# Usage: scripts/dkms-hook.sh BTFFILTER OUTDIR    (OUTDIR under /tmp or the cache)
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

(($# == 2)) || bf_die "usage: scripts/dkms-hook.sh BTFFILTER OUTDIR"
tool=$(readlink -f "$1")
out=$(readlink -f "$2")
[[ -x $tool ]] || bf_die "$1: not an executable"
# The sid chroot sees /tmp and the cache at their own paths.
for p in "$tool" "$out"; do
	case $p in
	/tmp/* | "$BF_CACHE"/*) ;;
	*) bf_die "$p: not under /tmp or $BF_CACHE (the sid chroot sees only those)" ;;
	esac
done
bash "$here/build-dkms.sh" 7.2-amd64 >/dev/null
release=$(<"$BF_CACHE/headers/7.2-amd64/release")
doc=$root/docs/packaging.md
make_line=$(grep -m1 '^MAKE\[0\]=' "$doc") || bf_die "$doc has no MAKE[0]= line"
src=$out/src
mkdir -p "$src"
cp "$root"/testdata/kbuild/module/* "$src/"
awk '/^<!-- snippet dkms-make -->$/ { on = 1; next } on && /^```/ { if (seen++) exit; next } on { print }' "$doc" >"$src/btffilter-dkms.sh"
[[ -s $src/btffilter-dkms.sh ]] || bf_die "$doc has no snippet dkms-make"
{
	cat <<'EOF'
PACKAGE_NAME="btffilter-kbuild"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="btffilter_kbuild"
DEST_MODULE_LOCATION[0]="/updates/dkms"
CLEAN="make -C ${kernel_source_dir} M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build clean"
EOF
	printf '%s\n' "$make_line"
} >"$src/dkms.conf"

mkdir -p "$BF_CACHE/dkms"
exec 8>"$BF_CACHE/dkms/.lock"
flock 8
bf_step "dkms build of testdata/kbuild/module with the MAKE line of docs/packaging.md" >&2
# shellcheck disable=SC2016 # expanded by the shell inside the chroot
bash "$here/sid-chroot.sh" run bash -euo pipefail -c '
	src=$1 out=$2 tooldir=$3 release=$4
	dkms remove -m btffilter-kbuild -v 1.0 --all >/dev/null 2>&1 || true
	rm -rf /usr/src/btffilter-kbuild-1.0 /var/lib/dkms/btffilter-kbuild
	cp -r "$src" /usr/src/btffilter-kbuild-1.0
	dkms add -m btffilter-kbuild -v 1.0
	status=0
	PATH=$tooldir:$PATH dkms build -m btffilter-kbuild -v 1.0 -k "$release" --force || status=$?
	built=/var/lib/dkms/btffilter-kbuild/1.0
	cp "$built/$release"/x86_64/module/*.ko* "$out/" 2>/dev/null || true
	cp "$built/$release/x86_64/log/make.log" "$out/" 2>/dev/null || cp "$built/build/make.log" "$out/" 2>/dev/null || true
	dkms remove -m btffilter-kbuild -v 1.0 --all >/dev/null
	rm -rf /usr/src/btffilter-kbuild-1.0
	exit $status
' - "$src" "$out" "$(dirname "$tool")" "$release" >"$out/dkms.log" 2>&1 || {
	tail -n 30 "$out/dkms.log" >&2
	[[ ! -f $out/make.log ]] || tail -n 30 "$out/make.log" >&2
	bf_die "dkms build of btffilter-kbuild failed"
}
