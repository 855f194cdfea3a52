// Package buildinfo says which build of forcehttps is running, from what
// the Go toolchain records in the binary (runtime/debug.ReadBuildInfo):
// the module version ("v1.2.0" for "go install ...@v1.2.0", "(devel)" for
// a build from a checkout), the version control revision, its time and
// whether the tree had uncommitted changes (recorded by "go build" in a
// Git checkout, not by "go install" of a module version, not with
// -buildvcs=false), and the Go version and platform.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes a build. Empty fields were not recorded.
type Info struct {
	// Path is the main module's path.
	Path string
	// Version is the main module's version, "(devel)" for a build from a
	// checkout.
	Version string
	// Revision, Time and Modified come from version control: the commit,
	// its time (RFC 3339) and whether the tree had changes.
	Revision, Time string
	Modified       bool
	// GoVersion is the toolchain, Platform GOOS/GOARCH.
	GoVersion, Platform string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts an Info from what debug.ReadBuildInfo returns.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Path: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos == "" || goarch == "" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}
	i.Platform = goos + "/" + goarch
	return i
}

// String formats the build on one line:
//
//	forcehttps v1.2.0 (revision 0123456789ab, 2026-01-02T03:04:05Z, modified) go1.26.0 linux/amd64
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("forcehttps ")
	b.WriteString(i.Version)
	var vcs []string
	if i.Revision != "" {
		vcs = append(vcs, "revision "+i.Revision)
	}
	if i.Time != "" {
		vcs = append(vcs, i.Time)
	}
	if i.Modified {
		vcs = append(vcs, "modified")
	}
	if len(vcs) > 0 {
		b.WriteString(" (" + strings.Join(vcs, ", ") + ")")
	}
	if i.GoVersion != "" {
		b.WriteString(" " + i.GoVersion)
	}
	if i.Platform != "" {
		b.WriteString(" " + i.Platform)
	}
	return b.String()
}
