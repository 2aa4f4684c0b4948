package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/phases"
)

// EventKind names an event. The first six are part of the contract
// (`--output json`).
type EventKind string

const (
	EventPhaseStart  EventKind = "phase-start"
	EventProgress    EventKind = "progress"
	EventPhaseDone   EventKind = "phase-done"
	EventPhaseFailed EventKind = "phase-failed"
	EventGate        EventKind = "gate"
	EventDone        EventKind = "done"
	// EventStep is one statement about to run, with its SQL.
	EventStep EventKind = "step"
	// EventNotice is something the operator should read: a warning, a
	// retry, a step skipped because it already took effect.
	EventNotice EventKind = "notice"
	// EventRollback is a phase reverted by `rollback`.
	EventRollback EventKind = "rollback"
	// EventPaused is a batched phase held between batches by
	// Options.Pause; EventResumed is its going on.
	EventPaused  EventKind = "paused"
	EventResumed EventKind = "resumed"
	// EventError is the error that ended a command, with its exit code:
	// the last line of `--output json` when a run or rollback fails, for any
	// reason (a plan, a connection, another runner's lock, a step).
	EventError EventKind = "error"
)

// Event is one thing the engine did. Fields that do not apply are empty.
type Event struct {
	Event   EventKind `json:"event"`
	Plan    string    `json:"plan"`
	Phase   string    `json:"phase"` // empty for events about the whole plan
	Message string    `json:"message,omitempty"`
	// Level is a notice's weight: a warning, or information (the
	// message of a warning starts with "warning: "). Empty for the other
	// events.
	Level Level `json:"level,omitempty"`
	// Notice names a notice that another layer acts on (training adds to
	// the too-soon warning); most notices have none. Not part of the
	// JSON output: it names no contract.
	Notice Notice `json:"-"`
	SQL    string `json:"sql,omitempty"`
	Lock   string `json:"lock,omitempty"`
	// progress
	RowsDone   *int64  `json:"rows_done,omitempty"`
	RowsTotal  *int64  `json:"rows_total,omitempty"`
	RowsPerSec float64 `json:"rows_per_sec,omitempty"`
	// BatchSize is the rows of the batch just committed, and BatchMS how
	// long its transaction held them.
	BatchSize  int     `json:"batch_size,omitempty"`
	BatchMS    float64 `json:"batch_ms,omitempty"`
	Checkpoint string  `json:"checkpoint,omitempty"`
	// By is who paused or tuned the plan with `shepherd pause` or `tune`,
	// on a paused event or a notice of a retune; empty for the TUI's own
	// pause.
	By string `json:"by,omitempty"`
	// phase-failed
	Error  string   `json:"error,omitempty"`
	Count  *int64   `json:"count,omitempty"`
	Sample []string `json:"sample,omitempty"`
	// phase-done
	ElapsedMS int64 `json:"elapsed_ms,omitempty"`
	// Time is when the event happened: every event a session emits has
	// one. In JSON, RFC 3339 in UTC with milliseconds; left out when zero.
	Time Timestamp `json:"time,omitzero"`
}

// Timestamp is an event's time. It marshals as RFC 3339 in UTC with
// milliseconds ("2026-12-05T22:59:26.123Z"): one fixed width, sortable as
// text, what log shippers parse.
type Timestamp struct{ time.Time }

// TimeLayout is the layout of a Timestamp in JSON.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Now is the current time as a Timestamp.
func Now() Timestamp { return Timestamp{time.Now()} }

func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return fmt.Errorf("reading an event's time: %w", err)
	}
	t.Time = v
	return nil
}

// Level is how much a notice weighs.
type Level string

const (
	LevelInfo    Level = "info"
	LevelWarning Level = "warning"
)

// Notice names a notice that other layers recognise by its name, never by
// its wording.
type Notice string

const (
	// NoticeTooSoon warns that the point of no return follows
	// stop-old-writes within one release (phases.TooSoon).
	NoticeTooSoon Notice = "too-soon"
)

func int64p(v int64) *int64 { return &v }

func (s *Session) emit(e Event) {
	e.Plan = s.plan.Name
	if e.Time.IsZero() {
		e.Time = Now()
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.opts.Emit(e)
}

// notice tells the operator something worth reading.
func (s *Session) notice(phase, format string, args ...any) {
	s.emit(Event{Event: EventNotice, Level: LevelInfo, Phase: phase, Message: fmt.Sprintf(format, args...)})
}

// warn warns the operator: a notice of LevelWarning, whose message starts
// with "warning: ".
func (s *Session) warn(phase, format string, args ...any) {
	s.emit(warning(phase, "", fmt.Sprintf(format, args...)))
}

// warning is the event of a warning named n ("" for most).
func warning(phase string, n Notice, text string) Event {
	return Event{Event: EventNotice, Level: LevelWarning, Notice: n, Phase: phase, Message: "warning: " + text}
}

// ---------- errors: one type per way a run can stop ----------

// UsageError is a mistake on the command line. Nothing was touched.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ConnectError is a database that could not be reached. The DSN in it is
// masked.
type ConnectError struct {
	DSN string
	Err error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to %s: %v", e.DSN, e.Err)
}
func (e *ConnectError) Unwrap() error { return e.Err }

// PlanChangedError is a plan file edited after it started, in a way its
// recorded progress does not allow. Nothing was touched.
type PlanChangedError struct {
	File    string
	Plan    string
	Changes []string
	// Refused says, per changed field, why it cannot change now.
	Refused []string
	// EditableNow lists the fields that could change at this point.
	EditableNow []string
	// Rollbacks are the rollbacks, in order, after which the refused
	// fields could change; NoRollback says why no rollback can get there
	// (the point of no return is done). Both are empty when shepherd
	// cannot tell what changed.
	Rollbacks []string
	// DropsColumn is the one of Rollbacks whose rollback drops the column
	// the plan added, which the operator is told.
	DropsColumn string
	NoRollback  string
}

func (e *PlanChangedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: plan %q changed since it started in this database, so its recorded progress no longer describes it:\n  %s",
		e.File, e.Plan, strings.Join(e.Changes, "\n  "))
	if len(e.Refused) > 0 {
		fmt.Fprintf(&b, "\nrefused: %s", strings.Join(e.Refused, "; "))
	}
	if len(e.EditableNow) > 0 {
		fmt.Fprintf(&b, "\nwhat may change at this point: %s", strings.Join(e.EditableNow, "; "))
	}
	fmt.Fprintf(&b, "\nrestore the file as it was (shepherd status %s --log shows it)", e.File)
	switch n := len(e.Rollbacks); {
	case n > 0:
		times := map[int]string{1: "once", 2: "twice"}[n]
		if times == "" {
			times = fmt.Sprintf("%d phases", n)
		}
		fmt.Fprintf(&b, "; or, with the file as it was, roll back %s: %s (shepherd rollback %s, once for each), then change it again: the changed plan will be accepted", times, strings.Join(e.Rollbacks, ", then "), e.File)
		if e.DropsColumn != "" {
			fmt.Fprintf(&b, " (%s's rollback drops the column it added)", e.DropsColumn)
		}
	case e.NoRollback != "":
		fmt.Fprintf(&b, "; no rollback can get there: %s", e.NoRollback)
	default:
		b.WriteString("; or, with the old file, roll the plan back until no phase of it is in force (every phase pending or rolled back), and the changed plan will replace it")
	}
	return b.String()
}

// LockHeldError is another runner holding the plan's table. Nothing was
// touched.
type LockHeldError struct {
	Scope  string
	Plan   string
	Holder string
	Host   string
	PID    int64
	Since  time.Time
}

func (e *LockHeldError) Error() string {
	since := "an unknown time"
	if !e.Since.IsZero() {
		since = e.Since.UTC().Format(time.RFC3339) + fmt.Sprintf(" (%s ago)", time.Since(e.Since).Round(time.Second))
	}
	return fmt.Sprintf("another runner holds %s: %s on host %s, pid %d, running plan %q since %s; wait for it to finish, or stop it",
		e.Scope, e.Holder, e.Host, e.PID, e.Plan, since)
}

// LockLostError is the runner lock lost during a run: its database session
// ended (an idle timeout, a killed session, a server restart, a network cut)
// and another runner held the lock meanwhile, or it could not be shown that
// none did. That runner may have worked on the table, so the run stopped
// without recording anything more (no failure, no log row): the state is
// whatever the database holds. It is not a *LockHeldError (exit 4, nothing
// touched): this run did touch the table before it stopped.
type LockLostError struct {
	Scope string
	Plan  string // the plan file (or name), for the command to check it
	Phase string // the phase that was running, if any
	Why   string // how the lock's session ended, when known
	Cause string // why the lock is not this runner's any more
	// Holder is the runner that holds the lock now, when known.
	Holder *LockHeldError
}

func (e *LockLostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lost the runner lock of %s", e.Scope)
	if e.Phase != "" {
		fmt.Fprintf(&b, " during %s", e.Phase)
	}
	if e.Why != "" {
		fmt.Fprintf(&b, ": %s", e.Why)
	}
	fmt.Fprintf(&b, "; %s", e.Cause)
	if h := e.Holder; h != nil {
		fmt.Fprintf(&b, " (now held by %s on host %s, pid %d, running plan %q", h.Holder, h.Host, h.PID, h.Plan)
		if !h.Since.IsZero() {
			fmt.Fprintf(&b, " since %s", h.Since.UTC().Format(time.RFC3339))
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ". This run stopped and recorded nothing more, as another runner may have run meanwhile: check `shepherd status %s --log`, then rerun (it goes on from what the database holds)", e.Plan)
	return b.String()
}

// notReadyLead starts the Reason of every *NotReadyError.
const notReadyLead = "not ready: "

// Why is why the phase is not ready: the error without the "not ready: "
// it starts with, for a sentence that says that in its own words.
func (e *NotReadyError) Why() string { return strings.TrimPrefix(e.Error(), notReadyLead) }

// ---------- key values in errors ----------
//
// The plan's key column may hold data (an email, a name). The errors below
// keep the key values they mention (the sample keys of rows at fault, a
// batch's range, a checkpoint) in fields of their own, never in their
// other text, and render themselves either whole, for the operator
// (Error), or without those values, for shepherd's tables (withoutKeys:
// see Session.recordedDetail).

// keyedError is an error that mentions key values of the plan's table.
type keyedError interface {
	error
	// withoutKeys is the error's text with its key values left out.
	withoutKeys() string
}

// VerifyError is a check on the real data that failed. The phase is
// recorded as failed and can be retried.
type VerifyError struct {
	Phase string
	What  string // what was expected; never a key value (see UpTo)
	// UpTo is how far the check went, as the key column and the value a
	// walk of the table reached ("id 500"), when it checked the rows up
	// to there only.
	UpTo   string
	Count  int64
	Sample []string // keys of rows at fault
	Hint   string
}

func (e *VerifyError) Error() string       { return e.text(true) }
func (e *VerifyError) withoutKeys() string { return e.text(false) }

func (e *VerifyError) text(keys bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: verification failed: %s", e.Phase, e.What)
	switch {
	case e.UpTo != "" && keys:
		fmt.Fprintf(&b, " up to %s", e.UpTo)
	case e.UpTo != "":
		b.WriteString(" up to the walk's checkpoint")
	}
	if e.Count > 0 {
		fmt.Fprintf(&b, " (%d %s", e.Count, phases.Plural(int(min(e.Count, 2)), "row", "rows"))
		switch {
		case len(e.Sample) > 0 && keys:
			fmt.Fprintf(&b, "; keys %s", strings.Join(e.Sample, ", "))
			if int64(len(e.Sample)) < e.Count {
				b.WriteString(", …")
			}
		case len(e.Sample) > 0:
			b.WriteString("; " + keysWithheld)
		}
		b.WriteString(")")
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// StepError is a statement the database refused.
type StepError struct {
	Phase string
	SQL   string
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s: %v\n  while running: %s", e.Phase, e.Err, oneLine(e.SQL))
}
func (e *StepError) Unwrap() error { return e.Err }

// LockRequiredError is a statement the database runs on this table only
// with a lock that blocks the application (MySQL refuses LOCK=NONE), which
// the operator has not allowed. Nothing was changed.
type LockRequiredError struct {
	Phase, Table string
	Level        string // shared or exclusive
	Refused      string // what the database refused (LOCK=NONE), if it said
	Reason       string // the database's reason, if it gave one
	Server       string // the database's message
	SQL, Lock    string // the form that would run, and what it locks
	Size         string // the table's size, as the database estimates it
	// Estimate is how long the application would wait, where shepherd
	// can say ("" otherwise).
	Estimate string
}

func (e *LockRequiredError) Error() string {
	var b strings.Builder
	refused := e.Refused
	if refused == "" {
		refused = "the statement without a lock"
	}
	if e.Server == "" {
		// Known to block before it runs: no server refused anything.
		fmt.Fprintf(&b, "%s: this statement on %s has no form that lets the application write meanwhile", e.Phase, e.Table)
	} else {
		fmt.Fprintf(&b, "%s: the database refuses %s for this statement on %s", e.Phase, refused, e.Table)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	who := "writes to " + e.Table + " wait (reads go on)"
	if e.Level == "exclusive" {
		who = "reads and writes to " + e.Table + " wait"
	}
	fmt.Fprintf(&b, ": it needs LOCK=%s: %s for as long as the statement runs, which rebuilds or copies the table", strings.ToUpper(e.Level), who)
	switch {
	case e.Size != "" && e.Estimate != "":
		fmt.Fprintf(&b, " (%s: %s)", e.Size, e.Estimate)
	case e.Size != "":
		fmt.Fprintf(&b, " (%s: the time grows with that)", e.Size)
	}
	fmt.Fprintf(&b, ". Nothing was changed. To run it with that lock, in a window where the application can wait, rerun with --allow-lock %s; it would run:\n  %s\n  locks: %s", e.Level, oneLine(e.SQL), e.Lock)
	if e.Server != "" {
		fmt.Fprintf(&b, "\nthe database said: %s", e.Server)
	}
	return b.String()
}

// BatchError is a backfill batch the database refused. The checkpoint before
// it is kept.
type BatchError struct {
	Phase      string
	Range      string // the batch's bounds, with their key values
	Checkpoint string // the key value the checkpoint stays at
	Err        error
	// Fix says what to do; the default is for a row the statement fails on.
	Fix string
}

func (e *BatchError) Error() string       { return e.text(true) }
func (e *BatchError) withoutKeys() string { return e.text(false) }

func (e *BatchError) text(keys bool) string {
	batch, cp := "a batch ("+keysWithheld+")", "where it was"
	if keys {
		batch, cp = "the batch "+e.Range, "at "+e.Checkpoint
	}
	if e.Checkpoint == "" {
		cp = "at the start (no batch finished yet)"
	}
	fix := e.Fix
	if fix == "" {
		fix = "fix the rows in that range, then rerun to resume"
	}
	return fmt.Sprintf("%s: %s failed: %v; the checkpoint stays %s: %s", e.Phase, batch, e.Err, cp, fix)
}
func (e *BatchError) Unwrap() error { return e.Err }

// InterruptedError is a run stopped by the operator (Ctrl-C) or a deadline.
// State is recorded; a rerun resumes.
type InterruptedError struct {
	Phase      string
	Checkpoint string // the key value a rerun resumes after
}

func (e *InterruptedError) Error() string       { return e.text(true) }
func (e *InterruptedError) withoutKeys() string { return e.text(false) }

// interruptedMark is how an interruption's recorded detail reads after its
// phase's name. shepherd_state keeps no other sign of an interruption, so
// the engine, which writes that detail, reads the state from it
// (wasInterrupted); every other layer asks PhaseInfo.Interrupted or
// PhaseStatus.Interrupted.
const interruptedMark = ": interrupted; "

// wasInterrupted reports whether a phase's recorded status and detail are an
// interruption's (Ctrl-C, a signal, a stopped TUI).
func wasInterrupted(status phases.Status, detail string) bool {
	return status == phases.Failed && interruptedDetail(detail)
}

// interruptedDetail reports whether a recorded detail (of a phase, or of
// its failure in the log) is an interruption's.
func interruptedDetail(detail string) bool { return strings.Contains(detail, interruptedMark) }

func (e *InterruptedError) text(keys bool) string {
	switch {
	case e.Checkpoint != "" && keys:
		return fmt.Sprintf("%s%sthe checkpoint is at %s and a rerun resumes from it", e.Phase, interruptedMark, e.Checkpoint)
	case e.Checkpoint != "":
		return fmt.Sprintf("%s%sthe checkpoint is kept and a rerun resumes from it", e.Phase, interruptedMark)
	}
	return fmt.Sprintf("%s%snothing of this phase was committed, a rerun starts it again", e.Phase, interruptedMark)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
