package training

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// The index lessons. What breaks when an index is missing is speed, not an
// error, so the fleet asks SQLite for each lookup's plan (EXPLAIN QUERY
// PLAN) before it runs it: the sandbox stands in for a production table of
// millions of rows, where a lookup that scans the whole table outlasts the
// request's deadline. Such a lookup is a timeout incident; one the planner
// answers through an index or the table's key is served.

// The rules, quoted from the seed.
const (
	ruleSplitDeploys = "For zero-downtime releases, split risky schema changes into multiple deploys."
	ruleRealDBTests  = "Use real database tests for migration behavior. Mocks cannot prove generated SQL, constraints, indexes, or driver behavior."
)

// scanNote is what an index lesson's intro says of its timeouts.
const scanNote = " The sandbox stands in for a table of millions of rows: a lookup whose plan (SQLite's own EXPLAIN QUERY PLAN) scans the whole table times out."

// ---------- drop-index ----------

// dropIndexSetup gives this lesson's orders the index the code stops
// relying on.
const dropIndexSetup = `CREATE INDEX orders_user ON orders (user_id);`

// ordersOfUser is v1's order history: a user's orders, by user_id, which
// only the index orders_user answers without a full scan.
func ordersOfUser(f *fleet, id int64) request {
	return request{op: "read", row: id, sql: "SELECT amount FROM orders WHERE user_id = ?", args: []any{1 + id%sandboxUsers},
		col: "amount", scan: "orders"}
}

func dropIndexLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "looks orders up by user",
		insert: insertOrder(false), update: updateOrder, read: ordersOfUser}
	v2 := &codeVersion{ID: "v2", Label: "looks orders up by id only",
		insert: insertOrder(false), update: updateOrder, read: readOrder}
	return &Lesson{
		Name: "drop-index", Title: "Drop an index that running code may still rely on", Guide: "Backward-Compatible Changes",
		Rules: []string{ruleSplitDeploys},
		Intro: "orders has an index on user_id, orders_user. Three replicas run v1, which shows each user's orders by user_id; " +
			"v2 no longer does. Get to v2 and drop the index without a failed request." + scanNote,
		plan: "orders-user-idx-drop.yaml", table: "orders", setup: dropIndexSetup, session: true,
		versions: []*codeVersion{v1, v2},
		gates:    map[string]int{"stop-using": 1},
		Actions: []*Action{
			{Name: "deploy-stop-using", Kind: kindDeploy, Does: "deploy v2: no query of it needs orders_user (the stop-using gate)", rule: ruleSplitDeploys, apply: deployTo(1, "stop-using")},
			{Name: "check-plans", Kind: kindCheck, Does: "read SQLite's plan (EXPLAIN QUERY PLAN) of every query the running code sends: which of them use orders_user", rule: ruleSplitDeploys, apply: checkPlans},
			{Name: "drop-index", Kind: kindMigration, Does: "shepherd's drop-index: record orders_user's definition, then DROP INDEX", rule: ruleSplitDeploys, apply: runPhases("drop-index")},
			{Name: "deploy-and-drop-index", Kind: kindDeploy, Does: "shortcut: one release deploys v2, and its release job confirms stop-using and drops orders_user at once", rule: ruleSplitDeploys,
				apply: func(ctx context.Context, r *Run) error {
					if err := deployTo(1, "stop-using")(ctx, r); err != nil {
						return err
					}
					return runPhases("stop-using", "drop-index")(ctx, r)
				}},
			rollbackAction,
		},
		// check-plans is what shepherd's stop-using gate asks for on
		// SQLite, which counts no index use: read the plans by hand.
		Safe:     []string{"deploy-stop-using", "check-plans", "drop-index"},
		diagnose: diagnoseDropIndex,
		complete: playbookComplete,
	}
}

// checkPlans reads, from the sandbox, the plan of each query the running
// code sends (its lookups and updates) and says which use the index the
// plan drops. It changes nothing.
func checkPlans(ctx context.Context, r *Run) error {
	index := r.plan.DropIndex.Name
	f := r.fleet
	// Making a request may draw the fleet's next serial: the check sends
	// nothing, so the fleet's own sequence stays as it was.
	serial := f.serial
	defer func() { f.serial = serial }()
	var versions []*codeVersion
	on := map[*codeVersion][]string{}
	for _, rep := range f.live() {
		if on[rep.V] == nil {
			versions = append(versions, rep.V)
		}
		on[rep.V] = append(on[rep.V], rep.Name)
	}
	relying := 0
	for _, v := range versions {
		var qs []request
		if v.update != nil {
			qs = append(qs, v.update(f, 1))
		}
		if v.read != nil {
			qs = append(qs, v.read(f, 1))
		}
		for _, q := range qs {
			r.cur.res.SQL = append(r.cur.res.SQL, "EXPLAIN QUERY PLAN "+q.sql)
			steps, err := queryPlan(ctx, r.app, q)
			if err != nil {
				return fmt.Errorf("read the plan of %s's %s: %w", v.ID, q.op, err)
			}
			verdict := "does not use " + index
			for _, s := range steps {
				if strings.HasSuffix(s, "INDEX "+index) || strings.Contains(s, "INDEX "+index+" ") {
					verdict = "uses " + index
					relying++
					break
				}
			}
			r.say("%s on %s: %s: %s: %s", v.ID, phases.WordList(on[v]), q.sql, strings.Join(steps, "; "), verdict)
		}
	}
	switch relying {
	case 0:
		r.say("no query of the running code uses %s", index)
	case 1:
		r.say("1 query of the running code uses %s: dropped now, it would scan all of %s", index, r.L.table)
	default:
		r.say("%d queries of the running code use %s: dropped now, each would scan all of %s", relying, index, r.L.table)
	}
	return nil
}

func diagnoseDropIndex(r *Run, o occurrence) (string, string) {
	if o.kind == "timeout" {
		if r.did("deploy-and-drop-index") {
			return ruleSplitDeploys, "orders_user was dropped in the same release that stopped relying on it, while " + o.version.ID +
				" still ran on replicas the rolling deploy had not reached: drop it in a later deploy, once the code that no longer needs it is out everywhere."
		}
		return ruleSplitDeploys, "orders_user was dropped while " + o.version.ID + ", whose lookup by user_id needs it, still ran: deploy code that no longer relies on it everywhere first."
	}
	return r.actionRule(), ""
}

// ---------- add-index ----------

// addIndexSetup gives this lesson's users the column the new lookup
// filters on: when each signed up, all before the lookup's cut-off.
const addIndexSetup = `
ALTER TABLE users ADD COLUMN created_at TEXT;
UPDATE users SET created_at = printf('2029-12-%02d', 1 + id % 28);
`

// recentSignups is v2's new lookup, the plan's query: which only the
// index users_created_idx answers without a full scan.
func recentSignups(f *fleet, id int64) request {
	return request{op: "read", sql: "SELECT id FROM users WHERE created_at > ?", args: []any{"2030-01-01"}, col: "id", scan: "users"}
}

// insertSignup is an insert that records when the user signed up.
func insertSignup(f *fleet) request {
	q := insertUser("name")(f)
	q.sql = "INSERT INTO users (username, name, created_at) VALUES (?, ?, ?)"
	q.args = append(q.args, fmt.Sprintf("2030-01-%02d", 1+f.serial%28))
	return q
}

func addIndexLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "reads users by id",
		insert: insertSignup, update: updateUser("name"), read: readUser("name", "name", true)}
	v2 := &codeVersion{ID: "v2", Label: "lists recent signups by created_at",
		insert: insertSignup, update: updateUser("name"), read: recentSignups}
	return &Lesson{
		Name: "add-index", Title: "Ship code that needs an index", Guide: "Backward-Compatible Changes",
		Rules: []string{ruleSplitDeploys, ruleRealDBTests},
		Intro: "v2 adds a page of recent signups: it looks users up by created_at, which has no index yet. Three replicas run v1. " +
			"Get v2 out everywhere without a failed request." + scanNote,
		plan: "users-created-idx.yaml", table: "users", setup: addIndexSetup, session: true,
		versions: []*codeVersion{v1, v2},
		gates:    map[string]int{},
		Actions: []*Action{
			{Name: "create-index", Kind: kindMigration, Does: "shepherd's create-index: CREATE INDEX users_created_idx ON users (created_at)", rule: ruleSplitDeploys, apply: runPhases("create-index")},
			{Name: "verify-index", Kind: kindMigration, Does: "shepherd's verify-index: the index is valid, and the plan of v2's lookup uses it", rule: ruleRealDBTests, apply: runPhases("verify-index")},
			{Name: "deploy-new-lookup", Kind: kindDeploy, Does: "deploy v2: lists recent signups, by created_at", rule: ruleSplitDeploys, apply: deployTo(1, "")},
			rollbackAction,
		},
		Safe:     []string{"create-index", "verify-index", "deploy-new-lookup"},
		diagnose: diagnoseAddIndex,
		complete: playbookComplete,
	}
}

func diagnoseAddIndex(r *Run, o occurrence) (string, string) {
	if o.kind == "migration-failed" && r.sess.Progress().Of("create-index") != phases.Done {
		return ruleRealDBTests, "There is no index to verify yet: build it first, then prove on the database that the planner uses it."
	}
	if o.kind == "timeout" {
		return ruleSplitDeploys, o.version.ID + "'s lookup by created_at needs users_created_idx, and it is not there: build the index (and verify that the planner uses it) first, then deploy the code that needs it."
	}
	return r.actionRule(), ""
}
