package btf_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// modulesPerKernel is how many modules of each real kernel the round-trip
// test reads: every k-th of the sorted list, so the choice is stable.
const modulesPerKernel = 200

func readBTF(t *testing.T, path string) []byte {
	t.Helper()
	f, err := elfio.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.BTF()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRealKernelsRoundTrip decodes and re-encodes the .BTF of every real
// kernel's vmlinux and of 200 of its modules: the bytes must not change, and
// each blob must pass the kernel's rules.
func TestRealKernelsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	for _, tag := range kernels.Tags() {
		t.Run(tag, func(t *testing.T) {
			k, err := kernels.Load(tag)
			if err != nil {
				t.Fatal(err)
			}
			raw := readBTF(t, k.Vmlinux)
			base, err := btf.ValidateBlob(raw, nil)
			if err != nil {
				t.Fatalf("%s: %v", k.Vmlinux, err)
			}
			if !bytes.Equal(base.Encode(), raw) {
				t.Fatalf("%s: round trip changed the bytes", k.Vmlinux)
			}
			mods, err := k.ModuleFiles()
			if err != nil {
				t.Fatal(err)
			}
			step := max(1, len(mods)/modulesPerKernel)
			n := 0
			for i := 0; i < len(mods) && n < modulesPerKernel; i += step {
				mraw := readBTF(t, mods[i])
				m, err := btf.ValidateBlob(mraw, base)
				if err != nil {
					t.Fatalf("%s: %v", mods[i], err)
				}
				if err := m.CheckBaseFit(); err != nil {
					t.Fatalf("%s: %v", mods[i], err)
				}
				if !bytes.Equal(m.Encode(), mraw) {
					t.Fatalf("%s: round trip changed the bytes", mods[i])
				}
				n++
			}
			if n < modulesPerKernel {
				t.Fatalf("only %d modules read", n)
			}
			t.Logf("%s: vmlinux %d types, header %d bytes, %d modules round-tripped", tag, len(base.Types), base.Header.HdrLen, n)
		})
	}
}

// TestRunningKernelRoundTrip does the same for this machine's own kernel BTF
// when it exposes one.
func TestRunningKernelRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("the running kernel is not read in -short mode")
	}
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if os.IsNotExist(err) {
		t.Skip("this kernel exposes no /sys/kernel/btf/vmlinux")
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.ValidateBlob(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Encode(), raw) {
		t.Fatal("round trip changed the bytes")
	}
	t.Logf("/sys/kernel/btf/vmlinux: %d types", len(s.Types))
}
