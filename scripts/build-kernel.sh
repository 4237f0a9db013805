#!/usr/bin/env bash
# Builds a small x86-64 kernel from Debian's sources (scripts/fetch-sources.sh)
# with the config of testdata/kbuild/x86_64.config and the out-of-tree module
# of testdata/kbuild/module, once with the real pahole ("plain") or with
# btffilter-pahole as PAHOLE ("wrapper"), and keeps what the build made
# (docs/kbuild.md, "Proof").
#
# Usage: scripts/build-kernel.sh BUILD [--wrapper PATH] [--flags FLAGS]
#   BUILD  6.1-bookworm    Debian 6.1, the host's gcc 12 and pahole (bookworm)
#          6.1-sid-pahole  Debian 6.1, the host's gcc 12, pahole of the sid chroot
#          7.2-sid         Debian 7.2, gcc and pahole of the sid chroot
#   --wrapper PATH  build with make PAHOLE=PATH (a btffilter-pahole binary);
#                   the real pahole runs under scripts/kbuild/record-pahole,
#                   which keeps a copy of each file pahole encoded
#   --flags FLAGS   BTFFILTER_FLAGS for the wrapper (default: -v)
# The last line printed is "variant DIR": the directory holding the result.
#
# One object tree per series ($CACHE/kbuild/SERIES/tree) serves every
# variant: the first build compiles it, each later variant removes the
# linked outputs (vmlinux, the .ko files, the temporary link files) and runs
# make again with its own PAHOLE, which relinks and reruns the BTF steps
# only. The tree is made anew when the source version or the compiler
# changes, and configured again in place (kbuild then rebuilds what the
# change touches) when the config fragment or the module changes; its
# place never moves, because kbuild records absolute paths. A variant's
# outputs are copied to variants/TREEKEY-NAME, the tree key covering source
# version, compiler, config and module, NAME the pahole version and the
# wrapper binary's hash, with a stamp written last:
#
#   vmlinux, tmp/          the final vmlinux and the first link BTF was made from
#   modules/               every .ko (in-tree ones by path, extmod/ the external one)
#   build.log              make's output (the wrapper's report is in it)
#   records/               pahole's own outputs, wrapper variants only
#   info                   key=value: versions, flags, seconds per step
#   .complete              stamp
#
# A variant or tree without its stamp is left over from an interrupted run
# and is redone. A lock per tree serializes builds of one tree.
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

# layout is part of every key: bump it when what a build does changes.
layout=1
fragment=$repo/testdata/kbuild/x86_64.config
moddir=$repo/testdata/kbuild/module
recorder=$here/kbuild/record-pahole

usage() {
	sed -n '8,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

build=${1:-}
[[ -n $build ]] || usage
shift
wrapper= flags=-v
while (($# > 0)); do
	case $1 in
	--wrapper)
		(($# >= 2)) || usage
		wrapper=$2
		shift 2
		;;
	--flags)
		(($# >= 2)) || usage
		flags=$2
		shift 2
		;;
	*) usage ;;
	esac
done

chroot_root=$BF_CACHE/sid-chroot
sid_pahole=$BF_CACHE/kbuild/bin/pahole-sid
case $build in
6.1-bookworm | 6.1-sid-pahole)
	series=6.1
	in_chroot=0
	bf_need_tools build-kernel.sh gcc make bison flex bc pahole objcopy
	;;
7.2-sid)
	series=7.2
	in_chroot=1
	;;
*) usage ;;
esac
[[ $(id -u) == 0 ]] || bf_die "run as root (the sid chroot needs it)"
[[ -z $wrapper || -x $wrapper ]] || bf_die "--wrapper $wrapper: not an executable file"

bash "$here/fetch-sources.sh" "$series" >&2
src=$BF_CACHE/src/$series/linux
srcver=$(<"$BF_CACHE/src/$series/version")
if ((in_chroot)) || [[ $build == 6.1-sid-pahole ]]; then
	bash "$here/sid-chroot.sh" ensure bc bison flex libelf-dev libssl-dev cpio kmod python3 perl xz-utils >&2
fi

# kmake DIR ARGS... runs make in DIR with the build's compiler.
kmake() {
	local dir=$1
	shift
	if ((in_chroot)); then
		(cd "$dir" && bash "$here/sid-chroot.sh" run make "$@")
	else
		(cd "$dir" && make "$@")
	fi
}

# incc CMD... runs CMD where the compiler lives.
incc() {
	if ((in_chroot)); then
		bash "$here/sid-chroot.sh" run "$@"
	else
		"$@"
	fi
}

# The host runs sid's pahole with sid's own loader and libraries: no
# chroot, and no copy that could go stale.
if [[ $build == 6.1-sid-pahole ]]; then
	mkdir -p "${sid_pahole%/*}"
	want="#!/bin/sh
# sid's pahole on the host, with the sid chroot's loader and libraries.
exec $chroot_root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $chroot_root/usr/lib/x86_64-linux-gnu $chroot_root/usr/bin/pahole \"\$@\""
	if [[ ! -x $sid_pahole || $(<"$sid_pahole") != "$want" ]]; then
		printf '%s\n' "$want" >"$sid_pahole.tmp"
		chmod 0755 "$sid_pahole.tmp"
		mv "$sid_pahole.tmp" "$sid_pahole"
	fi
	real_pahole=$sid_pahole
else
	real_pahole=pahole
fi
ccver=$(incc gcc --version | head -n1)
pahole_path=$real_pahole
((in_chroot)) && pahole_path=/usr/bin/pahole
[[ $pahole_path == */* ]] || pahole_path=$(command -v "$pahole_path")
pahver=$(incc "$pahole_path" --version)

hash_of() { sha256sum | cut -c1-12; }
# srckey: what a tree is compiled from; cfgkey: how it is configured.
srckey=$(printf 'layout %s\nsource %s\ncc %s\n' "$layout" "$srcver" "$ccver" | hash_of)
cfgkey=$( {
	cat "$fragment"
	(cd "$moddir" && find . -type f | LC_ALL=C sort | xargs sha256sum)
} | hash_of)
treekey=$srckey$cfgkey
top=$BF_CACHE/kbuild/$series
mkdir -p "$top"
# kbuild records the physical paths (make's working directory); M= and
# every path given here must be the same ones.
top=$(cd "$top" && pwd -P)
tree=$top/tree
obj=$tree/obj
ext=$tree/extmod

wbin=
if [[ -n $wrapper ]]; then
	whash=$(sha256sum "$wrapper" | cut -c1-12)
	rhash=$(sha256sum "$recorder" | cut -c1-12)
	# Inside the chroot only the cache is visible: the tools go there.
	wbin=$BF_CACHE/kbuild/bin/btffilter-pahole-$whash
	rbin=$BF_CACHE/kbuild/bin/record-pahole-$rhash
	mkdir -p "$BF_CACHE/kbuild/bin"
	for pair in "$wrapper:$wbin" "$recorder:$rbin"; do
		if [[ ! -x ${pair#*:} ]]; then
			cp "${pair%%:*}" "${pair#*:}.tmp"
			chmod 0755 "${pair#*:}.tmp"
			mv "${pair#*:}.tmp" "${pair#*:}"
		fi
	done
	vname=wrapper-$(printf '%s\n%s\n%s\n%s\n%s\n' "$tree" "$pahver" "$whash" "$rhash" "$flags" | hash_of)
else
	vname=plain-$(printf '%s\n%s\n' "$tree" "$pahver" | hash_of)
fi
# The tree's path is part of a variant's name: the external module is
# compiled with absolute paths (M=), which its debug info records, so a
# variant made under another path is not comparable with one made now.
# The pahole variants of one series share the tree; their names say which.
case $build in
6.1-sid-pahole) vname=sidpahole-$vname ;;
esac
vname=$treekey-$vname
vdir=$top/variants/$vname

# A variant's modification time is when a run last used it: a wrapper
# variant nothing used for a day is removed below (every change of the
# wrapper makes a new one, a few hundred MB each).
if [[ -f $vdir/.complete ]]; then
	bf_step "$build: $vname complete, skipped" >&2
	touch "$vdir"
	printf 'variant %s\n' "$vdir"
	exit 0
fi

mkdir -p "$top/variants"
exec 9>"$top/.lock"
flock 9
if [[ -f $vdir/.complete ]]; then
	touch "$vdir"
	printf 'variant %s\n' "$vdir"
	exit 0
fi
rm -rf "$top/variants/.$vname".*
find "$top/variants" -mindepth 1 -maxdepth 1 -type d -name '*wrapper-*' -mmin +1440 -exec rm -rf {} +

export ARCH=x86_64
export KBUILD_BUILD_TIMESTAMP='2023-01-01 00:00:00 UTC' KBUILD_BUILD_USER=btffilter KBUILD_BUILD_HOST=kbuild KBUILD_BUILD_VERSION=1
bf_reproducible
jobs=$(nproc)

declare -A secs=() cpu=()
# children_cpu sets cpu_now to the CPU seconds (user + system) of the
# script's waited-for children so far. "times" must run in this shell, not
# in a subshell, whose children are its own.
timesf=$(mktemp)
trap 'rm -f "$timesf"' EXIT
children_cpu() {
	times >"$timesf"
	cpu_now=$(awk 'NR == 2 {
		s = 0
		for (i = 1; i <= NF; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
		printf "%d\n", s + 0.5 }' "$timesf")
}
# timed NAME CMD... runs CMD and keeps its wall time in secs[NAME] and the
# CPU time it took in cpu[NAME]: on a machine shared with other work the
# wall time says little, the CPU time says what the step costs.
timed() {
	local name=$1 t0=$SECONDS c0
	shift
	children_cpu
	c0=$cpu_now
	"$@"
	secs[$name]=$((SECONDS - t0))
	children_cpu
	cpu[$name]=$((cpu_now - c0))
}

log=$top/variants/.$vname.log
: >"$log"

# --- the tree: made once per source and compiler, configured per config ---
# .configured holds the tree key it was configured for, written last.
have=$(cat "$tree/.configured" 2>/dev/null || true)
if [[ $have != "$treekey" ]]; then
	if [[ ${have:0:12} != "$srckey" ]]; then
		rm -rf "$tree"
		mkdir -p "$obj"
	fi
	rm -f "$tree/.configured"
	rm -rf "$ext"
	cp -r "$moddir" "$ext"
	# Copied into the tree: inside the chroot only the cache is visible.
	cp "$fragment" "$tree/config-fragment"
	bf_step "$build: configuring $tree (tinyconfig + ${fragment#"$repo"/})" >&2
	configure() {
		kmake "$src" O="$obj" tinyconfig &&
			(cd "$obj" && incc "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$tree/config-fragment") &&
			kmake "$src" O="$obj" olddefconfig
	}
	timed configure configure >>"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		bf_die "$build: configuring failed (log: $log)"
	}
	# Every line of the fragment must have survived: a dependency the
	# fragment misses would silently turn an option off.
	missing=()
	while IFS= read -r line; do
		[[ $line == CONFIG_* ]] || continue
		grep -qxF "$line" "$obj/.config" || missing+=("$line")
	done <"$fragment"
	((${#missing[@]} == 0)) || bf_die "$build: options of ${fragment#"$repo"/} not in the final .config: ${missing[*]}"
	printf '%s\n' "$treekey" >"$tree/.configured"
fi

# --- one variant: relink (or build) with its PAHOLE ------------------------
bf_step "$build: building $vname in $tree" >&2
# What the BTF steps make goes; docs/kbuild.md gives the same command.
(cd "$obj" && rm -f vmlinux vmlinux.unstripped .tmp_vmlinux*; find . -name '*.ko' -delete)
(cd "$ext" && find . -name '*.ko' -delete)
makevars=()
records=$top/variants/.$vname.records
rm -rf "$records"
if [[ -n $wrapper ]]; then
	mkdir -p "$records"
	makevars=(PAHOLE="$wbin")
	export BTFFILTER_PAHOLE=$rbin BTFFILTER_RECORD_PAHOLE=$pahole_path BTFFILTER_RECORD_DIR=$records BTFFILTER_FLAGS=$flags
elif [[ $build == 6.1-sid-pahole ]]; then
	makevars=(PAHOLE="$sid_pahole")
fi
{
	# The make command lines, as docs/kbuild.md gives them.
	echo "## make -j$jobs ${makevars[*]} vmlinux modules"
	timed build kmake "$obj" -j"$jobs" "${makevars[@]}" vmlinux modules
	echo "## make -j$jobs ${makevars[*]} M=$ext modules"
	timed extmod kmake "$obj" -j"$jobs" "${makevars[@]}" M="$ext" modules
} >>"$log" 2>&1 || {
	tail -n 40 "$log" >&2
	bf_die "$build: $vname: make failed (log: $log)"
}

# --- keep the outputs --------------------------------------------------------
tmp=$(mktemp -d "$top/variants/.$vname.XXXXXX")
chmod 0755 "$tmp"
mkdir -p "$tmp/tmp" "$tmp/modules/extmod"
cp "$obj/vmlinux" "$tmp/vmlinux"
for f in .tmp_vmlinux.btf .tmp_vmlinux1; do
	[[ -f $obj/$f ]] && cp "$obj/$f" "$tmp/tmp/$f"
done
(cd "$obj" && find . -name '*.ko' -type f -printf '%P\n') | while IFS= read -r m; do
	mkdir -p "$tmp/modules/${m%/*}"
	cp "$obj/$m" "$tmp/modules/$m"
done
cp "$ext"/*.ko "$tmp/modules/extmod/"
cp "$obj/.config" "$tmp/config"
mv "$log" "$tmp/build.log"
[[ -d $records ]] && mv "$records" "$tmp/records"
{
	printf 'build=%s\nseries=%s\nsource=%s\ncc=%s\npahole=%s\npahole_path=%s\n' "$build" "$series" "$srcver" "$ccver" "$pahver" "$pahole_path"
	printf 'wrapper=%s\nflags=%s\ntree=%s\n' "${wbin:+${wbin##*/}}" "${wbin:+$flags}" "$tree"
	for k in configure build extmod; do
		[[ -n ${secs[$k]:-} ]] && printf '%s_seconds=%s\n%s_cpu_seconds=%s\n' "$k" "${secs[$k]}" "$k" "${cpu[$k]}"
	done
} >"$tmp/info"
printf 'built %s\n' "$(date -u +%FT%TZ)" >"$tmp/.complete"
rm -rf "$vdir"
mv "$tmp" "$vdir"
bf_step "$build: $vname done in $((${secs[build]} + ${secs[extmod]}))s" >&2
printf 'variant %s\n' "$vdir"
