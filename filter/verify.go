package filter

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/internal/check"
)

// The verify stage: every output is checked before anything is written, on
// its encoded bytes, by this project's decoder under the kernel's loading
// rules and by cilium/ebpf's independent parser (filter/internal/check). A
// blob that fails either is not written. The rewritten image is checked
// again in the commit stage, once it holds the blob.

// verify checks raw, the encoded result, against base (nil for base BTF).
// For base BTF it returns the checked blob, which the base's split blobs
// are then checked against, and whose decoded spec is the result's; with
// keep false nothing needs them, and it returns nil.
func verify(raw []byte, base *Base, keep bool) (*check.Base, error) {
	if base == nil && !keep {
		if err := check.Verify(raw); err != nil {
			return nil, fmt.Errorf("output check failed: %w", err)
		}
		return nil, nil
	}
	if base == nil {
		cb, err := check.Blob(raw)
		if err != nil {
			return nil, fmt.Errorf("output check failed: %w", err)
		}
		return cb, nil
	}
	cb, err := base.checker()
	if err != nil {
		return nil, err
	}
	if _, err := check.Split(raw, cb); err != nil {
		return nil, fmt.Errorf("output check failed: %w", err)
	}
	return nil, nil
}
