package check

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/btffilter/btffilter/filter/btf"

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

// Blob checks a base blob and returns it for checking split blobs.
func Blob(data []byte) (*Base, error) {
	s, err := btf.ValidateBlob(data, nil)
	if err != nil {
		return nil, err
	}
	cs, err := cbtf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cilium/ebpf rejects the blob: %w", err)
	}
	if err := inflate(cs); err != nil {
		return nil, err
	}
	return &Base{Spec: s, cilium: cs}, nil
}

// Split checks a split blob against base.
func Split(data []byte, base *Base) (*btf.Spec, error) {
	s, err := btf.ValidateBlob(data, base.Spec)
	if err != nil {
		return nil, err
	}
	base.mu.Lock()
	defer base.mu.Unlock()
	cs, err := cbtf.LoadSplitSpecFromReader(bytes.NewReader(data), base.cilium)
	if err != nil {
		return nil, fmt.Errorf("cilium/ebpf rejects the split blob: %w", err)
	}
	if err := inflate(cs); err != nil {
		return nil, err
	}
	return s, nil
}

// inflate makes cilium/ebpf decode every type, which it otherwise does
// lazily.
func inflate(cs *cbtf.Spec) error {
	for _, err := range cs.All() {
		if err != nil {
			return fmt.Errorf("cilium/ebpf cannot decode a type: %w", err)
		}
	}
	return nil
}
