package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/templates"
)

// runScript executes a phase's script on one connection:
//
//   - own/notx steps run alone, each skipped when its applied probe says it
//     already took effect (so a rerun after a crash goes on where it was);
//   - in-transaction steps run in one transaction, and finish (the phase's
//     verification and its state write) runs in the last such transaction, so
//     the DDL and the record of it commit together or not at all;
//   - where the script has no transaction (MySQL), finish runs after it.
//
// A statement that times out waiting for a lock is not left queued in front
// of the application's queries: the attempt is rolled back and the script is
// retried from the top after a jittered, growing pause.
func (s *Session) runScript(ctx context.Context, phase string, script templates.Script, finish func(context.Context, querier) error) error {
	// A step's SQL and locks are shown once; a retry shows only the retry.
	run := &scriptRun{shown: map[int]bool{}, form: map[int]int{}}
	r := &retrier{first: 100 * time.Millisecond, jitter: 0.5, lockTries: maxLockRetries, connTries: maxLockRetries}
	err := r.run(ctx, func(err error) failureKind { return s.d.classify(err).kind }, func() error {
		saved := s.snapshotState()
		err := s.runScriptOnce(ctx, phase, script, finish, run)
		if err != nil {
			// The finish step may have moved the in-memory state before
			// the commit failed: the database has the truth, which is the
			// state before this attempt.
			s.restoreState(saved)
		}
		// A lock timeout or a lost connection anywhere in the script (a
		// step, a probe, the log write) is retried: in-transaction steps
		// were rolled back, and the probes skip what took effect.
		return err
	}, func(kind failureKind) error {
		if kind == failConnection {
			return s.lock.held(ctx) // before anything runs again
		}
		return nil
	}, func(_ error, wait time.Duration) {
		if r.kind == failConnection {
			// Probes skip what took effect before the connection went.
			s.notice(phase, "lost the connection to the database; reconnecting, retry %d of %d in %s", r.attempts, maxLockRetries-1, wait.Round(time.Millisecond))
		} else {
			s.notice(phase, "lock wait over %s; retry %d of %d in %s", s.opts.LockTimeout, r.attempts, maxLockRetries-1, wait.Round(time.Millisecond))
		}
	})
	if err == nil || ctx.Err() != nil || r.attempts < maxLockRetries || r.kind != failLockTimeout && r.kind != failConnection {
		return err
	}
	over := time.Since(r.troubled).Round(time.Second)
	if r.kind == failConnection {
		return fmt.Errorf("%w (gave up after %d attempts over %s: the connection to the database was lost and it stayed unreachable; rerun when it is back: every step is checked before it runs again)", err, r.attempts, over)
	}
	return fmt.Errorf("%w (gave up after %d attempts over %s: the table stayed locked by other sessions; rerun when it is quieter, or raise --lock-timeout)", err, r.attempts, over)
}

// scriptRun is what the attempts of one script share: the steps whose SQL
// was shown, and the form of each step the database accepted (a retry
// starts from it).
type scriptRun struct {
	shown map[int]bool
	form  map[int]int // step → index+1 in its Else; 0 for the step's own form
	// inTx is set while the open transaction holds a statement that
	// changed something: its commit is a change of the phase's.
	inTx bool
	// underLock are the statements that ran while the connection held
	// MySQL's LOCK TABLES, recorded once the lock is released (each record
	// is a commit the lock would otherwise be held through).
	underLock []string
}

func (s *Session) runScriptOnce(ctx context.Context, phase string, script templates.Script, finish func(context.Context, querier) error, run *scriptRun) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.dsn.scrub(err)
	}
	// The connection's settings (a short lock timeout, PRAGMAs) are for
	// this script only: it is discarded, not returned to the pool, where
	// state writes and batches would inherit them.
	defer discardConn(conn)
	for _, setup := range s.d.connSetup(s.opts) {
		if _, err := conn.ExecContext(ctx, setup); err != nil {
			return &StepError{Phase: phase, SQL: setup, Err: s.dsn.scrub(err)}
		}
	}
	finishAt := lastTxGroupEnd(script)
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	baselines := map[string]int64{}
	run.inTx = false // an attempt's open transaction never outlives it
	defer func() {
		if len(run.underLock) > 0 { // the script stopped under the lock
			_ = s.logUnderLock(context.WithoutCancel(ctx), s.db, phase, run)
		}
	}()
	commit := func() error {
		err := tx.Commit()
		tx = nil
		if err != nil {
			if run.inTx && s.outcomeUnknown(ctx, err) {
				s.markChanged(phase) // it may have committed
			}
			return &StepError{Phase: phase, SQL: "COMMIT", Err: s.dsn.scrub(err)}
		}
		if run.inTx {
			s.markChanged(phase)
			run.inTx = false
		}
		return nil
	}
	for i, step := range script {
		// Anything but an in-transaction or check step ends the open
		// transaction.
		if tx != nil && step.Mode != templates.InTx && step.Mode != templates.Check {
			if err := commit(); err != nil {
				return err
			}
		}
		if step.Mode == templates.InTx && tx == nil {
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return &StepError{Phase: phase, SQL: "BEGIN", Err: s.dsn.scrub(err)}
			}
		}
		var q querier = conn
		if tx != nil {
			q = tx
		}
		if err := s.runStep(ctx, q, phase, i, step, baselines, run); err != nil {
			return err
		}
		// The phase's verification and state write commit with the last
		// transaction, after its checks (SQLite's foreign key check).
		if i == finishAt {
			if err := finish(ctx, tx); err != nil {
				return err
			}
			s.opts.Failpoint(phase + ":commit")
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if finishAt < 0 {
		s.opts.Failpoint(phase + ":finish")
		return finish(ctx, conn)
	}
	return nil
}

// lastTxGroupEnd is the index of the last step of the script's last
// transaction (its in-transaction steps and the checks that follow them),
// or -1 when the script runs no transaction.
func lastTxGroupEnd(script templates.Script) int {
	end, inGroup := -1, false
	for i, step := range script {
		switch {
		case step.Mode == templates.InTx:
			end, inGroup = i, true
		case step.Mode == templates.Check && inGroup:
			end = i
		default:
			inGroup = false
		}
	}
	return end
}

// runStep runs one step: skipped when its probe says it already took
// effect, compared with its baseline when it is a check. A retry of the
// script does not show a step's SQL again, nor call a step it ran itself
// "nothing to do", and starts from the form the database accepted.
func (s *Session) runStep(ctx context.Context, q querier, phase string, i int, step templates.Step, baselines map[string]int64, run *scriptRun) error {
	shown := run.shown
	args, err := step.Args(nil)
	if err != nil {
		return err
	}
	if step.Applied != nil {
		applied, perr := s.probe(ctx, q, *step.Applied)
		if perr != nil {
			return &StepError{Phase: phase, SQL: step.Applied.SQL, Err: perr}
		}
		if applied {
			// What the step does is in the database: the phase has
			// taken effect, whoever made it so.
			s.markChanged(phase)
			if !shown[i] {
				s.notice(phase, "skipped, nothing to do: %s", oneLine(step.SQL))
				shown[i] = true
			}
			return nil
		}
	}
	if step.Mode == templates.Check {
		var n int64
		if err := q.QueryRowContext(ctx, step.SQL, args...).Scan(&n); err != nil {
			return &StepError{Phase: phase, SQL: step.SQL, Err: s.cancelled(stmtScan, 0, s.dsn.scrub(err))}
		}
		if base, seen := baselines[step.SQL]; !seen {
			baselines[step.SQL] = n
		} else if n > base {
			return &VerifyError{Phase: phase, What: step.Lock + fmt.Sprintf(": %d problems after, %d before", n, base)}
		}
		return nil
	}
	// A statement that blocks the application in its only form runs
	// only when the operator allows that lock: stop before it, as when
	// the server refuses a form without it.
	if step.Blocks != "" && templates.LevelRank(step.Blocks) > templates.LevelRank(s.opts.AllowLock) {
		le := &LockRequiredError{Phase: phase, Table: s.plan.Table, Level: step.Blocks, Reason: step.BlocksWhy, SQL: step.SQL, Lock: step.Lock}
		if s.table != nil {
			le.Size = s.table.sizeText()
			le.Estimate = blockedFor(s.d, s.table)
		}
		return le
	}
	if step.Mode != templates.ConnOp && !shown[i] {
		s.emit(Event{Event: EventStep, Phase: phase, SQL: step.SQL, Lock: step.Lock})
		shown[i] = true
	}
	s.opts.Failpoint(fmt.Sprintf("%s:step-%d", phase, i))
	// A run stopped before the statement is sent changed nothing with it.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: stopped before it ran %s: %w", phase, oneLine(step.SQL), err)
	}
	ran, err := s.execForms(ctx, q, phase, i, step, args, run)
	if err != nil {
		// A statement outside any transaction may leave something when
		// it fails (PostgreSQL's CREATE INDEX CONCURRENTLY leaves an
		// invalid index); one in its own transaction, whose answer never
		// came, may have gone through (MySQL goes on with an ALTER whose
		// client left). Either way the phase may have taken effect.
		if step.Mode == templates.NoTx || step.Mode == templates.Own && s.outcomeUnknown(ctx, err) {
			s.markChanged(phase)
		}
		return err
	}
	// A statement in the phase's transaction changes something once it
	// commits; one on its own (MySQL's DDL, CREATE INDEX CONCURRENTLY)
	// already has.
	switch step.Mode {
	case templates.InTx:
		run.inTx = true
	case templates.Own, templates.NoTx:
		s.markChanged(phase)
	}
	s.opts.Failpoint(fmt.Sprintf("%s:step-%d-done", phase, i))
	if step.Mode != templates.ConnOp {
		if step.UnderLock {
			run.underLock = append(run.underLock, ran)
			return nil
		}
		if err := s.logUnderLock(ctx, q, phase, run); err != nil {
			return err
		}
		return s.log(ctx, q, phase, "sql", ran, "")
	}
	return nil
}

// logUnderLock records the statements that ran under MySQL's LOCK TABLES,
// through q once the lock is released (or the pool, when the script
// failed while it held the lock: a transaction on its connection would
// end the lock, and the connection is thrown away).
func (s *Session) logUnderLock(ctx context.Context, q querier, phase string, run *scriptRun) error {
	for len(run.underLock) > 0 {
		if err := s.log(ctx, q, phase, "sql", run.underLock[0], ""); err != nil {
			return err
		}
		run.underLock = run.underLock[1:]
	}
	return nil
}

// execForms runs a step; where the database refuses its form for this
// table (MySQL: ALGORITHM=INSTANT, or LOCK=NONE), before changing anything,
// it runs the step's next form that gives the database what it asks for.
// A form that blocks writes, or reads and writes, runs only when
// Options.AllowLock allows that lock; else the step stops with a
// *LockRequiredError. It returns the SQL that ran.
func (s *Session) execForms(ctx context.Context, q querier, phase string, i int, step templates.Step, args []any, run *scriptRun) (string, error) {
	st, k := step.Statement, 0 // k: where the search for the next form starts
	if n := run.form[i]; n > 0 {
		st, k = step.Else[n-1].Statement, n
	}
	for {
		_, err := q.ExecContext(ctx, st.SQL, args...)
		if err == nil {
			return st.SQL, nil
		}
		f := s.d.classify(err)
		if f.kind != failRefusedForm {
			return "", &StepError{Phase: phase, SQL: st.SQL, Err: s.cancelled(stmtDDL, 0, s.dsn.scrub(err))}
		}
		// The next form that takes the lock the database asks for, the
		// first one with the clause it suggests if there is one.
		next := -1
		for j := k; j < len(step.Else); j++ {
			alt := step.Else[j]
			if templates.LevelRank(alt.Level) < templates.LevelRank(f.need) {
				continue
			}
			if next < 0 {
				next = j
			}
			if f.suggest != "" && strings.Contains(alt.SQL, f.suggest) {
				next = j
				break
			}
		}
		if next < 0 {
			return "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(err)}
		}
		alt := step.Else[next]
		refusal := s.dsn.scrub(err).Error()
		logQ := q
		if step.UnderLock {
			logQ = s.db // a transaction on q would end its LOCK TABLES
		}
		_ = s.log(ctx, logQ, phase, "refused", st.SQL, refusal)
		if alt.Level != templates.LevelNone && templates.LevelRank(alt.Level) > templates.LevelRank(s.opts.AllowLock) {
			le := &LockRequiredError{Phase: phase, Table: s.plan.Table, Level: alt.Level, Refused: f.refused, Reason: f.reason,
				Server: refusal, SQL: alt.SQL, Lock: alt.Lock}
			if s.table != nil {
				le.Size = s.table.sizeText()
			}
			return "", le
		}
		form, _, _ := strings.Cut(alt.Lock, ": ")
		how := "falling back to " + form
		if alt.Level != templates.LevelNone {
			how = fmt.Sprintf("running %s, as --allow-lock %s allows", form, s.opts.AllowLock)
		}
		s.notice(phase, "the database refuses this form of the statement on %s (%s): %s", s.plan.Table, refusal, how)
		s.emit(Event{Event: EventStep, Phase: phase, SQL: alt.SQL, Lock: alt.Lock})
		st, k = alt.Statement, next+1
		run.form[i] = next + 1
	}
}

// probe runs an applied probe: true when its first column is non-zero.
func (s *Session) probe(ctx context.Context, q querier, st templates.Statement) (bool, error) {
	args, err := st.Args(nil)
	if err != nil {
		return false, err
	}
	var n int64
	if err := q.QueryRowContext(ctx, st.SQL, args...).Scan(&n); err != nil {
		return false, s.dsn.scrub(err)
	}
	return n != 0, nil
}

// sleep waits d, or until ctx ends, and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
