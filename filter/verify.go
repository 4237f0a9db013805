package filter

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/internal/check"
)

// The verify stage: every output is checked before anything is written, on
// its encoded bytes, by this project's decoder under the kernel's loading
// rules and by cilium/ebpf's independent parser (filter/internal/check). A
// blob that fails either is not written. The rewritten image is checked
// again in the commit stage, once it holds the blob. The one exception is
// --dedup-only's raw base BTF, which is checked under the kernel's rules
// alone (check.KernelRules says why).

// verify checks raw, the encoded result, against base (nil for base BTF).
// For base BTF it returns the checked blob, which the base's split blobs
// are then checked against, and whose decoded spec is the result's; with
// keep false nothing needs them, and it returns nil; kernelRulesOnly leaves
// cilium/ebpf out of that case.
func verify(raw []byte, base *Base, keep, kernelRulesOnly bool) (*check.Base, error) {
	if base == nil && !keep {
		checkBlob := check.Verify
		if kernelRulesOnly {
			checkBlob = check.KernelRules
		}
		if err := checkBlob(raw); err != nil {
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
