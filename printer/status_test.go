package printer

import (
	"bytes"
	"strings"
	"testing"
	"time"

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

// The status table's columns are as wide as their widest cell: a phase
// name longer than the old 20-column pad still leaves its status, time and
// detail aligned with the other rows, and no row ends in padding.
func TestStatusTableAlignsLongNames(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local)
	var b bytes.Buffer
	Status(&b, []engine.PlanStatus{{Name: "orders-fk", Playbook: "add-foreign-key", Table: "orders", Phases: []engine.PhaseStatus{
		{ID: "add", Status: phases.Done, FinishedAt: &at, Detail: "added"},
		{ID: "validate-the-constraint-everywhere", Status: phases.Pending},
		{ID: "enforce", Status: phases.RolledBack, FinishedAt: &at, Detail: "reverted"},
	}}})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"orders-fk  (add-foreign-key on orders)",
		"  add                                 done         2026-03-01 10:00:00  added",
		"  validate-the-constraint-everywhere  pending",
		"  enforce                             rolled-back  2026-03-01 10:00:00  reverted",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("status table\n%s\nwant\n%s", b.String(), strings.Join(want, "\n"))
	}
}

// A column empty in every row (no phase has a time yet) takes no room.
func TestStatusTableDropsAnEmptyColumn(t *testing.T) {
	var b bytes.Buffer
	Status(&b, []engine.PlanStatus{{Name: "p", Playbook: "add-column", Table: "t", Phases: []engine.PhaseStatus{
		{ID: "add-column", Status: phases.Failed, Detail: "add-column: boom"},
		{ID: "enforce", Status: phases.Pending},
	}}})
	want := "p  (add-column on t)\n  add-column  failed   add-column: boom\n  enforce     pending\n"
	if b.String() != want {
		t.Fatalf("status table\n%q\nwant\n%q", b.String(), want)
	}
}

// The audit log's first lines align across the SQL under them.
func TestLogAlignsAcrossItsStatements(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local)
	var b bytes.Buffer
	Log(&b, []engine.LogEntry{
		{At: at, Phase: "add-column", Event: "sql", Actor: "alice", SQL: "ALTER TABLE users\nADD COLUMN email text"},
		{At: at, Phase: "switch-writes-to-the-new-column", Event: "confirm", Actor: "bob"},
	})
	want := "2026-03-01 10:00:00  -  add-column                       sql      alice\n" +
		"    ALTER TABLE users\n    ADD COLUMN email text\n" +
		"2026-03-01 10:00:00  -  switch-writes-to-the-new-column  confirm  bob\n"
	if b.String() != want {
		t.Fatalf("log\n%s\nwant\n%s", b.String(), want)
	}
}

// Thousands separators, as before the library did them.
func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 11000: "11,000", 1234567: "1,234,567", -1234: "-1,234", -999: "-999"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
