package check

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/gcpace"

	cbtf "github.com/cilium/ebpf/btf"
)

// Base is a base blob checked and ready to check split blobs against. It is
// safe for concurrent use.
type Base struct {
	Spec   *btf.Spec
	cilium *cbtf.Spec
	// cilium/ebpf inflates base types lazily from every split spec built
	// on it, without a lock shared between them: one split check at a time.
	mu sync.Mutex
}

// The two checks of a blob share nothing but its bytes, which both only
// read, so they run side by side: on two cores a check takes as long as
// the slower of the two, cilium/ebpf's. When both fail, this project's
// error is the one returned, so the answer does not depend on which
// finished first.

// Blob checks a base blob and returns it for checking split blobs.
func Blob(data []byte) (*Base, error) {
	var s *btf.Spec
	var cs *cbtf.Spec
	err := both(func() (err error) {
		s, err = btf.ValidateBlob(data, nil)
		return err
	}, func() (err error) {
		cs, err = loadCilium(data, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Base{Spec: s, cilium: cs}, nil
}

// Verify checks a base blob as Blob does, for a caller that checks no split
// blob against it and needs no decoded spec: each check's own structures
// are let go as soon as that check is done (cilium/ebpf's inflated types
// are the largest of a run that only deduplicates).
func Verify(data []byte) error {
	return both(func() error { return KernelRules(data) }, func() error {
		_, err := loadCilium(data, nil)
		return err
	})
}

// KernelRules checks a base blob under the kernel's loading rules only,
// without cilium/ebpf's second reading. It is the check of --dedup-only's
// raw output: a blob for further tools (resolve_btfids, pahole, libbpf),
// never written into an image or loaded as it is, whose deduplication is
// held byte-identical to libbpf's by the dedup oracle tests on the real
// kernels. There cilium/ebpf's inflation of every type would cost more
// than the deduplication itself (about 90 ms of a vmlinux twice over) and
// has to wait for the encoded output, so it would double the run.
func KernelRules(data []byte) error {
	_, err := btf.ValidateBlob(data, nil)
	return err
}

// Split checks a split blob against base.
func Split(data []byte, base *Base) (*btf.Spec, error) {
	var s *btf.Spec
	err := both(func() (err error) {
		s, err = btf.ValidateBlob(data, base.Spec)
		return err
	}, func() error {
		base.mu.Lock()
		defer base.mu.Unlock()
		_, err := loadCilium(data, base.cilium)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// both runs ours and theirs at once and returns ours's error, else
// theirs's.
func both(ours, theirs func() error) error {
	var theirErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		// A parser that panics on a blob rejects it; the panic must not
		// take the process down from a goroutine no caller can recover.
		defer func() {
			if r := recover(); r != nil {
				theirErr = fmt.Errorf("cilium/ebpf panicked on the blob: %v", r)
			}
		}()
		theirErr = theirs()
	})
	err := ours()
	wg.Wait()
	if err != nil {
		return err
	}
	return theirErr
}

// loadCilium parses data with cilium/ebpf, split on base when base is not
// nil, and makes it decode every type, which it otherwise does lazily.
func loadCilium(data []byte, base *cbtf.Spec) (*cbtf.Spec, error) {
	if len(data) >= largeBlob {
		// The types cilium/ebpf inflates from a vmlinux's BTF are the
		// largest structure of a run that only deduplicates (about five
		// times the blob), and they are live until the check ends.
		defer gcpace.Tight()()
	}
	var cs *cbtf.Spec
	var err error
	if base == nil {
		if cs, err = cbtf.LoadSpecFromReader(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("cilium/ebpf rejects the blob: %w", err)
		}
	} else if cs, err = cbtf.LoadSplitSpecFromReader(bytes.NewReader(data), base); err != nil {
		return nil, fmt.Errorf("cilium/ebpf rejects the split blob: %w", err)
	}
	for _, err := range cs.All() {
		if err != nil {
			return nil, fmt.Errorf("cilium/ebpf cannot decode a type: %w", err)
		}
	}
	return cs, nil
}

// largeBlob is the size from which cilium/ebpf's inflation runs under
// gcpace.Tight: a vmlinux's BTF (4 MB and more), not a module's.
const largeBlob = 1 << 20
