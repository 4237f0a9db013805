package abi

import (
	"fmt"
	"regexp"
	"strconv"
)

// Version is a kernel's major.minor version; the trampoline model depends on
// it. The zero Version means "unknown": Judge then applies every model of the
// architecture and removes what any of them misreads (the strictest model).
type Version struct {
	Major, Minor int
}

func (v Version) String() string {
	if v.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// IsZero reports the unknown version.
func (v Version) IsZero() bool { return v == Version{} }

// Less orders versions.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	return v.Minor < w.Minor
}

var versionRE = regexp.MustCompile(`(?:^|[^0-9.])([1-9][0-9]?)\.([0-9]{1,3})(?:[^0-9]|$)`)

// ParseVersion finds the first major.minor in a kernel release
// ("6.1.0-53-cloud-amd64"), a linux_banner ("Linux version 7.2.13+deb14 ...")
// or a vermagic ("6.1.0-fixture-amd64 SMP mod_unload").
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("no kernel version in %q", s)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return Version{major, minor}, nil
}
