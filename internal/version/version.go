// Package version says which build of the executable is running: its release,
// the commit it was built from and the Go toolchain, from the binary's build
// information.
package version

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
)

// pseudoVersion matches the module versions Go makes up for an untagged
// commit (v0.0.0-20261202060000-0123456789ab, v1.2.4-0.2026…): not a release.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// Release is the version of this source tree; CHANGELOG.md and the content
// pack's currentVersion follow it.
const Release = "1.0.0"

// Commit may be set at link time (-ldflags "-X
// github.com/secops-go/ms-management-activity/internal/version.Commit=…")
// where the build has no VCS information, e.g. a docker build without .git.
var Commit = ""

// Info is what `ms-management-activity version` prints.
type Info struct {
	Version   string // Release, or the module version when built by go install …@vX.Y.Z
	Commit    string // the VCS revision, "unknown" when the build did not record one
	Modified  bool   // built from a work tree with uncommitted changes
	BuildTime string // the commit's time (vcs.time), when recorded
	GoVersion string
}

// Get reads the running binary's build information.
func Get() Info {
	return fromBuildInfo(debug.ReadBuildInfo())
}

func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	in := Info{Version: Release, Commit: Commit, GoVersion: "unknown"}
	if !ok || bi == nil {
		if in.Commit == "" {
			in.Commit = "unknown"
		}
		return in
	}
	in.GoVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" && v != "(devel)" && !pseudoVersion.MatchString(v) {
		in.Version = strings.TrimPrefix(v, "v") // a tagged go install
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if in.Commit == "" {
				in.Commit = s.Value
			}
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "vcs.time":
			in.BuildTime = s.Value
		}
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	return in
}

// String is the one-line form: "ms-management-activity 1.0.0 (commit abc123, go1.26.8)".
func (in Info) String() string {
	commit := in.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if in.Modified {
		commit += "+dirty"
	}
	return fmt.Sprintf("ms-management-activity %s (commit %s, %s)", in.Version, commit, in.GoVersion)
}
