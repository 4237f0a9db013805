#!/usr/bin/env bash
# Compares what two builds of btffilter do on the real Debian kernels: the
# reports (-n -j) and the rewritten bytes, for each kernel's vmlinux alone
# and for the vmlinux together with every 4th of its unstripped modules
# (sorted by path) in one run, with the default rules. A change that must
# not change behaviour (a refactoring, a speed-up) passes when every line
# says "same".
#
# Usage: scripts/compare-outputs.sh OLD NEW [TAG...]
#   OLD, NEW  a btffilter binary, or a git revision of this repository
#             (built into a temporary directory; "." is the work tree)
#   TAG       6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64 (default: all four)
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter); the kernels
# must have been fetched (scripts/fetch-kernels.sh). Needs about twice the
# size of one vmlinux plus a quarter of its module tree in $TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

(($# >= 2)) || bf_die "usage: scripts/compare-outputs.sh OLD NEW [TAG...]"
old=$1 new=$2
shift 2
tags=("$@")
((${#tags[@]})) || tags=(6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64)

work=$(mktemp -d "${TMPDIR:-/tmp}/compare-outputs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# binary REV NAME prints the path of a btffilter built from REV (or REV
# itself when it is an executable file).
binary() {
	local rev=$1 name=$2 src
	if [[ -f $rev && -x $rev ]]; then
		printf '%s\n' "$(cd "$(dirname "$rev")" && pwd)/$(basename "$rev")"
		return
	fi
	if [[ $rev == . ]]; then
		src=$here/..
	else
		src=$work/src-$name
		git -C "$here/.." worktree add -q --detach "$src" "$rev" >&2
	fi
	(cd "$src" && go build -o "$work/$name" ./cmd/btffilter) >&2
	[[ $rev == . ]] || git -C "$here/.." worktree remove --force "$src" >&2
	printf '%s\n' "$work/$name"
}
oldbin=$(binary "$old" old)
newbin=$(binary "$new" new)

fails=0
# verdict WHAT A B prints whether files A and B are the same.
verdict() {
	if cmp -s "$2" "$3"; then
		printf '  %-44s same\n' "$1"
	elif cmp -s <(grep -v '"error":' "$2") <(grep -v '"error":' "$3"); then
		# Files that failed on both sides, with other words.
		printf '  %-44s same but for the messages of failed files\n' "$1"
		{ diff -u "$2" "$3" || true; } | grep '^[-+] ' | head -n 6 | sed "s/^/    /"
	else
		printf '  %-44s DIFFERENT\n' "$1"
		{ diff -u "$2" "$3" || true; } | head -n 20 | sed "s/^/    /"
		fails=$((fails + 1))
	fi
}

# run BIN ARGS... runs btffilter; its exit status (0 or 1) is part of what
# is compared, so it is appended to the report.
run() {
	local bin=$1 rc=0
	shift
	"$bin" "$@" 2>/dev/null || rc=$?
	echo "exit $rc"
}

for tag in "${tags[@]}"; do
	kdir=$BF_CACHE/kernels/$tag
	[[ -f $kdir/.complete ]] || bf_die "$tag: not fetched (run scripts/fetch-kernels.sh $tag)"
	vmlinux=$(readlink -f "$kdir/vmlinux")
	mapfile -t mods < <(find -L "$kdir/dbg-modules/" -name '*.ko*' -type f | LC_ALL=C sort | awk 'NR % 4 == 1')
	bf_step "$tag: vmlinux and ${#mods[@]} of its debug modules"

	for side in old new; do
		bin=${side}bin
		run "${!bin}" -n -j "$vmlinux" >"$work/$side.vmlinux.json"
		run "${!bin}" -o "$work/$side.vmlinux.out" "$vmlinux" >/dev/null
		# The tree run, in place on a copy at the same path for both
		# sides, so that the reports name the same files.
		tree=$work/tree
		rm -rf "$tree"
		mkdir -p "$tree/mods"
		cp "$vmlinux" "$tree/vmlinux"
		copies=()
		for m in "${mods[@]}"; do
			rel=${m#"$kdir/dbg-modules/"}
			mkdir -p "$tree/mods/$(dirname "$rel")"
			cp "$m" "$tree/mods/$rel"
			copies+=("$tree/mods/$rel")
		done
		run "${!bin}" -n -j "$tree/vmlinux" "${copies[@]}" >"$work/$side.tree.json"
		run "${!bin}" -j "$tree/vmlinux" "${copies[@]}" >"$work/$side.tree-written.json"
		(cd "$tree" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$work/$side.tree.sha256"
	done
	rm -rf "$work/tree"
	verdict "vmlinux -n -j report" "$work/old.vmlinux.json" "$work/new.vmlinux.json"
	verdict "vmlinux rewritten (-o)" "$work/old.vmlinux.out" "$work/new.vmlinux.out"
	verdict "vmlinux + modules -n -j report" "$work/old.tree.json" "$work/new.tree.json"
	verdict "vmlinux + modules in place: report" "$work/old.tree-written.json" "$work/new.tree-written.json"
	verdict "vmlinux + modules in place: sha256 of files" "$work/old.tree.sha256" "$work/new.tree.sha256"
	rm -f "$work"/old.* "$work"/new.*
done
if ((fails)); then
	bf_die "$fails comparison(s) differ"
fi
bf_step "every comparison is the same"
