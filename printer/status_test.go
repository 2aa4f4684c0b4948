package printer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// An interrupted phase reads as one sentence in the status table, said from
// its recorded state (stopped, how many rows), not the engine's wording
// after the word "stopped".
func TestStatusSaysWhereAnInterruptedPhaseStopped(t *testing.T) {
	for _, c := range []struct {
		name string
		err  *engine.InterruptedError
		rows int64
		want string
	}{
		{"checkpoint", &engine.InterruptedError{Phase: "backfill", Checkpoint: "id 11000"}, 11000,
			"backfill             stopped      at its checkpoint, with 11,000 rows done: a rerun resumes from it"},
		{"before the first batch", &engine.InterruptedError{Phase: "backfill"}, 0,
			"backfill             stopped      before its first batch committed: a rerun starts it again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			Status(&b, []engine.PlanStatus{{Name: "users-email", Playbook: "add-column", Table: "users", Phases: []engine.PhaseStatus{
				{ID: "backfill", Status: phases.Failed, RowsDone: c.rows, Detail: c.err.Error()},
			}}})
			line := strings.Split(b.String(), "\n")[1]
			if got := strings.Join(strings.Fields(line), " "); got != strings.Join(strings.Fields(c.want), " ") {
				t.Fatalf("the status line reads\n  %s\nwant\n  %s", line, c.want)
			}
			if strings.Contains(line, "interrupted") {
				t.Fatalf("the line says stopped and interrupted: %s", line)
			}
		})
	}
}
