#!/usr/bin/env bash
# Measures, in one run, libbpf's btf__dedup (inside scripts/dedup-oracle,
# parsing and I/O excluded) and filter/dedup (scripts/dedup-bench, decoding
# and I/O excluded) on vmlinux .BTF concatenated with itself, for the 6.1 and
# 7.2 amd64 kernels. Prints the best of RUNS runs of each, their ratio, and
# each program's peak resident memory (whole process, from /usr/bin/time).
#
# Usage: scripts/bench-dedup.sh [RUNS]   (default 5)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runs=${1:-5}
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
oracle=$("$here/dedup-oracle/build.sh")
tmp=$(mktemp -d /tmp/bench-dedup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/.." && go build -o "$tmp/dedup-bench" ./scripts/dedup-bench)

# best CMD...: runs CMD $runs times; prints the least dedup_ns and the
# largest peak RSS (KiB).
best() {
	local ns=0 rss=0 i line n r
	for ((i = 0; i < runs; i++)); do
		line=$(/usr/bin/time -f 'maxrss %M' -o "$tmp/time" "$@")
		n=$(awk '{print $2}' <<<"$line")
		r=$(awk '/^maxrss/ {print $2}' "$tmp/time")
		if ((ns == 0 || n < ns)); then ns=$n; fi
		if ((r > rss)); then rss=$r; fi
	done
	printf '%s %s %s\n' "$ns" "$rss" "$(cut -d' ' -f3- <<<"$line")"
}

printf '%-10s %12s %12s %7s %14s %14s %7s  %s\n' kernel libbpf_ms ours_ms ratio libbpf_rss_MiB ours_rss_MiB ratio types
for tag in 6.1-amd64 7.2-amd64; do
	"$tmp/dedup-bench" -make "$tag" "$tmp/in.btf"
	read -r lns lrss ltypes < <(best "$oracle" "$tmp/in.btf" "$tmp/libbpf.btf")
	read -r gns grss gtypes < <(best "$tmp/dedup-bench" "$tmp/in.btf" "$tmp/ours.btf")
	if ! cmp -s "$tmp/libbpf.btf" "$tmp/ours.btf"; then
		note="outputs differ in bytes"
	else
		note="outputs byte-identical"
	fi
	awk -v tag="$tag" -v l="$lns" -v g="$gns" -v lr="$lrss" -v gr="$grss" -v t="$gtypes" -v note="$note" 'BEGIN {
		printf "%-10s %12.1f %12.1f %7.2f %14.1f %14.1f %7.2f  %s (%s)\n", tag, l/1e6, g/1e6, g/l, lr/1024, gr/1024, gr/lr, t, note
	}'
	: "$ltypes"
done
