// Package kernels locates the real Debian kernels that scripts/fetch-kernels.sh
// unpacks into the cache (${BTFFILTER_CACHE:-/var/cache/btffilter}/kernels/TAG),
// so that tests can run against them. It only finds files; it does not read
// or fetch them. The kernels themselves are described in docs/testing.md,
// "Real inputs".
package kernels
