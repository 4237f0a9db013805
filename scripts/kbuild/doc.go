// Package kbuild proves btffilter-pahole in real kernel builds
// (docs/kbuild.md): scripts/build-kernel.sh builds Debian's 6.1 and 7.2
// sources with the committed config (testdata/kbuild), once with the real
// pahole and once with make PAHOLE=btffilter-pahole, and the tests here
// compare the two builds section by section, redo the wrapper's work by hand
// from the copies of pahole's own outputs, check what resolve_btfids made of
// the filtered BTF, and boot the kernels under QEMU (package
// btffilter/scripts/e2e). It reads build outputs and runs the build script;
// it may not change a build tree itself, nor anything in the repository.
//
// Everything here needs root, the network on a cold cache and many minutes,
// so the tests skip themselves under go test -short; the helpers (the ELF
// comparison, the BTF order check, the build log reader) are unit-tested
// there on small inputs.
package kbuild
