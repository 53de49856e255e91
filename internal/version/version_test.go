package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-02T06:00:00Z"},
	}}
	in := fromBuildInfo(bi, true)
	if in.Version != Release || in.Commit != "0123456789abcdef0123" || !in.Modified || in.GoVersion != "go1.26.8" || in.BuildTime == "" {
		t.Errorf("%+v", in)
	}
	if got, want := in.String(), "ms-management-activity "+Release+" (commit 0123456789ab+dirty, go1.26.8)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	tagged := fromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, true)
	if tagged.Version != "1.2.3" || tagged.Commit != "unknown" {
		t.Errorf("go install @v1.2.3: %+v", tagged)
	}
	pseudo := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202060000-0123456789ab"}}, true)
	if pseudo.Version != Release {
		t.Errorf("a pseudo-version is not a release: %+v", pseudo)
	}
	if none := fromBuildInfo(nil, false); none.Version != Release || none.Commit != "unknown" {
		t.Errorf("no build info: %+v", none)
	}
	if !strings.HasPrefix(Get().GoVersion, "go") {
		t.Errorf("Get() = %+v: the test binary has build info", Get())
	}
}
