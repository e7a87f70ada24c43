package cli

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// stamp is the release version, set by make build and scripts/release.sh:
//
//	-ldflags "-X github.com/gopythongo/gopythongo/internal/cli.stamp=v1.2.3"
//
// A plain go build leaves it empty, and the module's version (from go
// install …@v1.2.3) or "(devel)" is shown.
var stamp string

// VersionLine says which GoPythonGo a step is: its name and Build.
func VersionLine(step string) string { return step + " " + Build() }

// Build says which GoPythonGo this is: version, commit, commit time, whether
// the tree was modified, and the Go that built it.
func Build() string {
	version, commit, when, dirty, goVersion := stamp, "", "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	var parts []string
	if commit != "" {
		c := "commit " + commit[:min(12, len(commit))]
		if dirty {
			c += " (modified)"
		}
		parts = append(parts, c)
	}
	if when != "" {
		parts = append(parts, "built from a commit of "+when)
	}
	if goVersion != "" {
		parts = append(parts, goVersion)
	}
	return fmt.Sprintf("%s (%s)", version, strings.Join(parts, ", "))
}
