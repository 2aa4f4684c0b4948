package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuild(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "46629f0831a11c0eeed0d25bf57fe4ab14d6867f"},
		{Key: "vcs.time", Value: "2026-12-05T23:01:34Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, c := range []struct {
		name        string
		bi          *debug.BuildInfo
		l           linked
		short, long string
	}{
		{"no build info", nil, linked{}, "(devel)", "(devel)"},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, linked{}, "v1.2.3", "v1.2.3"},
		{"git checkout, go 1.24+", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261205230134-46629f0831a1+dirty"}, Settings: vcs}, linked{},
			"v0.0.0-20261205230134-46629f0831a1+dirty",
			"v0.0.0-20261205230134-46629f0831a1+dirty (commit 46629f0831a11c0eeed0d25bf57fe4ab14d6867f, 2026-12-05T23:01:34Z, modified)"},
		{"git checkout, no version stamped", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, linked{},
			"(devel) 46629f0831a1+dirty",
			"(devel) (commit 46629f0831a11c0eeed0d25bf57fe4ab14d6867f, 2026-12-05T23:01:34Z, modified)"},
		{"release build: link-time values win", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			linked{version: "1.4.0", commit: "abcdef0123456789", date: "2027-01-02T03:04:05Z", modified: "false"},
			"v1.4.0", "v1.4.0 (commit abcdef0123456789, 2027-01-02T03:04:05Z)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := fromBuild(c.bi, c.l)
			if got := in.Short(); got != c.short {
				t.Errorf("Short() = %q, want %q", got, c.short)
			}
			if got := in.String(); got != c.long {
				t.Errorf("String() = %q, want %q", got, c.long)
			}
			if in.Go == "" || in.Platform == "" {
				t.Errorf("no toolchain or platform: %+v", in)
			}
		})
	}
}

// The test binary has build info: Get reads it without a release build's
// link-time values.
func TestGet(t *testing.T) {
	in := Get()
	if in.Version == "" || in.Short() == "" {
		t.Fatalf("Get() = %+v: no version", in)
	}
}
