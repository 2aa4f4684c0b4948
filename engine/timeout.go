package engine

import (
	"errors"
	"fmt"
	"time"
)

// Statement timeouts. A database, or the role shepherd connects as, often
// carries a statement timeout meant for the application (PostgreSQL's
// statement_timeout, MariaDB's max_statement_time, MySQL's
// max_execution_time: 150ms is common). shepherd's statements are not the
// application's: a count of the rows a backfill left, a constraint's
// validation and a DDL read the whole table by design, and under an
// inherited 150ms a plan on a big table could never finish. So shepherd
// sets its sessions' timeout itself, per kind of statement, and inherits
// none:
//
//   - counts and other scans, constraint validation, DDL, and shepherd's
//     own small statements: none. They wait for a lock at most
//     lock_timeout / lock_wait_timeout (--lock-timeout for DDL), and then
//     take as long as the table needs.
//   - a batch's UPDATE: a generous bound (Options.batchBound), so that a
//     runaway batch (an expression far slower than the sizer expected) is
//     stopped rather than holding its rows for ever.
//
// Each dialect sets "none" on every connection of its pool as it connects
// (open), and bounds a batch its own way (dialect.batchBound). When the
// server cancels a statement all the same, the failure says which
// statement, what fired, what to do, and that nothing is wrong with the
// rows: a *CancelledError, never "fix the rows".

const (
	// batchBoundFactor × --batch-time is a batch's bound: a batch the
	// sizer aimed at 50ms that runs 5s is not one it can fix.
	batchBoundFactor = 100
	// minBatchBound is the least bound derived from --batch-time: a batch
	// may wait up to a lock timeout or two, and a short target must not
	// make a slow but healthy batch fail.
	minBatchBound = 10 * time.Second
)

// batchBound is how long one batch's statement may run before the server
// cancels it: --batch-timeout, or 100 × --batch-time, at least 10s.
func (o Options) batchBound() time.Duration {
	if o.BatchTimeout > 0 {
		return o.BatchTimeout
	}
	return max(batchBoundFactor*o.BatchTime, minBatchBound)
}

// batchBoundSource says where batchBound comes from, for a message.
func (o Options) batchBoundSource() string {
	if o.BatchTimeout > 0 {
		return "set by --batch-timeout"
	}
	return fmt.Sprintf("%d × --batch-time %s, at least %s; --batch-timeout sets another", batchBoundFactor, o.BatchTime, minBatchBound)
}

// stmtKind is a kind of statement, as its timeout and a failure's message
// see it.
type stmtKind int

const (
	stmtOther stmtKind = iota // a probe, a catalog read, a state write, a batch's bounds
	stmtScan                  // a count over the table's rows (a verification)
	stmtDDL                   // a schema change or a constraint's validation
	stmtBatch                 // one batch's UPDATE
)

// what names a statement of kind k on table, for a message.
func (k stmtKind) what(table string) string {
	switch k {
	case stmtScan:
		return "a count over the rows of " + table
	case stmtDDL:
		return "a schema change on " + table
	case stmtBatch:
		return "the batch's UPDATE"
	}
	return "a statement of shepherd's"
}

// cancelCause is why the server cancelled a statement, as far as its error
// says.
type cancelCause int

const (
	cancelUnknown cancelCause = iota
	cancelTimeout             // a statement timeout fired
	cancelRequest             // a cancel request: pg_cancel_backend, KILL QUERY
)

// CancelledError is a statement the database server cancelled: a statement
// timeout fired, or someone sent a cancel request. The server rolled the
// statement back; nothing is wrong with the rows.
type CancelledError struct {
	kind    stmtKind
	what    string        // the statement, in words
	bound   time.Duration // the timeout shepherd set for it; 0: none
	source  string        // where that bound comes from
	setting string        // the server's name for a statement timeout
	cause   cancelCause
	// fix says what to do; empty where the caller says it (a batch's
	// *BatchError).
	fix string
	err error
}

func (e *CancelledError) Unwrap() error { return e.err }

func (e *CancelledError) Error() string {
	bound := e.bound.String()
	if e.setting != "" {
		bound = e.setting + " = " + bound
	}
	var why string
	switch {
	case e.cause == cancelTimeout && e.bound > 0:
		why = fmt.Sprintf(" when shepherd's bound for it ran out (%s: %s)", bound, e.source)
	case e.cause == cancelTimeout:
		setting := ""
		if e.setting != "" {
			setting = " (" + e.setting + ")"
		}
		why = fmt.Sprintf(" on a statement timeout%s that shepherd did not set: it runs this kind of statement with none (it reads as much of the table as it must, and waits for a lock only as long as its lock timeout), so something outside shepherd's session set one (a connection pooler, a function's own SET)", setting)
	case e.cause == cancelRequest:
		why = " on a cancel request (pg_cancel_backend or KILL QUERY: an operator, or a watchdog for long queries)"
	case e.bound > 0:
		why = fmt.Sprintf(" (shepherd's bound for it ran out, %s: %s; or a cancel request came)", bound, e.source)
	}
	msg := fmt.Sprintf("%v: the database cancelled %s%s; nothing is wrong with the rows", e.err, e.what, why)
	if e.fix != "" {
		msg += ": " + e.fix
	}
	return msg
}

// cancelled returns err as a *CancelledError when the server cancelled the
// statement of kind k that returned it, with bound the timeout shepherd
// set for it (0: none); any other error is returned as it is.
func (s *Session) cancelled(k stmtKind, bound time.Duration, err error) error {
	if err == nil || errors.As(err, new(*CancelledError)) {
		return err
	}
	f := s.d.classify(err)
	if f.kind != failCancelled {
		return err
	}
	ce := &CancelledError{kind: k, what: k.what(s.plan.Table), bound: bound, setting: timeoutSetting(s.d), cause: f.cancel, err: err}
	if k == stmtBatch {
		ce.source = s.opts.batchBoundSource()
		return ce
	}
	switch ce.cause {
	case cancelRequest:
		ce.fix = "find what cancels shepherd's statements (on PostgreSQL they run as application_name shepherd), then rerun: the phase goes on from what the database holds"
	default:
		ce.fix = "find what sets a statement timeout on shepherd's session, then rerun: the phase goes on from what the database holds"
	}
	return ce
}

// batchCancelledFix is what to do about a batch of rows rows that the
// server cancelled.
func (s *Session) batchCancelledFix(cause cancelCause, rows int64) string {
	if cause == cancelRequest {
		return "the batch was rolled back; find what cancels shepherd's statements (a watchdog for long queries?), then rerun to resume"
	}
	return fmt.Sprintf("the batch was rolled back; rerun with a smaller --batch-size (%d, a tenth of this batch's %d rows), or a longer --batch-timeout, to resume",
		max(rows/10, 1), rows)
}
