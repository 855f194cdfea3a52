package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install of a version", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/forcehttps/forcehttps", Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}}},
			"forcehttps v1.2.0 go1.26.0 linux/arm64"},
		{"build from a checkout", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/forcehttps/forcehttps", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"},
				{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}},
			"forcehttps (devel) (revision 0123456789abcdef, 2026-01-02T03:04:05Z, modified) go1.26.0 linux/amd64"},
		{"clean checkout", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.1-0.20260102030405-0123456789ab"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"}, {Key: "vcs.revision", Value: "0123"}, {Key: "vcs.modified", Value: "false"}}},
			"forcehttps v0.3.1-0.20260102030405-0123456789ab (revision 0123) go1.26.0 darwin/arm64"},
		{"nothing recorded", debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
			"forcehttps (devel) linux/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FromBuildInfo(&tt.bi).String(); got != tt.want {
				t.Errorf("FromBuildInfo(%s).String() = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	got := Read()
	if got.Version == "" || !strings.HasPrefix(got.GoVersion, "go") || !strings.Contains(got.Platform, "/") {
		t.Errorf("Read() = %+v, want a version, a Go version and a platform", got)
	}
}
