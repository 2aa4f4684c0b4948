package training

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runLesson runs steps and returns every step result and incident.
func runLesson(t *testing.T, lesson string, steps []string) (*Run, []StepResult, []Incident) {
	t.Helper()
	var results []StepResult
	var incidents []Incident
	r, err := Start(context.Background(), lesson, func(v any) {
		switch e := v.(type) {
		case StepResult:
			results = append(results, e)
		case Incident:
			incidents = append(incidents, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	for _, s := range steps {
		if err := r.Step(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	return r, results, incidents
}

// The safe sequence of every lesson: every step succeeds, the change is
// complete, the fleet sent traffic all along and hit nothing.
func TestSafeSequenceHasNoIncidents(t *testing.T) {
	for _, l := range Lessons() {
		t.Run(l.Name, func(t *testing.T) {
			t.Parallel()
			r, results, incidents := runLesson(t, l.Name, l.Safe)
			for _, inc := range incidents {
				t.Errorf("incident in the safe sequence: %+v", inc)
			}
			for _, res := range results {
				if !res.OK {
					t.Errorf("step %s failed: %s", res.Action, res.Error)
				}
				if res.Traffic.Requests == 0 {
					t.Errorf("step %s: the fleet sent no traffic", res.Action)
				}
			}
			if s := r.Score(); !s.Complete || s.Incidents != 0 || s.Failed != 0 {
				t.Errorf("score %+v, want complete with no incidents and no failed request", s)
			}
		})
	}
}

// want is one incident an unsafe sequence must cause. Error, Got and Kind
// come from what the fleet hit: the database's own error, the value a read
// returned.
type want struct {
	kind    string
	version string // the code version that hit it ("" for the migration itself)
	err     string // in the database's error
	got     string // what a read returned ("NULL" for a NULL read)
	rule    string
}

func TestUnsafeActionsCauseIncidents(t *testing.T) {
	cases := []struct {
		name   string
		lesson string
		steps  []string
		want   []want
	}{
		{"add a NOT NULL column in one step", "add-column", []string{"add-not-null-column"},
			[]want{{kind: "failed-write", version: "v1", err: "NOT NULL constraint failed: users.email", rule: ruleAddNullable}}},
		{"enforce before writes switch", "add-column", []string{"add-column", "deploy-readers", "backfill", "force-enforce"},
			[]want{{kind: "failed-write", version: "v2", err: "NOT NULL constraint failed: users.email", rule: ruleEnforce}}},
		{"deploy readers before the column exists", "add-column", []string{"deploy-readers"},
			[]want{{kind: "failed-read", version: "v2", err: "no such column: email", rule: ruleAddNullable}}},
		{"deploy writers before the column exists", "add-column", []string{"deploy-writers"},
			[]want{{kind: "failed-write", version: "v3", err: "has no column named email", rule: ruleAddNullable}}},
		{"rename in place", "rename-column", []string{"rename-in-place"},
			[]want{{kind: "failed-read", version: "v1", err: "no such column: name", rule: ruleAddNew}}},
		{"deploy dual-write before the column exists", "rename-column", []string{"deploy-dual-write"},
			[]want{{kind: "failed-write", version: "v2", err: "has no column named full_name", rule: ruleAddNew}}},
		{"switch reads before the backfill", "rename-column", []string{"add-column", "deploy-dual-write", "deploy-new-reads"},
			[]want{{kind: "null-read", version: "v3", got: "NULL", rule: ruleBackfillOld}}},
		{"switch reads before dual-write", "rename-column", []string{"add-column", "backfill", "deploy-new-reads"},
			[]want{{kind: "lost-write", version: "v3", rule: ruleDualWrite}}},
		{"stop writing the old column before the gate", "rename-column", []string{"add-column", "deploy-dual-write", "backfill", "deploy-new-only"},
			[]want{{kind: "failed-write", version: "v4", err: "NOT NULL constraint failed: users.name", rule: ruleStopOld}}},
		{"one migration cleans and constrains under old code", "tighten-constraint", []string{"clean-and-constrain"},
			[]want{{kind: "failed-write", version: "v1", err: "CHECK constraint failed: orders_amount_positive", rule: ruleNoCombine}}},
		// drop-column: code that stops writing the column cannot insert
		// while it is NOT NULL without a default.
		{"stop writing a NOT NULL column before relax", "drop-column", []string{"deploy-stop-using"},
			[]want{{kind: "failed-write", version: "v2", err: "NOT NULL constraint failed: users.nickname", rule: ruleStopOld}}},
		// The column dropped while every replica still runs v1.
		{"drop the column before the deploy that stops using it", "drop-column", []string{"relax", "drop-now"},
			[]want{
				{kind: "failed-write", version: "v1", err: "table users has no column named nickname", rule: ruleStopOld},
				{kind: "failed-read", version: "v1", err: "no such column: nickname", rule: ruleStopOld},
			}},
		// The same release deploys v2 and drops the column: the replicas
		// the rolling deploy has not reached yet still run v1.
		{"drop the column in the release that stops using it", "drop-column", []string{"relax", "deploy-and-drop"},
			[]want{
				{kind: "failed-write", version: "v1", err: "table users has no column named nickname", rule: ruleDropLater},
				{kind: "failed-read", version: "v1", err: "no such column: nickname", rule: ruleDropLater},
			}},
		// The index lessons: SQLite's own plan for the lookup is a full
		// scan of the table, which the fleet counts as a timeout.
		{"drop the index while old code relies on it", "drop-index", []string{"drop-index"},
			[]want{{kind: "timeout", version: "v1", err: "timed out: full scan of orders (query plan: SCAN orders)", rule: ruleSplitDeploys}}},
		{"drop the index in the release that stops relying on it", "drop-index", []string{"deploy-and-drop-index"},
			[]want{{kind: "timeout", version: "v1", err: "full scan of orders", rule: ruleSplitDeploys}}},
		{"deploy the lookup before its index", "add-index", []string{"deploy-new-lookup"},
			[]want{{kind: "timeout", version: "v2", err: "timed out: full scan of users (query plan: SCAN users)", rule: ruleSplitDeploys}}},
		// change-column-type: the swap gives score its integer type while
		// v1, which shows it as stored, still runs; before the backfill,
		// the rows written before add-shadow have no integer at all.
		{"swap before the readers' deploy", "change-column-type", []string{"add-shadow", "backfill", "swap"},
			[]want{{kind: "lost-write", version: "v1", rule: ruleDeployReaders}}},
		{"swap before the backfill", "change-column-type", []string{"add-shadow", "swap"},
			[]want{{kind: "null-read", version: "v1", got: "NULL", rule: ruleBackfillOld}}},
		{"write the new type before any reader copes", "change-column-type", []string{"deploy-stop-old-writes"},
			[]want{{kind: "lost-write", version: "v1", rule: ruleDeployReaders}}},
		// The old column dropped in the release that stopped the old
		// writes: no request names it, but the swap can no longer be
		// undone, and code rolled back to v1 reads integers.
		{"drop the old column in the release that stops old writes, then roll back", "change-column-type",
			[]string{"add-shadow", "backfill", "deploy-readers", "swap", "deploy-and-drop", "roll-back-to-v1"},
			[]want{{kind: "lost-write", version: "v1", rule: ruleDropLater}}},
		{"roll the code back to v1 without swapping back", "change-column-type",
			[]string{"add-shadow", "backfill", "deploy-readers", "swap", "roll-back-to-v1"},
			[]want{{kind: "lost-write", version: "v1", rule: ruleDeployReaders}}},
		{"replicas race to migrate at startup", "multi-replica", []string{"startup-migrate"},
			[]want{
				{kind: "replica-crash", version: "v2", err: "duplicate column name: email", rule: ruleNoRace},
				{kind: "duplicate-work", version: "v2", err: "UNIQUE constraint failed: schema_migrations.version", rule: ruleScaleOut},
				{kind: "lock-wait", version: "v2", err: "database is locked", rule: ruleScaleOut},
				{kind: "lock-wait", version: "v1", err: "database is locked", rule: ruleScaleOut},
				{kind: "failed-read", version: "v2", err: "no such column: email", rule: ruleReadiness},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, incidents := runLesson(t, c.lesson, c.steps)
			for _, w := range c.want {
				if !hasIncident(incidents, w) {
					t.Errorf("no incident %+v; got:", w)
					for _, inc := range incidents {
						t.Logf("  %s %s %q got=%q rule=%q", inc.Kind, inc.Version, inc.Error, inc.Got, inc.Rule)
					}
				}
			}
			for _, inc := range incidents {
				if inc.Rule == "" || inc.Safe != mustFind(c.lesson).SafeOrder() || inc.Count < 1 || inc.Detail == "" {
					t.Errorf("incident without its rule, safe order, count or detail: %+v", inc)
				}
				// An incident is something the application fleet hit.
				if inc.Replica == "" || inc.Version == "" {
					t.Errorf("incident that no replica of the application hit: %+v", inc)
				}
				// It names every replica that hit it, no more.
				if len(inc.Replicas) == 0 || len(inc.Replicas) > inc.Count || inc.Replicas[0] != inc.Replica {
					t.Errorf("incident's replicas %v for %d hits, first %s", inc.Replicas, inc.Count, inc.Replica)
				}
				for _, rep := range inc.Replicas {
					if !strings.Contains(inc.Detail, rep) {
						t.Errorf("incident hit by %s does not name it: %s", rep, inc.Detail)
					}
				}
			}
		})
	}
}

func hasIncident(incidents []Incident, w want) bool {
	for _, inc := range incidents {
		if inc.Kind != w.kind || inc.Rule != w.rule || w.version != "" && inc.Version != w.version {
			continue
		}
		if w.err != "" && !strings.Contains(inc.Error, w.err) {
			continue
		}
		if w.got != "" && inc.Got != w.got {
			continue
		}
		if w.kind == "lost-write" && (inc.Got == "" || inc.Got == inc.Want) {
			continue
		}
		return true
	}
	return false
}

func mustFind(name string) *Lesson {
	l, _ := Find(name)
	return l
}

// Hits grouped into one incident say truthfully who hit it and how often:
// every v1 replica's inserts fail once email is NOT NULL, and the incident
// names all three, not the first with the others' count.
func TestIncidentNamesEveryReplica(t *testing.T) {
	_, _, incidents := runLesson(t, "add-column", []string{"add-not-null-column"})
	for _, inc := range incidents {
		if inc.Kind != "failed-write" || inc.Version != "v1" {
			continue
		}
		if got := strings.Join(inc.Replicas, ","); got != "app-1,app-2,app-3" {
			t.Errorf("replicas %s, want app-1,app-2,app-3", got)
		}
		if inc.Count < 3 {
			t.Errorf("count %d for three replicas", inc.Count)
		}
		want := fmt.Sprintf("app-1, app-2 and app-3 running v1 (old code: no email): %d writes failed: NOT NULL constraint failed: users.email.", inc.Count)
		if !strings.HasPrefix(inc.Detail, want) {
			t.Errorf("detail %q\nwant it to start %q", inc.Detail, want)
		}
		return
	}
	t.Fatalf("no failed write by v1: %+v", incidents)
}

// The menu must not give the answer away: a lesson defines its actions in
// the safe order, and the menu offers them grouped by kind and by name, so
// that neither the first action nor the order of the safe ones is the safe
// sequence.
func TestMenuDoesNotGiveTheSafeOrderAway(t *testing.T) {
	for _, l := range Lessons() {
		menu := l.ActionNames()
		if menu[0] == l.Safe[0] {
			t.Errorf("%s: the menu starts with the first safe step, %s: %v", l.Name, menu[0], menu)
		}
		// The safe sequence's steps, each where it first comes.
		var order []string
		for _, s := range l.Safe {
			if !slices.Contains(order, s) {
				order = append(order, s)
			}
		}
		i := 0
		for _, a := range menu {
			if i < len(order) && a == order[i] {
				i++
			}
		}
		if i == len(order) {
			t.Errorf("%s: the menu %v lists the safe steps in the safe order %v", l.Name, menu, order)
		}
		seen := map[string]bool{}
		last := -1
		for _, a := range l.Actions {
			if seen[a.Name] {
				t.Errorf("%s: %s twice in the menu", l.Name, a.Name)
			}
			seen[a.Name] = true
			k := slices.Index(kinds, a.Kind)
			if k < 0 || k < last {
				t.Errorf("%s: %s of kind %q is out of its group: %v", l.Name, a.Name, a.Kind, menu)
			}
			last = k
		}
	}
}

// A lost write is one the database really lost to the reader: after the
// step, the row's name (what old code wrote) and full_name (what new code
// reads) differ.
func TestLostWriteIsInTheDatabase(t *testing.T) {
	r, _, incidents := runLesson(t, "rename-column", []string{"add-column", "backfill", "deploy-new-reads"})
	for _, inc := range incidents {
		if inc.Kind != "lost-write" {
			continue
		}
		var name, full string
		if err := r.app.QueryRow(`SELECT name, full_name FROM users WHERE id = ?`, inc.Row).Scan(&name, &full); err != nil {
			t.Fatal(err)
		}
		if name != inc.Want || full != inc.Got {
			t.Errorf("row %d: name %q, full_name %q; the incident says it read %q where %q was written", inc.Row, name, full, inc.Got, inc.Want)
		}
		return
	}
	t.Fatal("no lost write")
}

// One rule for counting: a step that does not go through and breaks
// nothing in the application is a refused step, not an incident, whether
// shepherd's own checks refused it or the database failed the migration,
// which rolled back. Either way the step says which rule the order broke.
func TestRefusedSteps(t *testing.T) {
	cases := []struct {
		lesson string
		steps  []string
		by     string
		error  string
		rule   string
	}{
		{"add-column", []string{"add-column", "deploy-readers", "backfill", "enforce"}, "shepherd", "still has NULLs", ruleEnforce},
		{"add-column", []string{"add-column", "add-column"}, "shepherd", "already done", ruleAddNullable},
		// The point of no return before reads switch: real shepherd
		// refuses it, and so does the sandbox.
		{"rename-column", []string{"add-column", "deploy-dual-write", "backfill", "drop-old-column"}, "shepherd", "not the next phase", ruleDropLater},
		{"multi-replica", []string{"startup-migrate", "release-job"}, "shepherd", `already has a column "email"`, ruleReleaseJob},
		// The rebuild with the CHECK fails on the rows that break it:
		// shepherd counts them and says how to go on.
		{"tighten-constraint", []string{"add-constraint"}, "shepherd", "rows of orders violate it", ruleClean},
		// Old code booked new bad rows after the clean.
		{"tighten-constraint", []string{"clean", "add-constraint"}, "shepherd", "rows of orders violate it", ruleValidate},
		// The archive ran while v1 still wrote nickname: the drop finds
		// values the archive does not hold, and shepherd keeps the column.
		{"drop-column", []string{"relax", "archive", "drop-column"}, "shepherd", "should be in users_nickname_archive", ruleStopOld},
		{"add-index", []string{"verify-index"}, "shepherd", "users has no index users_created_idx", ruleRealDBTests},
		// The old column's drop before stop-old-writes: the point of no
		// return is never run out of order.
		{"change-column-type", []string{"add-shadow", "backfill", "deploy-readers", "swap", "drop-old-column"}, "shepherd", "not the next phase", ruleDropLater},
	}
	for _, c := range cases {
		t.Run(c.lesson+":"+strings.Join(c.steps, ","), func(t *testing.T) {
			t.Parallel()
			r, results, incidents := runLesson(t, c.lesson, c.steps)
			last := results[len(results)-1]
			if last.OK || !last.Refused || last.RefusedBy != c.by || !strings.Contains(last.Error, c.error) || last.Incidents != 0 {
				t.Fatalf("last step %+v, want refused by %s with %q and no incident", last, c.by, c.error)
			}
			if last.Rule != c.rule {
				t.Errorf("refused with rule %q, want %q", last.Rule, c.rule)
			}
			for _, inc := range incidents {
				if inc.Step == len(results) {
					t.Errorf("the refused step has an incident: %+v", inc)
				}
			}
			if s := r.Score(); s.Refused != 1 {
				t.Fatalf("the score counts %d refused steps, want 1", s.Refused)
			}
		})
	}
}

// Replicas started before the migration fail closed: no traffic, no
// incident, and they come up once the release job has run.
func TestReadinessFailsClosed(t *testing.T) {
	r, results, incidents := runLesson(t, "multi-replica", []string{"start-replicas"})
	if len(incidents) != 0 {
		t.Fatalf("incidents: %+v", incidents)
	}
	if got := strings.Join(results[0].Fleet, ", "); !strings.Contains(got, "new-1 v2 (not-ready)") || !strings.Contains(got, "app-1 v1") {
		t.Fatalf("fleet %s: want the new replicas not ready and the old ones serving", got)
	}
	if err := r.Step(context.Background(), "release-job"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Fleet(), ", "); got != "new-1 v2, new-2 v2, new-3 v2" {
		t.Fatalf("after the release job: %s", got)
	}
}

// The lock: replicas that run shepherd at startup wait for its runner lock
// instead of racing.
func TestStartupUnderTheLock(t *testing.T) {
	_, results, incidents := runLesson(t, "multi-replica", []string{"startup-migrate-locked"})
	if len(incidents) != 0 {
		t.Fatalf("incidents: %+v", incidents)
	}
	msgs := strings.Join(results[0].Messages, "\n")
	if !strings.Contains(msgs, "new-2 waits: shepherd's runner lock on users is held by new-1") {
		t.Fatalf("no replica waited for the lock:\n%s", msgs)
	}
	if n := strings.Count(strings.Join(results[0].SQL, "\n"), "ADD COLUMN"); n != 1 {
		t.Fatalf("ADD COLUMN ran %d times, want once", n)
	}
}

func TestUnknownLessonAndAction(t *testing.T) {
	if _, err := Check("nope", []string{"x"}); err == nil || !strings.Contains(err.Error(), "add-column, rename-column, tighten-constraint, multi-replica") {
		t.Fatalf("unknown lesson: %v", err)
	}
	if _, err := Check("add-column", []string{"add-column", "bogus"}); err == nil || !strings.Contains(err.Error(), `"bogus"`) || !strings.Contains(err.Error(), "deploy-readers") {
		t.Fatalf("unknown action: %v", err)
	}
}

// Every rule a lesson quotes is in the Migration Operations guide (its
// text was scraped from a page, so spacing is ignored).
// testdata/migration-operations.txt is a verbatim copy of the guide.
func TestRulesQuoteTheSeed(t *testing.T) {
	seed, err := os.ReadFile(filepath.Join("testdata", "migration-operations.txt"))
	if err != nil {
		t.Fatal(err)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	text := squash(string(seed))
	rules := map[string]bool{}
	for _, l := range Lessons() {
		for _, rule := range l.Rules {
			rules[rule] = true
		}
		for _, a := range l.Actions {
			rules[a.rule] = true
		}
		if !strings.Contains(text, squash(l.Guide)) {
			t.Errorf("lesson %s: seed heading %q is not in the seed", l.Name, l.Guide)
		}
	}
	for _, rule := range []string{ruleAddNullable, ruleEnforce, ruleAddNew, ruleDualWrite, ruleBackfillOld, ruleStopOld,
		ruleDropLater, ruleValidate, ruleClean, ruleNoCombine, ruleScaleOut, ruleNoRace, ruleReadiness, ruleReleaseJob, ruleExternalLock,
		ruleSplitDeploys, ruleRealDBTests} {
		rules[rule] = true
	}
	for rule := range rules {
		if !strings.Contains(text, squash(rule)) {
			t.Errorf("rule %q is not in the seed", rule)
		}
	}
}

// drop-column's lesson has its own column: nickname, NOT NULL without a
// default, in its sandbox only; the safe order drops it and keeps every
// value in the archive, and the other lessons' users never had it.
func TestDropColumnSandbox(t *testing.T) {
	r, _, _ := runLesson(t, "drop-column", nil)
	var notNull int
	var dflt any
	if err := r.app.QueryRow(`SELECT "notnull", dflt_value FROM pragma_table_info('users') WHERE name = 'nickname'`).Scan(&notNull, &dflt); err != nil || notNull != 1 || dflt != nil {
		t.Fatalf("users.nickname: notnull %d, default %v (%v); want NOT NULL without a default", notNull, dflt, err)
	}
	other, _, _ := runLesson(t, "rename-column", nil)
	var n int
	if err := other.app.QueryRow(`SELECT count(*) FROM pragma_table_info('users') WHERE name = 'nickname'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rename-column's users has nickname: %d (%v)", n, err)
	}
	for _, s := range mustFind("drop-column").Safe {
		if err := r.Step(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	// The drop follows stop-using within the sandbox's one session: the
	// engine warns that it is too soon, and the lesson says why it is
	// safe here.
	res, _ := r.Current()
	if notes := strings.Join(res.Notices, "\n"); !strings.Contains(notes, "warning: stop-using was confirmed") ||
		!strings.Contains(notes, "every replica has run the last release for a whole step") {
		t.Errorf("drop-column's notices: %s", notes)
	}
	if err := r.app.QueryRow(`SELECT count(*) FROM pragma_table_info('users') WHERE name = 'nickname'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("nickname is still there after the safe order: %d (%v)", n, err)
	}
	// Every seeded user's nickname is in the archive, as it was.
	if err := r.app.QueryRow(`SELECT count(*) FROM users_nickname_archive WHERE shepherd_key <= ? AND nickname IS NOT NULL`, sandboxUsers).Scan(&n); err != nil || n != sandboxUsers {
		t.Fatalf("%d seeded nicknames archived (%v), want %d", n, err, sandboxUsers)
	}
}
