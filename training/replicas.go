package training

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/engine"
)

// The multi-replica lesson: who runs the migration when a release starts
// several replicas at once. The change is users.email again (shepherd's
// users-email plan); what differs is the runner: every replica at startup,
// with or without shepherd's runner lock, or one release job.

// program is what a starting replica does, one step a tick.
type program interface {
	// step does one thing and reports whether the program is done.
	step(ctx context.Context, r *Run, rep *replica) bool
	// blocking: the step is not over while this program runs (a startup
	// migration); a readiness probe that waits is not blocking.
	blocking() bool
}

func multiReplicaLesson() *Lesson {
	l := addColumnLesson()
	v1, v2 := l.versions[0], l.versions[1]
	return &Lesson{
		Name: "multi-replica", Title: "Who runs the migration when several replicas start at once", Guide: "Release Job vs Startup Migration",
		Rules: []string{ruleReleaseJob, ruleStartAfter, ruleReadiness},
		Intro: "Release v2 needs users.email (the migration adds it and backfills it). Three replicas run v1 and the " +
			"platform starts three replicas of v2. Ship it without a crash, a lock wait, duplicate work or a failed request.",
		plan: "users-email.yaml", table: "users",
		versions: []*codeVersion{v1, v2},
		Actions: []*Action{
			{Name: "release-job", Kind: kindMigration, Does: "one release job runs the migration: shepherd takes its runner lock, runs up to the next gate, and confirms a gate only when its deploy is out everywhere", rule: ruleReleaseJob, apply: releaseJob},
			{Name: "start-replicas", Kind: kindDeploy, Does: "start 3 replicas of v2; each gets traffic only once its readiness probe (shepherd ready --phase add-column) passes, and an old replica retires for each", rule: ruleStartAfter, apply: startReplicas(func() program { return &readiness{} }, false)},
			{Name: "startup-migrate", Kind: kindMigration, Does: "scale out 3 replicas of v2 that each apply the pending migration files at startup, with no lock, and get traffic at once (the autoscaler adds the third a moment later)", rule: ruleNoRace, apply: startReplicas(func() program { return &naiveMigrator{} }, true)},
			{Name: "startup-migrate-locked", Kind: kindMigration, Does: "start 3 replicas of v2 that each run shepherd at startup: its runner lock lets one run the migration while the others wait, not ready", rule: ruleExternalLock, apply: startReplicas(func() program { return &lockedStartup{} }, false)},
		},
		Safe:     []string{"release-job", "start-replicas", "release-job"},
		diagnose: diagnoseReplicas,
		complete: releaseComplete,
	}
}

func diagnoseReplicas(r *Run, o occurrence) (string, string) {
	switch o.kind {
	case "lock-wait":
		return ruleScaleOut, "Replicas racing to migrate at startup held the write lock in turn, so everyone else's writes queued behind them."
	case "duplicate-work":
		return ruleScaleOut, "Two replicas applied the same migration: the second redid the work, then crashed on recording it."
	case "replica-crash":
		return ruleNoRace, "Each replica tried to be the migration runner; one must own it (a release job, or a lock)."
	case "failed-read", "failed-write":
		if missingColumn(dbError(o.err), "email") {
			return ruleReadiness, "Traffic reached a v2 replica before the migration it needs was done: readiness must fail closed until it is."
		}
	case "migration-failed":
		return ruleReleaseJob, ""
	}
	return r.actionRule(), ""
}

// releaseComplete: every replica runs v2 and the rows that were there before
// the release have email.
func releaseComplete(r *Run) bool {
	if r.fleet.minVersion() < 1 {
		return false
	}
	for _, rep := range r.fleet.live() {
		if rep.State != "serving" {
			return false
		}
	}
	var n int
	err := r.app.QueryRow(`SELECT count(*) FROM users WHERE id <= ? AND email IS NULL`, sandboxUsers).Scan(&n)
	return err == nil && n == 0
}

// releaseJob is one runner: a shepherd session that takes the runner lock,
// runs the plan up to the next gate whose deploy is not out everywhere, and
// releases the lock.
func releaseJob(ctx context.Context, r *Run) error {
	sess, err := r.sb.Start(ctx, r.plan, r.engineOptions("release-job"))
	if err != nil {
		return err
	}
	defer sess.Close()
	r.say("the release job took shepherd's runner lock on users")
	confirmed := map[string]bool{}
	if r.allServing(1) {
		confirmed["deploy-readers"] = true
		r.say("v2 is out everywhere, so the job confirms deploy-readers")
	}
	out, err := sess.Run(ctx, "", confirmed)
	if err != nil {
		return err
	}
	if out == engine.AtGate {
		r.say("the job stops at the gate and releases the lock")
	}
	return nil
}

// allServing reports whether every live replica runs version k or later and
// is serving.
func (r *Run) allServing(k int) bool {
	for _, rep := range r.fleet.live() {
		if r.fleet.index(rep.V) < k || rep.State != "serving" {
			return false
		}
	}
	return true
}

// startReplicas adds three replicas of v2 running prog at startup. routed:
// the platform sends them traffic as soon as they start (no readiness).
// With staggered, the third starts a few ticks after the first two, as an
// autoscaler adds a replica under load.
func startReplicas(prog func() program, staggered bool) func(context.Context, *Run) error {
	return func(ctx context.Context, r *Run) error {
		f := r.fleet
		v2 := f.versions[1]
		var names []string
		base := len(f.replicas) - replicas
		for i := 1; i <= replicas; i++ {
			rep := &replica{Name: fmt.Sprintf("new-%d", base+i), V: v2, State: "starting", prog: prog(), routed: staggered}
			if staggered && i == replicas {
				rep.startAt = 6
				rep.routed = false
				rep.State = "pending"
			}
			f.replicas = append(f.replicas, rep)
			names = append(names, rep.Name)
		}
		r.say("started %s running %s", strings.Join(names, ", "), v2)
		return nil
	}
}

// up marks a replica serving, and retires an old replica for it.
func (r *Run) up(rep *replica) {
	rep.State, rep.routed = "serving", true
	for _, old := range r.fleet.replicas {
		if old.State == "serving" && r.fleet.index(old.V) == 0 {
			old.State, old.routed = "retired", false
			r.say("%s is up, %s retired", rep.Name, old.Name)
			return
		}
	}
	r.say("%s is up", rep.Name)
}

func (r *Run) crash(rep *replica, o occurrence) {
	rep.State, rep.routed = "crashed", false
	o.kind, o.replica, o.version, o.tick, o.startup = "replica-crash", rep.Name, rep.V, r.tick, true
	if o.note == "" {
		o.note = fmt.Sprintf("%s crashed at startup: %s.", rep.Name, dbError(o.err))
	}
	r.hit(o)
}

// afterRelease: the platform restarts crashed replicas; they run their
// startup again, to the end.
func (r *Run) afterRelease(ctx context.Context) {
	for _, rep := range r.fleet.replicas {
		if rep.State != "crashed" {
			continue
		}
		if c, ok := rep.prog.(interface{ close() }); ok {
			c.close()
		}
		rep.prog, rep.State = &naiveMigrator{}, "starting"
		r.say("the platform restarted %s", rep.Name)
		for i := 0; i < 20 && rep.prog != nil; i++ {
			if rep.prog.step(ctx, r, rep) {
				rep.prog = nil
			}
		}
	}
}

// ---------- a replica that applies migration files at startup, no lock ----------

// The application's migration files, as a migration tool would run them:
// each in a transaction, recorded in schema_migrations.
var appMigrations = []struct {
	version string
	stmt    string
}{
	{"0002_add_users_email", `ALTER TABLE users ADD COLUMN email text`},
	{"0003_backfill_users_email", `UPDATE users SET email = lower(username) || '@example.com'`},
}

type naiveMigrator struct {
	conn    *sql.Conn
	tx      *sql.Tx
	read    bool
	pending []int
	m       int   // index into pending
	pc      int   // 0 begin, 1 statement, 2 record, 3 commit
	rows    int64 // rows the current migration changed
}

func (p *naiveMigrator) blocking() bool { return true }

func (p *naiveMigrator) close() {
	if p.tx != nil {
		p.tx.Rollback()
		p.tx = nil
	}
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

func (p *naiveMigrator) step(ctx context.Context, r *Run, rep *replica) bool {
	if rep.State == "pending" {
		rep.State, rep.routed = "starting", true
		r.say("the autoscaler started %s", rep.Name)
	}
	o := occurrence{replica: rep.Name, version: rep.V, tick: r.tick, startup: true}
	if p.conn == nil {
		c, err := r.app.Conn(ctx)
		if err != nil {
			r.crash(rep, occurrence{err: err})
			return true
		}
		p.conn = c
	}
	if !p.read {
		rows, err := p.conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			p.close()
			r.crash(rep, occurrence{err: err, sql: "SELECT version FROM schema_migrations"})
			return true
		}
		applied := map[string]bool{}
		for rows.Next() {
			var v string
			if rows.Scan(&v) == nil {
				applied[v] = true
			}
		}
		rows.Close()
		for i, m := range appMigrations {
			if !applied[m.version] {
				p.pending = append(p.pending, i)
			}
		}
		p.read = true
		if len(p.pending) == 0 {
			p.close()
			r.up(rep)
			return true
		}
		var names []string
		for _, i := range p.pending {
			names = append(names, appMigrations[i].version)
		}
		r.say("%s found %s pending", rep.Name, strings.Join(names, ", "))
		return false
	}
	m := appMigrations[p.pending[p.m]]
	fail := func(err error, stmt string) bool {
		p.close()
		o.err, o.sql = err, stmt
		o.note = fmt.Sprintf("%s crashed at startup applying %s: %s.", rep.Name, m.version, dbError(err))
		r.crash(rep, o)
		return true
	}
	switch p.pc {
	case 0:
		tx, err := p.conn.BeginTx(ctx, nil)
		if isBusy(err) {
			o.kind, o.err, o.sql = "lock-wait", err, "BEGIN IMMEDIATE"
			o.note = fmt.Sprintf("%s could not begin %s: another replica holds the write lock (%s); it retries.", rep.Name, m.version, dbError(err))
			r.hit(o)
			return false
		}
		if err != nil {
			return fail(err, "BEGIN IMMEDIATE")
		}
		p.tx, p.rows = tx, 0
	case 1:
		res, err := p.tx.ExecContext(ctx, m.stmt)
		if err != nil {
			return fail(err, m.stmt)
		}
		p.rows, _ = res.RowsAffected()
	case 2:
		const record = `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
		_, err := p.tx.ExecContext(ctx, record, m.version, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.tick)*time.Second).Format(time.RFC3339))
		if err != nil {
			if p.rows > 0 {
				d := o
				d.kind, d.err, d.sql = "duplicate-work", err, m.stmt
				d.note = fmt.Sprintf("%s ran %s although another replica had applied it: it rewrote %d rows for nothing, then found the migration already recorded (%s).", rep.Name, m.version, p.rows, dbError(err))
				r.hit(d)
			}
			return fail(err, record)
		}
	case 3:
		if err := p.tx.Commit(); err != nil {
			return fail(err, "COMMIT")
		}
		p.tx = nil
		r.say("%s applied %s", rep.Name, m.version)
		p.m, p.pc = p.m+1, 0
		if p.m == len(p.pending) {
			p.close()
			r.up(rep)
			return true
		}
		return false
	}
	p.pc++
	return false
}

// ---------- a replica that runs shepherd at startup, under its runner lock ----------

type lockedStartup struct {
	sess   *engine.SandboxSession
	ran    bool
	waited bool
	probe  readiness
}

func (p *lockedStartup) blocking() bool { return true }

func (p *lockedStartup) close() {
	if p.sess != nil {
		p.sess.Close()
		p.sess = nil
	}
}

func (p *lockedStartup) step(ctx context.Context, r *Run, rep *replica) bool {
	switch {
	case p.ran:
		return p.probe.step(ctx, r, rep)
	case p.sess == nil:
		sess, err := r.sb.Start(ctx, r.plan, r.engineOptions(rep.Name))
		var held *engine.LockHeldError
		if errors.As(err, &held) {
			rep.State = "not-ready"
			if !p.waited {
				r.say("%s waits: shepherd's runner lock on %s is held by %s", rep.Name, held.Scope, held.Holder)
				p.waited = true
			}
			return false
		}
		if err != nil {
			r.crash(rep, occurrence{err: err})
			return true
		}
		p.sess = sess
		r.say("%s holds shepherd's runner lock", rep.Name)
		return false
	default:
		confirmed := map[string]bool{}
		if r.allServing(1) {
			confirmed["deploy-readers"] = true
		}
		before := r.cur.phasesDone
		_, err := p.sess.Run(ctx, "", confirmed)
		p.close()
		p.ran = true
		if err != nil {
			r.crash(rep, occurrence{err: err})
			return true
		}
		if r.cur.phasesDone > before { // a phase ran
			r.say("%s released the lock", rep.Name)
		} else {
			r.say("%s found the migration already run, up to the gate: nothing to do; it released the lock", rep.Name)
		}
		return false
	}
}

// ---------- a replica that waits for its readiness probe ----------

// readiness is `shepherd ready --phase add-column`: one cheap query, and the
// replica gets traffic only once it passes.
type readiness struct{ said bool }

func (p *readiness) blocking() bool { return false }

func (p *readiness) step(ctx context.Context, r *Run, rep *replica) bool {
	if err := r.sb.Ready(ctx, r.plan.Name, "add-column"); err != nil {
		rep.State = "not-ready"
		if !p.said {
			why := err.Error()
			var nr *engine.NotReadyError
			if errors.As(err, &nr) {
				why = nr.Why()
			}
			r.say("%s is not ready: %s. Readiness fails closed, so it gets no traffic", rep.Name, why)
			p.said = true
		}
		return false
	}
	r.up(rep)
	return true
}
