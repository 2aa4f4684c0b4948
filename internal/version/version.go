// Package version says which shepherd this is, for `shepherd version`,
// `--version` and the audit log: the module version and the commit it was
// built from, as the Go toolchain records them in the binary (`go install
// …@v1.2.3` records the version, a build in a git checkout the commit), or
// as a release build sets them at link time:
//
//	-ldflags "-X github.com/shepherd-db/shepherd/internal/version.version=v1.2.3
//	          -X github.com/shepherd-db/shepherd/internal/version.commit=<sha>
//	          -X github.com/shepherd-db/shepherd/internal/version.date=<RFC 3339 time>"
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// What a release build sets at link time (see the package comment); empty
// otherwise. The linker writes them; nothing assigns them at run time.
var (
	version  string
	commit   string
	date     string
	modified string // "true" when built from a tree with uncommitted changes
)

// devel is the version of a build that records none, as Go names it.
const devel = "(devel)"

// Info is which shepherd this is.
type Info struct {
	// Version is the module version (v1.2.3, or a pseudo-version naming
	// the commit), or "(devel)" when the build recorded none.
	Version string `json:"version"`
	// Commit is the full revision the binary was built from, when known.
	Commit string `json:"commit,omitempty"`
	// Time is the commit's time (RFC 3339), when known.
	Time string `json:"time,omitempty"`
	// Modified says the tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the toolchain that built it; Platform its GOOS/GOARCH.
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// Get is this binary's Info: what a release build set at link time, else
// what the Go toolchain recorded.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(bi, linked{version: version, commit: commit, date: date, modified: modified})
}

// linked is what a release build set at link time.
type linked struct{ version, commit, date, modified string }

// fromBuild makes an Info of the build info (nil when the binary has none)
// and what was set at link time, which wins.
func fromBuild(bi *debug.BuildInfo, l linked) Info {
	in := Info{Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
		in.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if l.version != "" {
		in.Version = l.version
		if !strings.HasPrefix(in.Version, "v") && in.Version != devel {
			in.Version = "v" + in.Version
		}
	}
	if l.commit != "" {
		in.Commit = l.commit
	}
	if l.date != "" {
		in.Time = l.date
	}
	if l.modified != "" {
		in.Modified = l.modified == "true"
	}
	if in.Version == "" {
		in.Version = devel
	}
	return in
}

// Short is the version as the audit log records it: the version, with the
// commit's first 12 characters when the version does not name one (a
// "(devel)" build), and "+dirty" when the tree had uncommitted changes and
// the version does not say so already. A release's tag is left alone: it
// names its commit.
func (in Info) Short() string {
	s := in.Version
	if s == devel && in.Commit != "" {
		s += " " + abbrev(in.Commit)
	}
	if in.Modified && !strings.HasSuffix(s, "+dirty") {
		s += "+dirty"
	}
	return s
}

// String is the version and the commit, on one line, as `--version`
// prints it: "v1.2.3 (commit 0123abcd…, 2026-01-02T03:04:05Z)".
func (in Info) String() string {
	var about []string
	if in.Commit != "" {
		about = append(about, "commit "+in.Commit)
	}
	if in.Time != "" {
		about = append(about, in.Time)
	}
	if in.Modified {
		about = append(about, "modified")
	}
	if len(about) == 0 {
		return in.Version
	}
	return in.Version + " (" + strings.Join(about, ", ") + ")"
}

func abbrev(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
