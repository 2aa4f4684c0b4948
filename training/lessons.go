// Package training is `shepherd train`: lessons that teach why expand/contract
// goes in the order it does. Each lesson has a sandbox (a fresh SQLite file
// that shepherd's own engine changes for real) and an application fleet that
// keeps reading and writing it with real SQL while the trainee picks the next
// action. What the fleet really hits (a failed insert, a NULL where code
// expects a value, a lost write, a dropped column, a replica that crashed at
// startup) becomes an incident that quotes the rule it broke from the
// Migration Operations guide and gives the safe order.
package training

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// The rules, quoted from the seed. Every incident names one of them.
const (
	ruleAddNullable   = "Add the column as nullable or with a safe default."
	ruleDeployReaders = "Deploy code that can read old and new rows."
	ruleBackfill      = "Backfill existing rows."
	ruleSwitchWrites  = "Switch writes to populate the column."
	ruleEnforce       = "Enforce not null or stricter constraints in a later migration."

	ruleAddNew      = "Add the new column."
	ruleDualWrite   = "Write to both old and new columns."
	ruleBackfillOld = "Backfill old rows into the new column."
	ruleSwitchReads = "Switch reads to the new column."
	ruleStopOld     = "Stop writing the old column."
	ruleDropLater   = "Drop the old column in a later release."

	ruleValidate    = "Add validation at the application boundary."
	ruleClean       = "Backfill or clean existing rows."
	ruleConstraint  = "Add the database constraint."
	ruleFailurePath = "Keep a real database test for the failure path."
	ruleNoCombine   = "Do not combine data cleanup, read-path changes, write-path changes, and strict constraints in one high-risk migration unless the maintenance window explicitly allows it."

	ruleReleaseJob   = "Run migrations once in a release job or controlled migration phase."
	ruleStartAfter   = "Start application replicas after the migration phase succeeds."
	ruleReadiness    = "Route traffic only after readiness succeeds."
	ruleScaleOut     = "Avoid letting every application replica apply migrations during scale-out. That can create lock contention, duplicate work, and hard-to-debug release failures."
	ruleNoRace       = "Application replicas should not race to become the migration runner."
	ruleExternalLock = "If your platform only supports startup hooks, add an external lock or platform-level singleton guarantee before using startup migrations in production."
	ruleFailClosed   = "Readiness should fail closed until the app can serve traffic safely."
)

// Lesson is one training lesson.
type Lesson struct {
	Name  string `json:"lesson"`
	Title string `json:"title"`
	// Guide is the heading of the Migration Operations guide's section the lesson teaches.
	Guide string `json:"guide"`
	// Rules are the seed's steps, in the safe order.
	Rules   []string  `json:"rules"`
	Intro   string    `json:"intro"`
	Actions []*Action `json:"-"`
	// Safe is the safe sequence of actions.
	Safe []string `json:"safe"`

	plan  string // the example plan the lesson runs
	table string
	// setup is SQL run on this lesson's sandbox after the shared schema:
	// what only this lesson's tables have (a column the code is retiring,
	// an index), so that the other lessons keep the schema they teach on.
	setup    string
	versions []*codeVersion
	// gates: each deploy gate of the playbook, and the version that must
	// be out everywhere before the lesson confirms it.
	gates map[string]int
	// session: the lesson keeps one operator's session on the sandbox
	// (the multi-replica lesson starts sessions per runner instead).
	session  bool
	diagnose func(r *Run, o occurrence) (rule, why string)
	complete func(r *Run) bool
}

// Action is one thing the trainee can do.
type Action struct {
	Name string `json:"name"`
	Does string `json:"does"`
	// Kind groups the menu: kindCheck, kindData, kindDeploy,
	// kindMigration or kindRecovery.
	Kind string `json:"kind"`
	// rule is the seed's step the action carries out, for a migration that
	// fails while doing it.
	rule  string
	apply func(ctx context.Context, r *Run) error
}

// The kinds of action, in the order the menu groups them.
const (
	kindCheck     = "checks"
	kindData      = "data"
	kindDeploy    = "deploys"
	kindMigration = "migrations"
	kindRecovery  = "recovery"
)

// kinds are the menu's groups, in order.
var kinds = []string{kindCheck, kindData, kindDeploy, kindMigration, kindRecovery}

// menuOrder puts a lesson's actions in the order the menu offers them:
// grouped by kind, then by name. The order says nothing about which actions
// are safe or in what order they go (a lesson defines its actions in the
// safe order, which the menu must not give away); the trainee learns that
// from the fleet, and the score and incidents show it afterwards.
func menuOrder(actions []*Action) []*Action {
	rank := func(a *Action) int { return slices.Index(kinds, a.Kind) }
	out := slices.Clone(actions)
	slices.SortStableFunc(out, func(a, b *Action) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// ActionNames lists the lesson's actions, as the menu offers them.
func (l *Lesson) ActionNames() []string {
	names := make([]string, len(l.Actions))
	for i, a := range l.Actions {
		names[i] = a.Name
	}
	return names
}

// Action returns the named action.
func (l *Lesson) Action(name string) (*Action, bool) {
	for _, a := range l.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return nil, false
}

// SafeOrder is the seed's steps in order, as one line.
func (l *Lesson) SafeOrder() string { return strings.Join(l.Rules, " → ") }

// Lessons returns every lesson, in the order the menu shows them, each
// with its actions in menu order.
func Lessons() []*Lesson {
	ls := []*Lesson{addColumnLesson(), renameColumnLesson(), tightenLesson(), multiReplicaLesson(),
		dropColumnLesson(), dropIndexLesson(), addIndexLesson(), changeTypeLesson()}
	for _, l := range ls {
		l.Actions = menuOrder(l.Actions)
	}
	return ls
}

// Find returns the named lesson.
func Find(name string) (*Lesson, bool) {
	for _, l := range Lessons() {
		if l.Name == name {
			return l, true
		}
	}
	return nil, false
}

// LessonNames lists the lessons' names.
func LessonNames() []string {
	var names []string
	for _, l := range Lessons() {
		names = append(names, l.Name)
	}
	return names
}

// ---------- actions shared by the playbook lessons ----------

// runPhases runs shepherd's phases through the engine, in the playbook's
// order or out of it (the sandbox allows that), skipping those already done.
func runPhases(ids ...string) func(context.Context, *Run) error {
	return func(ctx context.Context, r *Run) error {
		for _, id := range ids {
			if len(ids) > 1 && r.sess.Progress().Of(id) == phases.Done {
				r.say("%s was already done: skipped", id)
				continue
			}
			if err := r.sess.RunOutOfOrder(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
}

// deployTo starts a rolling deploy of version k: one replica moves a tick.
// When the deploy's gate is shepherd's next phase, shepherd arrives at it
// first (for stop-old-writes that moves NOT NULL off the old column, before
// code that stops writing it is out). The lesson confirms the gate once the
// deploy is out everywhere.
func deployTo(k int, gate string) func(context.Context, *Run) error {
	return func(ctx context.Context, r *Run) error {
		if next, more := r.sess.Plan().PlaybookDef().Next(r.sess.Progress()); more && next.ID == gate {
			if err := r.sess.Arrive(ctx, gate); err != nil {
				return err
			}
		}
		v := r.fleet.versions[k]
		r.fleet.target, r.fleet.rollIdx = v, 0
		r.say("rolling deploy of %s: one replica a tick", v)
		return nil
	}
}

// rollbackAction is `shepherd rollback`: it reverts the last phase that did
// something, and refuses past the point of no return. It is how a trainee
// recovers from a gate that shepherd will not confirm.
var rollbackAction = &Action{Name: "rollback", Kind: kindRecovery, Does: "shepherd rollback: revert the last phase that ran (a gate is un-confirmed, a backfill can run again)",
	apply: func(ctx context.Context, r *Run) error {
		ph, err := r.sess.Rollback(ctx)
		if err != nil {
			return err
		}
		r.say("rolled back %s: %s", ph.ID, r.plan.Expand(ph.Revert))
		return nil
	}}

// ---------- add-column ----------

func addColumnLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "old code: no email",
		insert: insertUser("name"), update: updateUser("name"), read: readUser("name", "", false)}
	v2 := &codeVersion{ID: "v2", Label: "reads email, copes with NULL",
		insert: insertUser("name"), update: updateUser("name"), read: readUser("email", "", false)}
	v3 := &codeVersion{ID: "v3", Label: "writes email",
		insert: insertUser("name", "email"), update: updateUser("name", "email"), read: readUser("email", "", false)}
	return &Lesson{
		Name: "add-column", Title: "Add a NOT NULL column without breaking old code", Guide: "Add Nullable Column",
		Rules: []string{ruleAddNullable, ruleDeployReaders, ruleBackfill, ruleSwitchWrites, ruleEnforce},
		Intro: "users gets a required email column. Three replicas run v1, which inserts users without email. " +
			"Make email NOT NULL in the end without a single failed request.",
		plan: "users-email.yaml", table: "users", session: true,
		versions: []*codeVersion{v1, v2, v3},
		gates:    map[string]int{"deploy-readers": 1, "switch-writes": 2},
		Actions: []*Action{
			{Name: "add-column", Kind: kindMigration, Does: "shepherd's add-column phase: ADD COLUMN email, nullable", rule: ruleAddNullable, apply: runPhases("add-column")},
			{Name: "deploy-readers", Kind: kindDeploy, Does: "deploy v2: reads email and copes with NULL (the deploy-readers gate)", rule: ruleDeployReaders, apply: deployTo(1, "deploy-readers")},
			{Name: "backfill", Kind: kindData, Does: "shepherd's backfill: fill email for existing rows, in short batches", rule: ruleBackfill, apply: runPhases("backfill")},
			{Name: "deploy-writers", Kind: kindDeploy, Does: "deploy v3: writes email on every insert and update (the switch-writes gate, then shepherd's catch-up)", rule: ruleSwitchWrites, apply: deployTo(2, "switch-writes")},
			{Name: "enforce", Kind: kindMigration, Does: "shepherd's enforce phase: make email NOT NULL (a table rebuild on SQLite)", rule: ruleEnforce, apply: runPhases("enforce")},
			{Name: "add-not-null-column", Kind: kindMigration, Does: "shortcut: one migration adds email, fills it and makes it NOT NULL at once", rule: ruleAddNullable, apply: runPhases("add-column", "backfill", "enforce")},
			{Name: "force-enforce", Kind: kindMigration, Does: "shortcut: confirm switch-writes without deploying the writers (its catch-up fills the NULLs), then enforce NOT NULL", rule: ruleEnforce, apply: runPhases("switch-writes", "enforce")},
			rollbackAction,
		},
		Safe:     []string{"add-column", "deploy-readers", "backfill", "deploy-writers", "enforce"},
		diagnose: diagnoseAddColumn,
		complete: playbookComplete,
	}
}

func diagnoseAddColumn(r *Run, o occurrence) (string, string) {
	msg := dbError(o.err)
	switch {
	case missingColumn(msg, "email"):
		if o.kind == "migration-failed" {
			return ruleAddNullable, "That phase needs the email column, and it is not there yet: add it first."
		}
		return ruleAddNullable, o.version.ID + " was deployed before the email column existed: add the column first, then deploy code that uses it."
	case strings.Contains(msg, "NOT NULL constraint failed") && strings.Contains(msg, "email"):
		if r.did("add-not-null-column") {
			return ruleAddNullable, "The email column became NOT NULL while code that does not write it still runs: add it nullable, and enforce only after every writer fills it."
		}
		return ruleEnforce, "NOT NULL was enforced while code that does not write email still runs: switch writes first (deploy-writers), enforce after."
	}
	return r.actionRule(), ""
}

// ---------- rename-column ----------

func renameColumnLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "old code: name only",
		insert: insertUser("name"), update: updateUser("name"), read: readUser("name", "name", true)}
	v2 := &codeVersion{ID: "v2", Label: "writes name and full_name, reads name",
		insert: insertUser("name", "full_name"), update: updateUser("name", "full_name"), read: readUser("name", "name", true)}
	v3 := &codeVersion{ID: "v3", Label: "writes both, reads full_name",
		insert: insertUser("name", "full_name"), update: updateUser("name", "full_name"), read: readUser("full_name", "name", true)}
	v4 := &codeVersion{ID: "v4", Label: "full_name only",
		insert: insertUser("full_name"), update: updateUser("full_name"), read: readUser("full_name", "name", true)}
	return &Lesson{
		Name: "rename-column", Title: "Rename a column while old and new code run side by side", Guide: "Rename Column",
		Rules: []string{ruleAddNew, ruleDualWrite, ruleBackfillOld, ruleSwitchReads, ruleStopOld, ruleDropLater},
		Intro: "users.name becomes users.full_name. Three replicas run v1, which reads and writes name, and every " +
			"user expects to read back the name they saved. Get to v4 and drop name without an error, a NULL or a lost write.",
		plan: "users-full-name.yaml", table: "users", session: true,
		versions: []*codeVersion{v1, v2, v3, v4},
		gates:    map[string]int{"dual-write": 1, "switch-reads": 2, "stop-old-writes": 3},
		Actions: []*Action{
			{Name: "add-column", Kind: kindMigration, Does: "shepherd's add-column phase: ADD COLUMN full_name, nullable", rule: ruleAddNew, apply: runPhases("add-column")},
			{Name: "deploy-dual-write", Kind: kindDeploy, Does: "deploy v2: writes name and full_name, still reads name (the dual-write gate)", rule: ruleDualWrite, apply: deployTo(1, "dual-write")},
			{Name: "backfill", Kind: kindData, Does: "shepherd's backfill: copy name into full_name for existing rows, in short batches", rule: ruleBackfillOld, apply: runPhases("backfill")},
			{Name: "deploy-new-reads", Kind: kindDeploy, Does: "deploy v3: reads full_name, still writes both (the switch-reads gate: shepherd refuses while any row differs)", rule: ruleSwitchReads, apply: deployTo(2, "switch-reads")},
			{Name: "deploy-new-only", Kind: kindDeploy, Does: "deploy v4: reads and writes full_name only (the stop-old-writes gate: shepherd first moves NOT NULL to full_name)", rule: ruleStopOld, apply: deployTo(3, "stop-old-writes")},
			{Name: "drop-old-column", Kind: kindMigration, Does: "shepherd's drop-old-column: DROP COLUMN name, the point of no return", rule: ruleDropLater, apply: runPhases("drop-old-column")},
			{Name: "rename-in-place", Kind: kindMigration, Does: "shortcut: ALTER TABLE users RENAME COLUMN name TO full_name, in one step", rule: ruleAddNew, apply: renameInPlace},
			rollbackAction,
		},
		Safe:     []string{"add-column", "deploy-dual-write", "backfill", "deploy-new-reads", "deploy-new-only", "drop-old-column"},
		diagnose: diagnoseRename,
		complete: playbookComplete,
	}
}

// renameInPlace is the shortcut every rename tempts: the sandbox's own table
// and columns, fixed text, no input.
func renameInPlace(ctx context.Context, r *Run) error {
	const stmt = `ALTER TABLE "users" RENAME COLUMN "name" TO "full_name"`
	r.cur.res.SQL = append(r.cur.res.SQL, stmt)
	if _, err := r.app.ExecContext(ctx, stmt); err != nil {
		return err
	}
	r.say("renamed users.name to full_name in place")
	return nil
}

func diagnoseRename(r *Run, o occurrence) (string, string) {
	msg := dbError(o.err)
	who := ""
	if o.version != nil {
		who = o.version.ID
	}
	if o.kind == "migration-failed" && r.cur != nil && r.cur.action.Name == "drop-old-column" {
		if next, more := r.plan.PlaybookDef().Next(r.sess.Progress()); more && next.ID != "drop-old-column" {
			return ruleDropLater, "shepherd drops the old column only once every phase before it is done (next: " + next.ID +
				"): until reads switch and old writes stop, running code still uses name, and a drop cannot be undone."
		}
	}
	switch {
	case missingColumn(msg, "full_name"):
		if o.kind == "migration-failed" {
			return ruleAddNew, "That phase needs full_name, and it is not there yet: add it first."
		}
		return ruleAddNew, who + " was deployed before full_name existed: add the new column first."
	case strings.Contains(msg, "duplicate column name: full_name"):
		return ruleAddNew, "The full_name column is taken: the in-place rename already made it, and every replica that used name broke."
	case missingColumn(msg, "name"):
		if r.did("rename-in-place") {
			return ruleAddNew, "The name column was renamed in place, so every replica still running code that uses name broke at once: add full_name beside it instead."
		}
		return ruleDropLater, "The name column was dropped while " + who + " still uses it: drop the old column one release after no running code reads or writes it."
	case strings.Contains(msg, "NOT NULL constraint failed") && strings.Contains(msg, ".name"):
		return ruleStopOld, who + " stopped writing name while name was still NOT NULL: deploy it at the stop-old-writes gate, where shepherd first moves NOT NULL to full_name."
	case strings.Contains(msg, "NOT NULL constraint failed") && strings.Contains(msg, "full_name"):
		return ruleDualWrite, who + " does not write full_name, yet full_name is NOT NULL already: every running version must write both first."
	}
	if o.kind == "null-read" || o.kind == "lost-write" {
		wroteOld := o.last != nil && contains(o.last.cols, "name")
		wroteNew := o.last != nil && contains(o.last.cols, "full_name")
		if o.col == "full_name" {
			if r.sess.Progress().Of("backfill") != phases.Done {
				return ruleBackfillOld, "Reads switched to full_name before the backfill copied the rows written before dual-write into it."
			}
			if !wroteNew {
				return ruleDualWrite, "Reads switched to full_name while " + o.last.writer + ", which writes name only, still ran: its writes never reach full_name."
			}
		}
		if o.col == "name" && !wroteOld {
			return ruleStopOld, o.last.writer + " stopped writing name while " + who + ", which reads name, still ran: switch reads everywhere first."
		}
	}
	return r.actionRule(), ""
}

// ---------- tighten-constraint ----------

func tightenLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "old code: books any amount",
		insert: insertOrder(false), update: updateOrder, read: readOrder}
	v2 := &codeVersion{ID: "v2", Label: "validates amount > 0 at the boundary",
		insert: insertOrder(true), update: updateOrder, read: readOrder}
	return &Lesson{
		Name: "tighten-constraint", Title: "Add a CHECK constraint to a table with bad rows", Guide: "Tighten Constraint",
		Rules: []string{ruleValidate, ruleClean, ruleConstraint, ruleFailurePath},
		Intro: "orders gets CHECK (amount > 0). Some old rows break it (refunds booked with the wrong sign), and v1 keeps " +
			"booking such refunds. Get the constraint in, proven on the database, without a failed order.",
		plan: "orders-amount-positive.yaml", table: "orders", session: true,
		versions: []*codeVersion{v1, v2},
		gates:    map[string]int{"validate-in-app": 1},
		Actions: []*Action{
			{Name: "deploy-validation", Kind: kindDeploy, Does: "deploy v2: rejects amount <= 0 at the application boundary (the validate-in-app gate)", rule: ruleValidate, apply: deployTo(1, "validate-in-app")},
			{Name: "clean", Kind: kindData, Does: "shepherd's clean: amount = abs(amount) for the rows that break the rule, in short batches", rule: ruleClean, apply: runPhases("clean")},
			{Name: "add-constraint", Kind: kindMigration, Does: "shepherd's add-constraint: CHECK (amount > 0), a table rebuild on SQLite", rule: ruleConstraint, apply: runPhases("add-constraint")},
			{Name: "verify-failure-path", Kind: kindMigration, Does: "shepherd's verify-failure-path: a violating write, rolled back, must be rejected", rule: ruleFailurePath, apply: runPhases("verify-failure-path")},
			{Name: "clean-and-constrain", Kind: kindMigration, Does: "shortcut: one migration cleans the rows and adds the constraint at once", rule: ruleNoCombine, apply: runPhases("clean", "add-constraint")},
			rollbackAction,
		},
		Safe:     []string{"deploy-validation", "clean", "add-constraint", "verify-failure-path"},
		diagnose: diagnoseTighten,
		complete: playbookComplete,
	}
}

func diagnoseTighten(r *Run, o occurrence) (string, string) {
	msg := dbError(o.err)
	// add-constraint counts the rows that break the rule and fails with
	// them (a *engine.VerifyError) before or instead of the database's
	// own refusal; the application's writes meet the CHECK itself.
	var rows *engine.VerifyError
	refusedForRows := errors.As(o.err, &rows) && rows.Phase == "add-constraint" && rows.Count > 0
	if refusedForRows || strings.Contains(msg, "CHECK constraint failed") {
		if o.kind == "migration-failed" {
			if r.sess.Progress().Of("clean") != phases.Done {
				return ruleClean, "Rows that break the rule are still there, so the database cannot add it: clean them first."
			}
			return ruleValidate, "New rows that break the rule arrived after the clean, from code that does not validate: deploy validation first."
		}
		if r.did("clean-and-constrain") {
			return ruleNoCombine, o.version.ID + " does not validate amount, and one migration cleaned the rows and added the constraint under it: validate in the app first, then clean, then constrain."
		}
		return ruleValidate, o.version.ID + " does not validate amount, yet the constraint is in force: deploy validation at the boundary first."
	}
	return r.actionRule(), ""
}

func playbookComplete(r *Run) bool {
	return r.sess.Plan().PlaybookDef().Complete(r.sess.Progress()) && r.fleet.minVersion() == len(r.fleet.versions)-1
}

// ---------- the fleet's SQL ----------
//
// The application's statements: fixed text on the sandbox's own tables,
// values bound as parameters.

func insertUser(cols ...string) func(f *fleet) request {
	return func(f *fleet) request {
		n := f.next()
		username := fmt.Sprintf("u%d", 1000+n)
		name := personName(n)
		q := request{op: "insert", writes: map[string]string{"name": name}, cols: cols}
		names := []string{"username"}
		args := []any{username}
		for _, c := range cols {
			names = append(names, c)
			switch c {
			case "email":
				args = append(args, username+"@example.com")
			case "nickname":
				args = append(args, nickname(name))
			default:
				args = append(args, name)
			}
		}
		q.sql = "INSERT INTO users (" + strings.Join(names, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(names)-1) + ")"
		q.args = args
		return q
	}
}

func updateUser(cols ...string) func(f *fleet, id int64) request {
	return func(f *fleet, id int64) request {
		name := personName(f.next()) + " Jr."
		var sets []string
		var args []any
		for _, c := range cols {
			if c == "email" {
				sets = append(sets, "email = lower(username) || '@example.com'")
				continue
			}
			sets = append(sets, c+" = ?")
			if c == "nickname" {
				args = append(args, nickname(name))
				continue
			}
			args = append(args, name)
		}
		return request{op: "update", row: id, sql: "UPDATE users SET " + strings.Join(sets, ", ") + " WHERE id = ?",
			args: append(args, id), writes: map[string]string{"name": name}, cols: cols}
	}
}

// readUser reads one column; attr is the value it should hold (checked
// against what the fleet wrote), expects says NULL breaks the code.
func readUser(col, attr string, expects bool) func(f *fleet, id int64) request {
	return func(f *fleet, id int64) request {
		return request{op: "read", row: id, sql: "SELECT " + col + " FROM users WHERE id = ?", args: []any{id},
			col: col, attr: attr, expects: expects}
	}
}

// insertOrder books an order; every fourth is a refund the old code books
// with the wrong sign. Code that validates rejects it before any SQL.
func insertOrder(validates bool) func(f *fleet) request {
	return func(f *fleet) request {
		n := f.next()
		amount := 100 + (n*53)%900
		if n%4 == 0 {
			amount = -amount
		}
		if validates && amount <= 0 {
			return request{op: "insert", rejected: "amount must be positive"}
		}
		return request{op: "insert", sql: "INSERT INTO orders (user_id, amount) VALUES (?, ?)", args: []any{1 + n%sandboxUsers, amount}}
	}
}

func updateOrder(f *fleet, id int64) request {
	return request{op: "update", row: id, sql: "UPDATE orders SET amount = amount + 1 WHERE id = ?", args: []any{id}}
}

func readOrder(f *fleet, id int64) request {
	return request{op: "read", row: id, sql: "SELECT amount FROM orders WHERE id = ?", args: []any{id}, col: "amount"}
}

// missingColumn reports whether a database error says a column is not there.
func missingColumn(msg, col string) bool {
	return strings.Contains(msg, "no such column: "+col) && !strings.Contains(msg, "no such column: "+col+"_") ||
		strings.Contains(msg, "has no column named "+col) && !strings.Contains(msg, "has no column named "+col+"_")
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
