package filter

import (
	"fmt"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
)

// --check: what the kernel will do with a module's BTF when the module is
// loaded, predicted from the files alone; nothing is judged or written.
// The kernel checks, in this order, what this file checks:
//
//   - the release: the module's vermagic must be the running kernel's
//     (the base's linux_banner);
//   - that the module's BTF fits its base: type IDs and string offsets
//     continue the base's, and references into the base land on types of
//     the right kind (btf.Spec.CheckBaseFit);
//   - the kernel's BTF verifier rules, on the split blob
//     (btf.ValidateBlob; docs/facts.md §6);
//   - for a module with a distilled base, that every distilled type
//     relocates onto the vmlinux by name, kind and size
//     (btf.Spec.CheckRelocation).
//
// The first check that fails is the prediction: the kernel would refuse
// the module, for its release (insmod: "Exec format error"), or its BTF
// ("failed to validate module [x] BTF: -22"). A module refused for its
// release is still checked on: the BTF checks that follow say what the
// kernel does with its BTF when it is loaded past the release check
// (modprobe --force, on a kernel with CONFIG_MODULE_FORCE_LOAD). The BTF
// checks stop at the first that fails, as the kernel does.

// Acceptance is the --check prediction for one file.
type Acceptance struct {
	// Verdict is "ok" (the kernel accepts the module's BTF), "refused",
	// or "base" for a base file of the run (what modules are checked
	// against).
	Verdict string `json:"verdict"`
	// Reason is the first check that fails, for "refused".
	Reason string `json:"reason,omitempty"`
	// Checks lists each check made, in order, with "ok" or its failure.
	Checks []AcceptanceCheck `json:"checks"`
}

// AcceptanceCheck is one check of a --check prediction.
type AcceptanceCheck struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

// accept predicts the kernel's answer for split file i against base (the
// run's base or -B; nil when there is none).
func (r *runner) accept(i int, base *Base) {
	fr := r.rep.Files[i]
	defer r.finished()
	a, err := predict(fr, base, r.running)
	if err != nil {
		fr.Error = elfio.WithPath(fr.Path, err).Error()
		return
	}
	fr.Acceptance = a
}

// predict runs the checks on the module at fr.Path.
func predict(fr *FileReport, base *Base, running func(string) *Base) (*Acceptance, error) {
	f, err := elfio.Open(fr.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := f.BTF()
	if err != nil {
		return nil, err
	}
	fr.Format, fr.Arch, fr.BytesBefore = "module", f.Arch(), len(raw)
	release := f.KernelRelease()
	target := base
	if target == nil {
		target = running(release)
	}
	var dist *Base
	if f.Section(".BTF.base") != nil {
		db, err := f.SectionData(".BTF.base")
		if err != nil {
			return nil, err
		}
		if dist, err = NewBase(db); err != nil {
			return nil, elfio.InSection(fr.Path, ".BTF.base", err)
		}
		dist.name = fr.Path + " (.BTF.base)"
	}
	on := dist
	if on == nil {
		on = target
	}
	if on == nil {
		return nil, errNeedsBase
	}
	fr.Base = describeBases(on, target)
	a := &Acceptance{Verdict: "ok", Checks: []AcceptanceCheck{}}
	check := func(name string, err error) bool {
		if err != nil {
			a.Checks = append(a.Checks, AcceptanceCheck{name, err.Error()})
			if a.Verdict == "ok" {
				a.Verdict, a.Reason = "refused", name+": "+err.Error()
			}
			return false
		}
		a.Checks = append(a.Checks, AcceptanceCheck{name, "ok"})
		return true
	}
	if target != nil && release != "" && target.release != "" {
		var err error
		if release != target.release {
			err = fmt.Errorf("the module is for kernel %s, %s is kernel %s", release, target.describe(), target.release)
		}
		check("release", err)
	}
	spec, err := btf.Decode(raw, on.old)
	if !check("decode", err) {
		return a, nil
	}
	fr.TypesBefore = len(spec.Types)
	if !check("fits its base", spec.CheckBaseFit()) {
		return a, nil
	}
	if _, err := btf.ValidateBlob(raw, on.old); !check("kernel BTF rules", err) {
		return a, nil
	}
	if dist != nil {
		if target == nil {
			a.Checks = append(a.Checks, AcceptanceCheck{"relocation", "not checked: no vmlinux to relocate onto (give -B, or the vmlinux in the run)"})
			return a, nil
		}
		check("relocation onto "+target.describe(), spec.CheckRelocation(target.old))
	}
	return a, nil
}
