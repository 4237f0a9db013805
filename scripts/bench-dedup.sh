#!/usr/bin/env bash
# Compares libbpf's btf__dedup (scripts/dedup-oracle) with filter/internal/dedup
# (filter/internal/tools/dedup-bench) on vmlinux .BTF concatenated with itself, for the 6.1
# and 7.2 amd64 kernels. filter/internal/dedup runs in both its modes: copying (the
# default: the input spec is left alone) and in place (Options.InPlace: the
# decoded types are rewritten where they are, as btf__dedup rewrites its own).
#
# Every program reads the same raw BTF file into memory and parses it, then
# dedups it; none writes anything in the measured runs. The sides run
# alternately, RUNS times each, so that load on the machine hits all alike;
# the medians are reported.
#
#   dedup_ms   time inside the dedup call alone (parsing and I/O excluded)
#   peak_MiB   peak resident memory of the parse+dedup process (time -v)
#   max_MiB    the largest peak of all runs: Go's peak depends on whether a
#              garbage collection happens to run during the dedup, so this
#              worst case is the figure to hold against a memory target
#   growth     the dedup's own memory: median peak of parse+dedup minus the
#              median peak of a process that only parses (dedup-* -p)
#
# Every ratio divides by libbpf's median.
# After the measured runs, one run of each side writes its output, and the
# outputs are compared byte for byte.
#
# Usage: scripts/bench-dedup.sh [RUNS]   (default 9)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runs=${1:-9}
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
oracle=$("$here/dedup-oracle/build.sh")
root=$("$here/sid-chroot.sh" path)
# shellcheck disable=SC2016 # ${Version} is dpkg-query's field, not the shell's
libbpf=$(chroot "$root" dpkg-query -W -f='${Version}' libbpf-dev)
tmp=$(mktemp -d /tmp/bench-dedup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/.." && go build -o "$tmp/dedup-bench" ./filter/internal/tools/dedup-bench)
bench=$tmp/dedup-bench
echo "libbpf: libbpf-dev $libbpf from the sid chroot, linked statically ($oracle)"
echo "go: $(go version | cut -d' ' -f3-), GOGC=${GOGC:-default} GOMAXPROCS=${GOMAXPROCS:-default}"
echo "$runs runs per side, alternating; medians; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# measure FILE CMD...: runs CMD once under /usr/bin/time -v and appends
# "NS RSS_KIB" to FILE.
measure() {
	local file=$1 line ns rss
	shift
	line=$(/usr/bin/time -v -o "$tmp/time" "$@")
	ns=$(awk '{print $2}' <<<"$line")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
	printf '%s %s\n' "$ns" "$rss" >>"$file"
}

# median FILE COLUMN: the median of a column of numbers.
median() {
	cut -d' ' -f"$2" "$1" | sort -n | awk '{v[NR] = $1} END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

for tag in 6.1-amd64 7.2-amd64; do
	"$bench" -make "$tag" "$tmp/in.btf"
	for s in lb cp ip lbp gop; do : >"$tmp/$s"; done
	for ((i = 0; i < runs; i++)); do
		measure "$tmp/lb" "$oracle" "$tmp/in.btf"
		measure "$tmp/cp" "$bench" "$tmp/in.btf"
		measure "$tmp/ip" "$bench" -i "$tmp/in.btf"
		measure "$tmp/lbp" "$oracle" -p "$tmp/in.btf"
		measure "$tmp/gop" "$bench" -p "$tmp/in.btf"
	done
	"$oracle" "$tmp/in.btf" "$tmp/libbpf.btf" >/dev/null
	"$bench" "$tmp/in.btf" "$tmp/cp.btf" >"$tmp/cp.line"
	"$bench" -i "$tmp/in.btf" "$tmp/ip.btf" >"$tmp/ip.line"
	same="byte-identical to libbpf's"
	for s in cp ip; do
		cmp -s "$tmp/libbpf.btf" "$tmp/$s.btf" || same="DIFFERENT from libbpf's"
	done
	echo
	echo "$tag: $(cut -d' ' -f3-6 "$tmp/cp.line"); both modes' outputs $same"
	lbt=$(median "$tmp/lb" 1) lbr=$(median "$tmp/lb" 2) lbp=$(median "$tmp/lbp" 2) gop=$(median "$tmp/gop" 2)
	printf '  %-15s %9s %6s %9s %6s %8s %6s %10s %6s  %s\n' side dedup_ms ratio peak_MiB ratio max_MiB ratio growth_MiB ratio "samples: dedup_ms | peak_MiB"
	for s in lb cp ip; do
		case $s in
		lb) name="libbpf" base=$lbp ;;
		cp) name="ours, copying" base=$gop ;;
		ip) name="ours, in place" base=$gop ;;
		esac
		awk -v name="$name" -v t="$(median "$tmp/$s" 1)" -v r="$(median "$tmp/$s" 2)" -v p="$base" \
			-v m="$(cut -d' ' -f2 "$tmp/$s" | sort -n | tail -1)" -v lt="$lbt" -v lr="$lbr" -v lp="$lbp" \
			-v ts="$(awk '{printf "%.0f ", $1/1e6}' "$tmp/$s")" -v rs="$(awk '{printf "%.1f ", $2/1024}' "$tmp/$s")" 'BEGIN {
			printf "  %-15s %9.1f %6.2f %9.1f %6.2f %8.1f %6.2f %10.1f %6.2f  %s| %s\n", name, t/1e6, t/lt, r/1024, r/lr,
				m/1024, m/lr, (r-p)/1024, (r-p)/(lr-lp), ts, rs
		}'
	done
	awk -v l="$lbp" -v g="$gop" 'BEGIN {printf "  parse-only peak MiB: libbpf %.1f, ours %.1f\n", l/1024, g/1024}'
	awk '{printf "  heap allocated by dedup.Dedup: copying %.1f MiB, ", $8/1048576}' "$tmp/cp.line"
	awk '{printf "in place %.1f MiB\n", $8/1048576}' "$tmp/ip.line"
done
