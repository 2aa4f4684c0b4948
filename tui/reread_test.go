package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// Every action that runs or rolls back (r, a gate's confirmation, u) and R
// read the plan file again, in the action's command, and hand the engine
// the plan as the file has it now: the engine checks it against the
// recorded hash as the CLI's run does. (The engine's rule itself is tested
// on a real database in TestLiveTUIReadsTheEditedPlanFile.)

// editablePlan copies an example plan into a folder of the test's own and
// loads it from there.
func editablePlan(t *testing.T, name string) (*phases.Plan, string) {
	t.Helper()
	data, err := os.ReadFile("../examples/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := phases.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p, path
}

// edit rewrites the plan file, replacing old with new.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

const sqliteBackfill = `sqlite: "lower(username) || '@example.com'"`

func TestActionsReadThePlanFileAgain(t *testing.T) {
	plan, path := editablePlan(t, "users-email")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "deploy-readers", nil)))

	// r: the edit is read by the command, not by Update, and the engine is
	// given the plan as the file has it now.
	edit(t, path, sqliteBackfill, `sqlite: "upper(username) || '@m'"`)
	cmd := h.key("r")
	if got, _ := h.m.plan.plan.AddColumn.Backfill.For("sqlite"); got != "lower(username) || '@example.com'" {
		t.Fatalf("Update read the file (backfill %q): the read is I/O, for the command", got)
	}
	h.sess().after = map[string][]engine.PhaseInfo{"run backfill": infos(plan, doneUpTo(plan, "backfill", nil))}
	h.run(cmd)
	if got, _ := h.eng.Given().AddColumn.Backfill.For("sqlite"); got != "upper(username) || '@m'" {
		t.Fatalf("r ran backfill with the plan read when the screen opened (backfill %q), not the file as it is now", got)
	}
	if got, _ := h.m.plan.plan.AddColumn.Backfill.For("sqlite"); got != "upper(username) || '@m'" {
		t.Fatalf("the screen still shows the old plan (backfill %q)", got)
	}
	if calls := h.sess().Calls(); len(calls) != 1 || calls[0] != "run backfill" {
		t.Fatalf("engine calls %v", calls)
	}

	// The engine refuses an edit: the same reason is on screen, and nothing
	// ran.
	edit(t, path, "column: email", "column: mail")
	h.eng.err = &engine.PlanChangedError{File: path, Plan: "users-email", Changes: []string{`column: was "email", now "mail"`},
		Refused: []string{"column cannot change: add-column is done"}}
	h.eng.inspectErr = h.eng.err
	h.sess().infos = infos(plan, doneUpTo(plan, "backfill", map[string]phases.Status{"switch-writes": phases.Waiting}))
	h.m.plan.infos = h.sess().infos
	h.key("c")
	h.run(h.key("y")) // the gate's confirmation
	if got := h.eng.Given().AddColumn.Column; got != "mail" {
		t.Fatalf("the gate's confirmation was checked with column %q, not the file's mail", got)
	}
	if calls := h.sess().Calls(); len(calls) != 1 {
		t.Fatalf("a refused edit ran %v", calls[1:])
	}
	h.contains("plan file changed since it started", "nothing ran", "Closed", `column: was "email", now "mail"`)

	// A file that no longer reads is refused before any engine call.
	h.eng.err, h.eng.inspectErr = nil, nil
	if err := os.WriteFile(path, []byte("name: users-email\nplaybook: add-column\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	starts := h.eng.Starts()
	h.run(h.key("r")) // reopens: the plan is closed
	if h.eng.Starts() != starts {
		t.Fatal("an invalid plan file started a session")
	}
	h.contains("cannot open users-email", "table", "Closed")

	// R reads the file again too.
	data, _ := os.ReadFile("../examples/users-email.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), sqliteBackfill, `sqlite: "lower(name)"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.run(h.key("R"))
	if got, _ := h.eng.Given().AddColumn.Backfill.For("sqlite"); got != "lower(name)" {
		t.Fatalf("R looked at backfill %q, not the file's", got)
	}
	h.contains("read again at")
	h.lacks("Closed")

	// u: the rollback is run with the file as it is now.
	edit(t, path, `sqlite: "lower(name)"`, `sqlite: "lower(name) || 'x'"`)
	h.key("u")
	h.run(h.key("y"))
	if got, _ := h.eng.Given().AddColumn.Backfill.For("sqlite"); got != "lower(name) || 'x'" {
		t.Fatalf("u rolled back with backfill %q, not the file's", got)
	}
	if calls := h.sess().Calls(); calls[len(calls)-1] != "rollback" {
		t.Fatalf("engine calls %v, want a rollback last", calls)
	}
}

// The file now describes another plan: the screen does not act on it.
func TestAPlanFileRenamedUnderTheScreenIsRefused(t *testing.T) {
	plan, path := editablePlan(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	edit(t, path, "name: users-email", "name: users-email-2")
	h.run(h.key("r"))
	if h.eng.Starts() != 0 {
		t.Fatal("the action ran on another plan than the screen's")
	}
	h.contains("users-email-2", "nothing ran")
}
