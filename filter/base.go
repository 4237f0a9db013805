package filter

import (
	"fmt"
	"sync"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/check"
	"github.com/btffilter/btffilter/filter/internal/dedup"
)

// Base is base BTF (a vmlinux's, or a raw blob's) that split blobs, a
// kernel's modules, extend: as it is (NewBase), or as Blob rewrote it
// (BlobResult.Base). Filtering a split blob against a rewritten Base also
// moves it onto the new base, so the pair stays consistent. A Base is safe
// for concurrent use: one serves every module of a run at once.
type Base struct {
	name    string // where it came from, for messages ("" in memory)
	release string // the kernel release, "" when unknown
	old     *btf.Spec
	// When the base was rewritten: the new spec, the map from old IDs to
	// new ones, and its encoding.
	new    *btf.Spec
	idMap  *btf.IDMap
	newRaw []byte

	// What split blobs are checked and deduplicated against, made once on
	// first use.
	checker    func() (*check.Base, error)
	dedupIndex func() (*dedup.Base, error)
}

// NewBase decodes raw, base BTF as it is, to filter split blobs against.
func NewBase(raw []byte) (*Base, error) {
	s, err := btf.Decode(raw, nil)
	if err != nil {
		return nil, err
	}
	return newBase("", "", s, nil), nil
}

// newBase makes the Base of spec old, rewritten as res when res is not nil.
// A result's check of its own encoding is the check split blobs reuse.
func newBase(name, release string, old *btf.Spec, res *BlobResult) *Base {
	b := &Base{name: name, release: release, old: old}
	if res != nil && res.Changed {
		b.new, b.idMap, b.newRaw = res.Spec, res.IDMap, res.BTF
	}
	if res != nil && res.checked != nil {
		cb := res.checked
		b.checker = func() (*check.Base, error) { return cb, nil }
	} else {
		b.checker = sync.OnceValues(func() (*check.Base, error) {
			raw := b.newRaw
			if raw == nil {
				raw = b.old.Encode()
			}
			cb, err := check.Blob(raw)
			if err != nil {
				return nil, fmt.Errorf("base %s: %w", b.describe(), err)
			}
			return cb, nil
		})
	}
	b.dedupIndex = sync.OnceValues(func() (*dedup.Base, error) { return dedup.NewBase(b.current()) })
	return b
}

// current is the base as split blobs are written against it.
func (b *Base) current() *btf.Spec {
	if b.new != nil {
		return b.new
	}
	return b.old
}

// rewritten reports whether the base changed, so that split blobs must be
// moved onto it.
func (b *Base) rewritten() bool { return b.new != nil }

// describe names the base in messages.
func (b *Base) describe() string {
	if b.name == "" {
		return "BTF"
	}
	return b.name
}
