package tui

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
)

// Looking at a plan takes no runner lock; an action takes it for as long
// as it runs and lets it go when it ends.
func TestLookingTakesNoLockAndAnActionLetsItGo(t *testing.T) {
	plan := example(t, "users-email")
	h := openOn(t, &fakeEngine{sess: &fakeSession{infos: infos(plan, nil)}}, Config{Open: plan})
	h.contains("r run add-column", "ALTER TABLE `users` ADD COLUMN `email`")
	h.key("down")
	h.key("up")
	if n := h.eng.Starts(); n != 0 {
		t.Fatalf("looking at the plan took the runner lock %d times", n)
	}
	h.sess().after = map[string][]engine.PhaseInfo{"run add-column": infos(plan, map[string]phases.Status{"add-column": phases.Done})}
	h.run(h.key("r"))
	if n := h.eng.Starts(); n != 1 {
		t.Fatalf("r took the runner lock %d times, want once", n)
	}
	if h.sess().Locked() {
		t.Fatal("the runner lock is still held after the run ended")
	}
	h.contains("✓ add-column done")
	// esc and the list again: nothing to release, nothing taken.
	h.run(h.key("esc"))
	if h.eng.Starts() != 1 || h.sess().Locked() {
		t.Fatal("going back to the list took or kept a lock")
	}
}

// Another runner holds the table's lock when the operator acts: the screen
// names it (who, pid, host, since), nothing runs, and the plan stays open
// to read and to try again.
func TestLockHeldAtActionTimeNamesTheHolderAndKeepsThePlan(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	h.eng.err = &engine.LockHeldError{Scope: "users", Plan: "users-full-name", Holder: "ci@runner-7", Host: "runner-7", PID: 4242, Since: at.Add(-2 * time.Minute)}
	h.run(h.key("r"))
	h.contains("another runner holds users: ci@runner-7, pid 4242 on host runner-7,",
		"09:28:00 (2m0s ago)", "running plan users-full-name", "Nothing ran;", "r tries again")
	if calls := h.sess().Calls(); len(calls) != 0 {
		t.Fatalf("engine calls %v with the lock refused", calls)
	}
	if h.m.plan.op != opNone || !h.m.plan.viewed {
		t.Fatal("the plan did not stay open after the refusal")
	}
	// Still readable: the timeline, the detail, the keys.
	h.contains("Phases", "○ add-column", "Does    Adds email to users", "r run add-column")
	h.key("down")
	h.contains("deploy-readers  ◇ gate · pending")
	golden(t, h, "lock-held")

	// The holder is gone: r runs.
	h.eng.err = nil
	h.key("up")
	h.sess().after = map[string][]engine.PhaseInfo{"run add-column": infos(plan, map[string]phases.Status{"add-column": phases.Done})}
	h.run(h.key("r"))
	h.contains("✓ add-column done")
}

// The state read under the lock decides: when another runner moved the
// plan on since the screen read it, the operator's action does not run,
// and the screen shows where the plan stands.
func TestActionOnAStaleScreenDoesNotRun(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	// A release job ran add-column and reached deploy-readers meanwhile.
	h.sess().infos = infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Waiting})
	h.run(h.key("r"))
	if calls := h.sess().Calls(); len(calls) != 0 {
		t.Fatalf("engine calls %v: the stale action ran", calls)
	}
	h.contains("the plan moved on since this screen read it: the next phase is", "no longer add-column; nothing ran",
		"✓ add-column", "◆ deploy-readers")
	if h.sess().Locked() {
		t.Fatal("the lock is kept after the refused action")
	}
	// A rollback confirmed on a stale screen does not undo something else.
	h = openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done}))
	h.key("u")
	h.contains("Roll back backfill?")
	h.sess().infos = infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done, "switch-writes": phases.Done})
	h.run(h.key("y"))
	if calls := h.sess().Calls(); len(calls) != 0 {
		t.Fatalf("engine calls %v: a rollback of something else ran", calls)
	}
	h.contains("a rollback would now undo switch-", "not backfill; nothing ran")
}

// A plan that cannot be opened shows what the database records of it, and
// why it cannot be opened; what cannot be read is unknown, not pending.
func TestAPlanThatCannotOpenShowsTheRecordedState(t *testing.T) {
	plan := example(t, "users-email")
	changed := &engine.PlanChangedError{File: "plans/users-email.yaml", Plan: "users-email", Changes: []string{"backfill: lower(username) || '@example.com' → upper(username)"}}
	started := at.Add(-10 * time.Minute)
	eng := &fakeEngine{inspectErr: changed, status: []engine.PlanStatus{{Name: "users-email", Playbook: "add-column", Table: "users", Phases: []engine.PhaseStatus{
		{ID: "add-column", Status: phases.Done, StartedAt: &started, FinishedAt: &started},
		{ID: "deploy-readers", Status: phases.Done, FinishedAt: &started},
		{ID: "backfill", Status: phases.Failed, RowsDone: 11000, Detail: (&engine.InterruptedError{Phase: "backfill", Checkpoint: "id 11000"}).Error()},
		{ID: "switch-writes", Status: phases.Pending},
		{ID: "enforce", Status: phases.Pending},
	}}}}
	h := openOn(t, eng, Config{Open: plan})
	h.contains("Phases · as recorded", "✓ add-column", "✓ deploy-readers", "⏸ backfill", "stopped",
		"Closed", "changed since it started in this database",
		"cannot open users-email", "r open again")
	h.lacks("○ add-column", "○ backfill")
	if h.eng.Starts() != 0 {
		t.Fatal("a plan that cannot open took the lock")
	}
	golden(t, h, "closed-recorded")

	// The state itself cannot be read: unknown.
	eng.statusErr = errors.New("read shepherd_state: connection refused")
	h.run(h.key("r"))
	h.contains("? add-column", "unknown", "could not be read either")
	h.lacks("○ add-column")
}

// The header always names the database: shortened, never with its
// password, when the full DSN does not fit.
func TestHeaderShortensTheDSN(t *testing.T) {
	plan := example(t, "users-full-name")
	h := openPlan(t, plan, infos(plan, nil))
	h.eng.dsn = "postgres://app_migrator:***@db.internal:5432/app?sslmode=require"
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	top := strings.Split(h.screen(), "\n")[0]
	if !strings.Contains(top, "postgres db.internal/app") || !strings.Contains(top, "users-full-name") {
		t.Fatalf("the header %q does not name the database in short", top)
	}
	if strings.Contains(top, "***") || strings.Contains(top, "app_migrator") {
		t.Fatalf("the header %q shows credentials", top)
	}
	h.send(tea.WindowSizeMsg{Width: 140, Height: 30})
	top = strings.Split(h.screen(), "\n")[0]
	if !strings.Contains(top, "postgres://app_migrator:***@db.internal:5432/app?sslmode=require") {
		t.Fatalf("at 140 columns the full (masked) DSN fits: %q", top)
	}
	h.send(tea.WindowSizeMsg{Width: 60, Height: 16})
	top = strings.Split(h.screen(), "\n")[0]
	if !strings.Contains(top, "postgres db.internal") {
		t.Fatalf("at 60 columns the header %q drops the database", top)
	}
	for dsn, want := range map[string]string{
		"mysql://root:***@10.0.0.5:3306/shop":                     "mysql 10.0.0.5/shop",
		"postgresql://u@[::1]:5432/app":                           "postgres ::1/app",
		"sqlite:.shepherd-demo/demo.db":                           "sqlite demo.db",
		"mariadb://u:***@maria/app?tls=true":                      "mysql maria/app",
		"postgres://u:***@db/app?password=***&x=1":                "postgres db/app",
		"not a url with a p@ssword@host":                          "database",
		"host=/var/run/postgresql user=u password=*** dbname=app": "postgres /var/run/postgresql/app",
		"u:***@unix(/run/mysqld/mysqld.sock)/shop":                "mysql /run/mysqld/mysqld.sock/shop",
		"u:***@tcp(10.0.0.5:3306)/shop":                           "mysql 10.0.0.5/shop",
	} {
		if got := shortDSN(dsn); got != want {
			t.Errorf("shortDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// A phase run again (after its rollback) shows it is running now, not when
// its last run finished nor how it was undone.
func TestRerunShowsNoStaleDetails(t *testing.T) {
	plan := example(t, "users-email")
	snap := infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.RolledBack})
	snap[2].Detail = "the values written to email stay (a rerun fills the rows still NULL)"
	h := openPlan(t, plan, snap)
	h.contains("backfill  ↺ rolled back", "finished 09:25:20", "Undone  the values written to email stay")
	h.key("r")
	h.contains("backfill  ▶ running", "running now")
	h.lacks("finished 09:25:20", "Undone", "since 09:25:00", "started 09:25:00")
}

// verify-failure-path shows the write it used, not the placeholder, once
// it ran: from the log when the plan opens, from the run itself in this
// session.
func TestFailurePathShowsTheWriteItUsed(t *testing.T) {
	plan := example(t, "orders-amount-positive")
	used := "UPDATE `orders` SET `amount` = (-1) WHERE `id` = ?"
	done := infos(plan, doneUpTo(plan, "verify-failure-path", nil))
	sess := &fakeSession{infos: done}
	eng := &fakeEngine{sess: sess, log: []engine.LogEntry{
		{Phase: "verify-failure-path", Event: "sql", SQL: "UPDATE `orders` SET `amount` = (0) WHERE `id` = ?"},
		{Phase: "verify-failure-path", Event: "sql", SQL: used},
		{Phase: "verify-failure-path", Event: "finish"},
	}}
	h := openOn(t, eng, Config{Open: plan})
	h.contains("verify-failure-path  ✓ done", "SET `amount` = (-1)")
	h.key("J")
	h.contains("the write above is the one the database", "rejected when the proof last ran")
	h.lacks("<a value shepherd guesses", "<column>")

	// Not run yet: the placeholder, said to be one.
	h = openPlan(t, plan, infos(plan, doneUpTo(plan, "add-constraint", nil)))
	h.contains("SET `<column>` = (<a value")
	h.key("J")
	h.contains("values that commonly break the check")
	// Run in this session: the statement the proof ran last is the one
	// the database rejected.
	h.sess().emitSteps = []engine.Event{
		{Event: engine.EventStep, Phase: "verify-failure-path", SQL: "UPDATE `orders` SET `amount` = (0) WHERE `id` = ?"},
		{Event: engine.EventStep, Phase: "verify-failure-path", SQL: used},
	}
	h.sess().after = map[string][]engine.PhaseInfo{"run verify-failure-path": done}
	h.run(h.key("r"))
	h.contains("✓ verify-failure-path done", "SET `amount` = (-1)")
	h.lacks("<a value shepherd guesses")
}

// In the TUI a gate is confirmed with a key, not a flag.
func TestNotesNameTheKeysNotTheFlags(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done}))
	h.contains("deploy-readers  ◇ gate · pending", "it with c (or r) once the deploy is out")
	h.lacks("--confirm")
	rename := example(t, "users-full-name")
	h = openPlan(t, rename, infos(rename, doneUpTo(rename, "stop-old-writes", nil)))
	for range 8 {
		h.key("J")
	}
	h.contains("point of no return: confirm it with r,", "typing users, one release after")
	h.lacks("--confirm")
}

// drop-old-column is a step, the point of no return: its own symbol, and
// no rollback offered once it is done.
func TestPointOfNoReturnLooksLikeOneAndOffersNoRollback(t *testing.T) {
	rename := example(t, "users-full-name")
	h := openPlan(t, rename, infos(rename, doneUpTo(rename, "switch-reads", nil)))
	h.contains("⊘ drop-old-column", "step · no return", "◇ stop-old-writes", "gate · pending")
	h.lacks("◇ drop-old-column")
	h.contains("u roll back")

	h = openPlan(t, rename, infos(rename, doneUpTo(rename, "drop-old-column", nil)))
	h.lacks("u roll back")
	h.key("?")
	h.lacks("roll back")
}

// At the smallest size the full help fits, and q is always shown.
func TestHelpFitsAndAlwaysShowsQuit(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "deploy-readers", map[string]phases.Status{"backfill": phases.Failed})))
	snap := h.m.plan.infos
	snap[2].Detail = (&engine.InterruptedError{Phase: "backfill", Checkpoint: "id 11000"}).Error()
	h.send(viewedMsg{infos: snap})
	for _, size := range [][2]int{{60, 16}, {80, 24}, {61, 17}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, all := range []bool{false, true} {
			if h.m.help.ShowAll != all {
				h.key("?")
			}
			scr := h.screen()
			lines := strings.Split(h.m.View().Content, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d: line %d is %d wide", size[0], size[1], i, w)
				}
			}
			if !strings.Contains(scr, "q quit") || strings.Contains(scr, "…") && all {
				t.Errorf("%dx%d, full help %v: q is not shown, or the help is cut:\n%s", size[0], size[1], all, scr)
			}
			if all {
				for _, want := range []string{"r resume backfill", "u roll back", "↑↓ phase", "pgdn/pgup scroll", "R read again", "esc plans", "? fewer keys"} {
					if !strings.Contains(scr, want) {
						t.Errorf("%dx%d: the full help lacks %q:\n%s", size[0], size[1], want, scr)
					}
				}
			}
		}
	}
	// A long key text at 60 columns: the short help drops others, not q.
	h.send(tea.WindowSizeMsg{Width: 60, Height: 16})
	if h.m.help.ShowAll {
		h.key("?")
	}
	h.key("up")
	h.contains("q quit", "? more", "r resume backfill")
}

// status (text) says "stopped" where the TUI does, for an interrupted
// phase; JSON keeps the recorded status.
func TestStatusTableSaysStoppedLikeTheTUI(t *testing.T) {
	detail := (&engine.InterruptedError{Phase: "backfill", Checkpoint: "id 11000"}).Error()
	var b bytes.Buffer
	printer.Status(&b, []engine.PlanStatus{{Name: "users-email", Playbook: "add-column", Table: "users", Phases: []engine.PhaseStatus{
		{ID: "backfill", Status: phases.Failed, Detail: detail},
		{ID: "switch-writes", Status: phases.Failed, Detail: "switch-writes: verification failed: …"},
	}}})
	out := b.String()
	if !regexp.MustCompile(`(?m)^\s+backfill\s+stopped\s`).MatchString(out) {
		t.Fatalf("the status table does not say stopped for an interrupted backfill:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\s+switch-writes\s+failed\s`).MatchString(out) {
		t.Fatalf("a real failure must still read failed:\n%s", out)
	}
	lk := lookOf(NewStyles(true, true), phases.Phase{ID: "backfill"}, engine.PhaseInfo{Status: phases.Failed, Detail: detail})
	if lk.word != "stopped" {
		t.Fatalf("the TUI says %q", lk.word)
	}
}

func TestGoldenRolledBack(t *testing.T) {
	plan := example(t, "users-email")
	snap := infos(plan, doneUpTo(plan, "deploy-readers", map[string]phases.Status{"backfill": phases.RolledBack}))
	snap[2].Detail = "the values written to email stay (a rerun fills the rows still NULL)"
	h := openPlan(t, plan, snap)
	h.send(rolledBackMsg{phase: plan.PlaybookDef().Phases[2], infos: snap})
	golden(t, h, "rolled-back")
}

// A resize wraps the detail again to its new width, instead of cutting
// the lines wrapped for the old one.
func TestResizeRewrapsTheDetail(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	h.contains("Does    Adds email to users as a nullable column.")
	h.send(tea.WindowSizeMsg{Width: 60, Height: 16})
	h.contains("Does    Adds email to users as ", "        a nullable column.")
}
