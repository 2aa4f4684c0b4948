package tui

import (
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// A phase recorded as running is shown by who runs it: a live runner
// elsewhere runs it (it is not "stopped … r resumes"); one whose runner is
// gone (killed, crashed, cut off) stopped, and r resumes it.
func TestRunningPhaseShowsItsRunner(t *testing.T) {
	plan := example(t, "users-email")
	for _, tc := range []struct {
		name        string
		runner      *engine.Runner
		shows, lack []string
	}{
		{
			name:   "alive",
			runner: &engine.Runner{Holder: "ci@runner-7", Host: "runner-7", PID: 4242, Since: at.Add(-3 * time.Minute), Alive: true},
			shows:  []string{"▶ running", "backfill is running in another runner (ci@runner-7, pid 4242 on host runner-7)", "wait for it, or stop it"},
			lack:   []string{"stopped", "r resumes"},
		},
		{
			name:   "gone",
			runner: &engine.Runner{Holder: "ci@runner-7", Host: "runner-7", PID: 4242, Since: at.Add(-3 * time.Minute)},
			shows:  []string{"⏸ stopped", "backfill stopped at key 8000, with 8,000 rows done", "r resumes from it", "Stopped its runner (ci@runner-7", "runner-7) is gone"},
			lack:   []string{"▶ running", "another runner"},
		},
		{
			name:  "no runner",
			shows: []string{"⏸ stopped", "r resumes from it", "no runner holds the plan's lock"},
			lack:  []string{"▶ running", "another runner"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := infos(plan, doneUpTo(plan, "deploy-readers", map[string]phases.Status{"backfill": phases.Running}))
			for i := range snap {
				if snap[i].ID == "backfill" {
					snap[i].Checkpoint, snap[i].RowsDone, snap[i].Runner = "8000", 8000, tc.runner
				}
			}
			h := openPlan(t, plan, snap)
			h.contains(tc.shows...)
			h.lacks(tc.lack...)
		})
	}
}
