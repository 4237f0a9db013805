// Package check re-reads an encoded BTF blob before it is written: with this
// project's decoder under the kernel's loading rules (btf.ValidateBlob), and
// with cilium/ebpf's independent parser, inflating every type. A blob either
// passes both or is not written. It only reads: it decides and changes
// nothing.
package check
