#!/usr/bin/env bash
# Wall time and peak RSS of `btffilter -n` (decide everything, write
# nothing) and of pahole 1.32 `-J -j2` (encode BTF from DWARF) on the same
# vmlinux, measured alternately in one run with /usr/bin/time -v. pahole
# runs through scripts/sid-chroot.sh, whose namespace and bind mounts add a
# few milliseconds to its wall time; its peak RSS is its own (time reports
# the largest descendant).
#
# Usage: scripts/bench-vs-pahole.sh [TAG] [RUNS]   (defaults 6.1-amd64, 3)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/.."

tag=${1:-6.1-amd64}
runs=${2:-3}
vmlinux=$(readlink -f "$BF_CACHE/kernels/$tag/vmlinux")
[[ -f $vmlinux ]] || bf_die "$BF_CACHE/kernels/$tag/vmlinux missing: run scripts/fetch-kernels.sh"
[[ -x /usr/bin/time ]] || bf_die "/usr/bin/time missing (apt-get install time)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/btffilter" ./cmd/btffilter
# Both read a copy in a directory the chroot binds (/tmp); pahole writes
# its BTF to a separate file (--btf_encode_detached), so the input stays the
# same for every run.
cp "$vmlinux" "$work/vmlinux"

measure() { # NAME CMD... ; prints "NAME wall_s rss_MB"
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>"$work/err" || bf_die "$name failed: $(tail -n 3 "$work/err")"
	awk -v n="$name" '
		/Elapsed \(wall clock\)/ { split($NF, t, ":"); w = (length(t) == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
		/Maximum resident set size/ { r = $NF / 1024 }
		END { printf "%-28s wall %6.2f s   peak RSS %6.0f MB\n", n, w, r }' "$work/time"
}

bf_step "$tag: $(basename "$vmlinux"), $runs runs each, alternating"
for _ in $(seq "$runs"); do
	measure "btffilter -n" "$work/btffilter" -n "$work/vmlinux"
	measure "pahole 1.32 -J -j2" "$here/sid-chroot.sh" run pahole -J -j2 --btf_encode_detached="$work/pahole.btf" "$work/vmlinux"
done
