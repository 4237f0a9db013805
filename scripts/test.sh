#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
# installs the tools and fetches the real Debian kernels (both idempotent,
# cached outside the repository), checks formatting, vet and staticcheck,
# then runs every Go test, including the real-kernel and QEMU ones, and
# every benchmark once.
#
# Usage: scripts/test.sh [go test flags...]   e.g. scripts/test.sh -run Drop
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
bash scripts/fetch-kernels.sh

echo "== gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go tool staticcheck ./...
echo "== go test"
go test -count=1 -timeout 60m "$@" ./...
if (($# == 0)); then
	# Every benchmark once, so that none rots (the whole-pipeline ones
	# check what they produced). Figures worth reading come from
	# scripts/bench.
	echo "== go test -bench (once each)"
	go test -count=1 -timeout 30m -run '^$' -bench . -benchtime=1x ./...
fi
