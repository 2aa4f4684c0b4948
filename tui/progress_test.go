package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/shepherd-db/shepherd/engine"
)

// A build the database reports (an index build) shows its stage and its
// own units, not rows, and says it waits for the first report before one
// comes; a walk counts rows.
func TestProgressBarOfAWatchedBuild(t *testing.T) {
	b := newBackfill(NewStyles(true, true))
	b.SetWidth(100)
	b.Watch("create-index")
	if v := ansi.Strip(b.View()); !strings.Contains(v, "waiting for the database's first report") || strings.Contains(v, "counting rows") {
		t.Errorf("before a report: %q", v)
	}
	done, total := int64(250), int64(1000)
	b.Event(engine.Event{Event: engine.EventProgress, Phase: "create-index", Message: "users_name_idx: building index: scanning table", RowsDone: &done, RowsTotal: &total, RowsPerSec: 50})
	v := ansi.Strip(b.View())
	for _, want := range []string{"25%", "users_name_idx: building index: scanning table · 250 / 1,000", "50/s", "ETA 15s"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "rows") {
		t.Errorf("a build's progress speaks of rows:\n%s", v)
	}
	b.Start("backfill", 0)
	b.Event(engine.Event{Event: engine.EventProgress, Phase: "backfill", RowsDone: &done, RowsTotal: &total})
	if v := ansi.Strip(b.View()); !strings.Contains(v, "250 / 1,000 rows") {
		t.Errorf("a walk's progress: %q", v)
	}
}
