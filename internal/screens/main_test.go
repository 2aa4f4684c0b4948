package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// The README's screenshots are drawn by driving the real TUI: a TUI change
// that stops the walk (a key that no longer does what it did, a text the
// walk waits for that is gone) or empties a screen fails here, before
// scripts/screens.sh is next run.
func TestDrawShowsTheREADMEScreens(t *testing.T) {
	t.Chdir(t.TempDir())
	screens, err := Draw(context.Background(), ".shepherd-demo", 500)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"plan-list":     {"Plans", "the bundled examples, on the demo database", "users-email", "3 of 5 done · next: switch-writes", "file: .shepherd-demo/plans/users-email.yaml"},
		"phase-detail":  {"users-email · add-column on users", "› ✓ add-column", "ALTER TABLE", "users.email exists and is nullable"},
		"gate":          {"Gate: deploy-readers", "Is this deploy out on every replica?", "y yes, it is out everywhere"},
		"backfill-done": {"✓ backfill done: 500 rows", "› ◇ switch-writes", "r confirm switch-writes"},
	}
	if len(screens) != len(want) {
		t.Fatalf("%d screens, want %d", len(screens), len(want))
	}
	for _, s := range screens {
		texts, ok := want[s.Name]
		if !ok {
			t.Errorf("an unexpected screen %q", s.Name)
			continue
		}
		if !strings.Contains(s.ANSI, "\x1b[") {
			t.Errorf("%s has no colours", s.Name)
		}
		plain := ansi.Strip(s.ANSI)
		for _, w := range texts {
			if !strings.Contains(plain, w) {
				t.Errorf("%s does not show %q:\n%s", s.Name, w, plain)
			}
		}
		lines := strings.Split(plain, "\n")
		if len(lines) != Height {
			t.Errorf("%s has %d lines, want %d", s.Name, len(lines), Height)
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > Width {
				t.Errorf("%s line %d is %d wide, more than %d", s.Name, i+1, w, Width)
			}
		}
		if strings.Contains(plain, os.TempDir()) {
			t.Errorf("%s names a folder of this machine:\n%s", s.Name, plain)
		}
	}
}
