package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/phases"
)

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common, so that
// state writes can join the transaction of the phase they record.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// phaseState is one row of shepherd_state.
type phaseState struct {
	ID         string
	Status     phases.Status
	Hash       string
	StartedAt  *time.Time
	FinishedAt *time.Time
	RunBy      string
	Checkpoint *string
	RowsDone   int64
	Detail     string
	// TookEffect is whether the phase changed the database since it was
	// last pending or rolled back: a failure records it (a failure that
	// changed nothing is not in force; phases.Effective).
	TookEffect bool
	// RowsChanged is how many rows the phase's walk changed, from its
	// first batch: written with each batch and its checkpoint, so that it
	// adds up across interruptions and resumes.
	RowsChanged int64
	stored      bool // a row exists in shepherd_state
}

// resetWalk forgets a phase's walk of the table: the next one starts
// from the first key, with no row changed.
func (st *phaseState) resetWalk() {
	st.Checkpoint, st.RowsDone, st.RowsChanged = nil, 0, 0
}

// exec renders a one-statement template and runs it with named values. A
// statement on the pool (autocommit) that timed out waiting for a lock did
// not apply, so it is retried a few times: under heavy write traffic an
// SQLite writer can wait out its busy timeout.
func (e *Engine) exec(ctx context.Context, q querier, name string, data any, vals map[string]any) (sql.Result, error) {
	st, err := e.sql.Query(name, data)
	if err != nil {
		return nil, err
	}
	args, err := st.Args(expandKeys(vals))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	_, autocommit := q.(*sql.DB)
	var res sql.Result
	err = e.retryLocked(ctx, autocommit, func() error {
		var err error
		res, err = q.ExecContext(ctx, st.SQL, args...)
		return err
	})
	return res, e.dsn.scrub(err)
}

// retryLocked runs fn, and again after a short, growing pause while it
// fails on a lock timeout (up to five tries, under a second) or a lost
// connection (up to ten, about 15 seconds: long enough for a server restart
// or a failover) and retry allows it.
func (e *Engine) retryLocked(ctx context.Context, retry bool, fn func() error) error {
	if !retry {
		return fn()
	}
	var last error
	r := &retrier{first: 50 * time.Millisecond, lockTries: 5, connTries: maxLockRetries}
	err := r.run(ctx, func(err error) failureKind { return e.d.classify(err).kind }, func() error {
		last = fn()
		return last
	}, nil, nil)
	if err != nil && ctx.Err() != nil && last != nil {
		return last // fn's error, not the context's
	}
	return err
}

// query renders a one-statement template and runs it.
func (e *Engine) query(ctx context.Context, q querier, name string, data any, vals map[string]any) (*sql.Rows, error) {
	st, err := e.sql.Query(name, data)
	if err != nil {
		return nil, err
	}
	args, err := st.Args(expandKeys(vals))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rows, err := q.QueryContext(ctx, st.SQL, args...)
	return rows, e.dsn.scrub(err)
}

// queryRow renders a one-statement template and scans its one row.
func (e *Engine) queryRow(ctx context.Context, q querier, name string, data any, vals map[string]any, dest ...any) error {
	st, err := e.sql.Query(name, data)
	if err != nil {
		return err
	}
	args, err := st.Args(expandKeys(vals))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return e.dsn.scrub(q.QueryRowContext(ctx, st.SQL, args...).Scan(dest...))
}

// stateExists reports whether shepherd's tables exist in this database.
func (e *Engine) stateExists(ctx context.Context) (bool, error) {
	var n int64
	if err := e.queryRow(ctx, e.db, "state-exists", nil, nil, &n); err != nil {
		return false, fmt.Errorf("look for shepherd's state table: %w", e.dsn.scrub(err))
	}
	return n > 0, nil
}

func (s *Session) loadState(ctx context.Context) error {
	exists := s.tablesComplete
	if !exists {
		var err error
		if exists, err = s.stateExists(ctx); err != nil {
			return err
		}
	}
	if !exists {
		s.state = map[string]*phaseState{}
		return nil
	}
	load, err := s.stateLoadData(ctx)
	if err != nil {
		return err
	}
	rows, err := s.query(ctx, s.db, "state-load", load, map[string]any{"plan": s.plan.Name})
	if err != nil {
		return fmt.Errorf("read the state of %s: %w", s.plan.Name, s.dsn.scrub(err))
	}
	defer rows.Close()
	state := map[string]*phaseState{} // replaces s.state only once read whole
	for rows.Next() {
		var st phaseState
		var started, finished any
		var runBy, detail sql.NullString
		var cp sql.NullString
		if err := rows.Scan(&st.ID, &st.Status, &st.Hash, &started, &finished, &runBy, &cp, &st.RowsDone, &detail, &st.TookEffect, &st.RowsChanged); err != nil {
			return fmt.Errorf("read the state of %s: %w", s.plan.Name, s.dsn.scrub(err))
		}
		st.StartedAt, st.FinishedAt = parseTime(started), parseTime(finished)
		st.RunBy, st.Detail = runBy.String, detail.String
		if cp.Valid {
			st.Checkpoint = &cp.String
		}
		st.stored = true
		state[st.ID] = &st
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the state of %s: %w", s.plan.Name, s.dsn.scrub(err))
	}
	s.state = state
	return nil
}

// snapshotState copies the in-memory state, to be restored when a
// transaction that changed it does not commit.
func (s *Session) snapshotState() map[string]phaseState {
	out := make(map[string]phaseState, len(s.state))
	for id, st := range s.state {
		out[id] = *st
	}
	return out
}

func (s *Session) restoreState(saved map[string]phaseState) {
	for id := range s.state {
		if _, ok := saved[id]; !ok {
			delete(s.state, id)
		}
	}
	for id, st := range saved {
		if cur, ok := s.state[id]; ok {
			*cur = st
		} else {
			st := st
			s.state[id] = &st
		}
	}
}

// st returns a phase's state, pending if it never ran.
func (s *Session) st(id string) *phaseState {
	if st, ok := s.state[id]; ok {
		return st
	}
	st := &phaseState{ID: id, Status: phases.Pending}
	s.state[id] = st
	return st
}

// progress is every phase's status as the state machine sees it: a
// failure that changed nothing is phases.FailedUnchanged.
func (s *Session) progress() phases.Progress {
	p := phases.Progress{}
	for id, st := range s.state {
		p[id] = phases.Effective(st.Status, st.TookEffect)
	}
	return p
}

// stateComplete reports whether shepherd's tables are all there with every
// column this shepherd writes (one read, the "state-complete" template).
// Once they are, they stay: later calls ask nothing, ensureStateTables has
// nothing to do, and the state's newer columns need no probe.
func (s *Session) stateComplete(ctx context.Context) (bool, error) {
	if s.tablesComplete {
		return true, nil
	}
	var complete int
	if err := s.queryRow(ctx, s.db, "state-complete", nil, nil, &complete); err != nil {
		return false, fmt.Errorf("check shepherd's state tables: %w", s.dsn.scrub(err))
	}
	if complete == 1 {
		s.tablesComplete, s.effectColumn, s.changedColumn = true, true, true
	}
	return s.tablesComplete, nil
}

// ensureStateTables creates shepherd's schema, tables and columns where
// they are missing; when all are there, the DDL is not run at all.
func (s *Session) ensureStateTables(ctx context.Context) error {
	if complete, err := s.stateComplete(ctx); err != nil || complete {
		return err
	}
	script, err := s.sql.Script("state-ddl", nil)
	if err != nil {
		return err
	}
	for _, step := range script {
		if err := s.stateStep(ctx, step); err != nil {
			return fmt.Errorf("create shepherd's state tables (shepherd keeps its state in the database it changes, so its user needs the right to create tables there): %w", s.dsn.scrub(err))
		}
	}
	return nil
}

// register records a plan the first time it runs here: a pending row per
// phase, and the plan text in the log so that a later edit can be explained.
func (s *Session) register(ctx context.Context) error {
	known := false
	var missing []int
	for i, ph := range s.pb.Phases {
		if s.st(ph.ID).stored {
			known = true
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return s.write(ctx, s.db, func(tx querier) error {
		for _, i := range missing {
			ph := s.pb.Phases[i]
			if _, err := s.exec(ctx, tx, "state-insert", nil, map[string]any{
				"plan": s.plan.Name, "phase": ph.ID, "position": i, "playbook": s.plan.Playbook,
				"table": s.plan.Table, "hash": s.plan.Hash(),
			}); err != nil {
				return fmt.Errorf("register plan %s: %w", s.plan.Name, s.dsn.scrub(err))
			}
			st := s.st(ph.ID)
			st.Hash, st.stored = s.plan.Hash(), true
		}
		if known {
			return nil // a phase row was missing; the plan's text is logged already
		}
		return s.log(ctx, tx, "", "plan", "", string(s.plan.Canonical()))
	})
}

// inTx runs fn in a transaction on the pool.
func (s *Session) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.inTxWith(ctx, nil, fn)
}

// inTxWith runs fn in a transaction that begins with opts.
func (s *Session) inTxWith(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	// Beginning may wait for a lock (SQLite's BEGIN IMMEDIATE): nothing
	// has happened yet, so a timeout there is retried.
	var tx *sql.Tx
	err := s.retryLocked(ctx, true, func() error {
		var err error
		tx, err = s.db.BeginTx(ctx, opts)
		return err
	})
	if err != nil {
		return s.dsn.scrub(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return s.dsn.scrub(tx.Commit())
}

// save writes a phase's state row, through q's transaction or one of its
// own, while the runner lock is this runner's (see write).
func (s *Session) save(ctx context.Context, q querier, st *phaseState) error {
	var cp any
	if st.Checkpoint != nil {
		cp = *st.Checkpoint
	}
	return s.write(ctx, q, func(q querier) error {
		res, err := s.exec(ctx, q, "state-update", nil, map[string]any{
			"status": string(st.Status), "started_at": s.d.timeValue(st.StartedAt), "finished_at": s.d.timeValue(st.FinishedAt),
			"run_by": nullable(st.RunBy), "checkpoint": cp, "rows_done": st.RowsDone, "detail": nullable(redactValues(s.dsn.Scrub(st.Detail))),
			"took_effect": st.TookEffect, "rows_changed": st.RowsChanged, "plan": s.plan.Name, "phase": st.ID,
		})
		if err != nil {
			return fmt.Errorf("record the state of %s: %w", st.ID, s.dsn.scrub(err))
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("record the state of %s: shepherd_state has no row for plan %s, phase %s: it was changed outside shepherd; rerun to register it again", st.ID, s.plan.Name, st.ID)
		}
		return nil
	})
}

// log appends to shepherd_log. sqlText is statement text only, never row
// values: values are bound parameters and are not logged, and the values a
// database quotes in its errors are masked in details.
func (s *Session) log(ctx context.Context, q querier, phase, event, sqlText, detail string) error {
	detail = s.dsn.Scrub(detail)
	if event != "plan" { // the plan's own text is kept whole, to explain a later edit
		detail = redactValues(detail)
	}
	return s.write(ctx, q, func(q querier) error {
		_, err := s.exec(ctx, q, "log-append", nil, map[string]any{
			"at": s.d.timeValue(ptr(time.Now())), "plan": s.plan.Name, "phase": phase, "event": event,
			"actor": s.opts.Operator, "sql": nullable(sqlText), "detail": nullable(detail), "version": s.opts.Version,
		})
		if err != nil {
			return fmt.Errorf("append to shepherd_log: %w", s.dsn.scrub(err))
		}
		return nil
	})
}

// move applies a state-machine action to a phase and records it, with a log
// entry, through q (the phase's own transaction when it has one).
func (s *Session) move(ctx context.Context, q querier, id string, a phases.Action, detail string) error {
	st := s.st(id)
	to, err := phases.Transition(phases.Effective(st.Status, st.TookEffect), a)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	prev := *st
	st.TookEffect = s.tookEffect(st, a)
	now := time.Now()
	switch a {
	case phases.Start:
		if st.Status != phases.Running {
			st.StartedAt = &now
		}
		st.FinishedAt = nil
		st.RunBy = s.opts.Operator
	case phases.Finish, phases.Fail, phases.Revert:
		st.FinishedAt = &now
	case phases.Arrive:
		st.FinishedAt = nil
	case phases.Reset:
		st.StartedAt, st.FinishedAt = nil, nil
	}
	st.Status, st.Detail = to, detail
	err = s.write(ctx, q, func(q querier) error {
		if err := s.save(ctx, q, st); err != nil {
			return err
		}
		return s.log(ctx, q, id, string(a), "", detail)
	})
	if err != nil {
		*st = prev
	}
	return err
}

// moveNow applies an action in its own transaction.
func (s *Session) moveNow(ctx context.Context, id string, a phases.Action, detail string) error {
	return s.move(ctx, s.db, id, a, detail)
}

// PlanStatus is one plan's state, as `status` shows it.
type PlanStatus struct {
	Name     string        `json:"name"`
	Playbook string        `json:"playbook"`
	Table    string        `json:"table"`
	Phases   []PhaseStatus `json:"phases"`
	// Runner holds the plan's runner lock, or held it last (its row is
	// left by a runner that died); nil when no row names the plan.
	Runner *Runner `json:"runner,omitempty"`
	// Control is what `shepherd pause`, `resume` and `tune` asked of the
	// plan, while it is paused or tuned; nil otherwise.
	Control *Control `json:"control,omitempty"`
}

// PhaseStatus is one phase's state.
type PhaseStatus struct {
	ID         string        `json:"id"`
	Status     phases.Status `json:"status"`
	StartedAt  *time.Time    `json:"started_at,omitempty"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
	RowsDone   int64         `json:"rows_done,omitempty"`
	Detail     string        `json:"detail,omitempty"`
}

// Status lists every plan recorded in this database.
func (e *Engine) Status(ctx context.Context) ([]PlanStatus, error) {
	exists, err := e.stateExists(ctx)
	if err != nil || !exists {
		return nil, err
	}
	rows, err := e.query(ctx, e.db, "state-list", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read shepherd_state: %w", e.dsn.scrub(err))
	}
	defer rows.Close()
	var out []PlanStatus
	for rows.Next() {
		var plan, playbook, table string
		var ph PhaseStatus
		var started, finished any
		var detail sql.NullString
		if err := rows.Scan(&plan, &playbook, &table, &ph.ID, &ph.Status, &started, &finished, &ph.RowsDone, &detail); err != nil {
			return nil, fmt.Errorf("read shepherd_state: %w", e.dsn.scrub(err))
		}
		ph.StartedAt, ph.FinishedAt, ph.Detail = parseTime(started), parseTime(finished), detail.String
		if len(out) == 0 || out[len(out)-1].Name != plan {
			out = append(out, PlanStatus{Name: plan, Playbook: playbook, Table: table})
		}
		out[len(out)-1].Phases = append(out[len(out)-1].Phases, ph)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read shepherd_state: %w", e.dsn.scrub(err))
	}
	if out, err = e.withRunners(ctx, out); err != nil {
		return nil, err
	}
	return e.withControls(ctx, out)
}

// LogEntry is one row of shepherd_log.
type LogEntry struct {
	At     time.Time `json:"at"`
	Phase  string    `json:"phase,omitempty"`
	Event  string    `json:"event"`
	Actor  string    `json:"actor"`
	SQL    string    `json:"sql,omitempty"`
	Detail string    `json:"detail,omitempty"`
	// Version is the shepherd that wrote the row; empty for a row an
	// older shepherd wrote, before the log recorded it.
	Version string `json:"version,omitempty"`
}

// Log returns a plan's audit log, oldest first. It reads a shepherd_log an
// older shepherd made (without version) as it is: reading never writes.
func (e *Engine) Log(ctx context.Context, plan string) ([]LogEntry, error) {
	exists, err := e.stateExists(ctx)
	if err != nil || !exists {
		return nil, err
	}
	var withVersion int64
	if err := e.queryRow(ctx, e.db, "log-has-version", nil, nil, &withVersion); err != nil {
		return nil, fmt.Errorf("read shepherd_log: %w", e.dsn.scrub(err))
	}
	rows, err := e.query(ctx, e.db, "log-list", sqlData{LogVersion: withVersion > 0}, map[string]any{"plan": plan})
	if err != nil {
		return nil, fmt.Errorf("read shepherd_log: %w", e.dsn.scrub(err))
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var le LogEntry
		var at any
		var sqlText, detail, ver sql.NullString
		if err := rows.Scan(&at, &le.Phase, &le.Event, &le.Actor, &sqlText, &detail, &ver); err != nil {
			return nil, fmt.Errorf("read shepherd_log: %w", e.dsn.scrub(err))
		}
		if t := parseTime(at); t != nil {
			le.At = *t
		}
		le.SQL, le.Detail, le.Version = sqlText.String, detail.String, ver.String
		out = append(out, le)
	}
	return out, rows.Err()
}

// NotReadyError says why `ready` answers no, in one line: a probe's log
// keeps one line per answer, and a driver's error can have several (pgx
// lists each address it tried on a line of its own).
type NotReadyError struct{ Reason string }

func (e *NotReadyError) Error() string {
	var parts []string
	for _, l := range strings.Split(e.Reason, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// Ready answers the readiness probe with one indexed read: nil when the
// phase is done, else a *NotReadyError saying why (see ready.go).
func (e *Engine) Ready(ctx context.Context, plan, phase string) error {
	return e.readyWhen(ctx, plan, phase, phases.Done)
}

// parseTime reads a time the way each driver returns it.
func parseTime(v any) *time.Time {
	switch t := v.(type) {
	case time.Time:
		return &t
	case []byte:
		return parseTime(string(t))
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999", "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, strings.TrimSpace(t)); err == nil {
				return &p
			}
		}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ptr[T any](v T) *T { return &v }
