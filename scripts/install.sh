#!/usr/bin/env bash
# Installs the commands of cmd/ (btffilter, and the kbuild wrapper when it is
# there) into PREFIX/bin and btffilter's manual page, made from its flag
# definitions by `btffilter --man`, into PREFIX/share/man/man1.
#
# Usage: scripts/install.sh [PREFIX]    (default /usr/local)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
prefix=${1:-/usr/local}
mkdir -p "$prefix/bin" "$prefix/share/man/man1"
for dir in cmd/*/; do
	name=$(basename "$dir")
	go build -trimpath -o "$prefix/bin/$name" "./$dir"
	printf '==> %s\n' "$prefix/bin/$name"
done
"$prefix/bin/btffilter" --man >"$prefix/share/man/man1/btffilter.1"
printf '==> %s\n' "$prefix/share/man/man1/btffilter.1"
