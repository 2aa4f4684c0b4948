package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/internal/version"
)

// Live control: `shepherd pause`, `resume` and `tune` write what they ask
// into shepherd_control, in the database the plan changes, from any machine;
// the runner at work on the plan, wherever it runs, reads that row between
// batches (at most once a second, pause.go) and obeys. The row outlives the
// runner: a plan paused stays paused for the next run, and a tune holds
// until the next tune or a reset.

// Control is what pause, resume and tune last asked of a plan: one row of
// shepherd_control.
type Control struct {
	// Paused is whether the plan is paused; By and At say who paused or
	// resumed it last, and when.
	Paused bool
	By     string
	At     *time.Time
	// Tuning is the batch loop's settings a tune changed; TunedBy and
	// TunedAt say who and when.
	Tuning
	TunedBy string
	TunedAt *time.Time
}

// Tuning is what a tune sets: a zero duration or a nil rate is not tuned
// (the runner's own flag holds).
type Tuning struct {
	// BatchTime is the target duration of one batch: batches are sized to
	// it, even where the runner pinned --batch-size.
	BatchTime time.Duration
	// MaxRate caps the rows per second; 0 is no cap.
	MaxRate *float64
	// MaxReplicaLag is the replica lag batches hold at.
	MaxReplicaLag time.Duration
}

// Tuned reports whether the tuning sets anything.
func (t Tuning) Tuned() bool {
	return t.BatchTime > 0 || t.MaxRate != nil || t.MaxReplicaLag > 0
}

// String says what the tuning sets, in flag words: "batch time 200ms, max
// rate 50 rows/s".
func (t Tuning) String() string {
	var parts []string
	if t.BatchTime > 0 {
		parts = append(parts, "batch time "+t.BatchTime.String())
	}
	if t.MaxRate != nil {
		if *t.MaxRate > 0 {
			parts = append(parts, fmt.Sprintf("max rate %g rows/s", *t.MaxRate))
		} else {
			parts = append(parts, "no max rate")
		}
	}
	if t.MaxReplicaLag > 0 {
		parts = append(parts, "max replica lag "+t.MaxReplicaLag.String())
	}
	if len(parts) == 0 {
		return "the runner's own settings"
	}
	return strings.Join(parts, ", ")
}

// MarshalJSON writes the control as `status --output json` shows it:
// durations as text ("200ms"), times in RFC 3339.
func (c Control) MarshalJSON() ([]byte, error) {
	type out struct {
		Paused        bool       `json:"paused"`
		By            string     `json:"by,omitempty"`
		At            *time.Time `json:"at,omitempty"`
		BatchTime     string     `json:"batch_time,omitempty"`
		MaxRate       *float64   `json:"max_rate,omitempty"`
		MaxReplicaLag string     `json:"max_replica_lag,omitempty"`
		TunedBy       string     `json:"tuned_by,omitempty"`
		TunedAt       *time.Time `json:"tuned_at,omitempty"`
	}
	o := out{Paused: c.Paused, By: c.By, At: c.At, MaxRate: c.MaxRate, TunedBy: c.TunedBy, TunedAt: c.TunedAt}
	if c.BatchTime > 0 {
		o.BatchTime = c.BatchTime.String()
	}
	if c.MaxReplicaLag > 0 {
		o.MaxReplicaLag = c.MaxReplicaLag.String()
	}
	return json.Marshal(o)
}

// Requester is who asks for a pause, resume or tune, for shepherd_log.
type Requester struct {
	// Operator is who asks; default user@host, as a run's.
	Operator string
	// Version is which shepherd asks; default this binary's.
	Version string
}

func (r Requester) withDefaults() Requester {
	if r.Operator == "" {
		r.Operator = defaultOperator()
	}
	if r.Version == "" {
		r.Version = version.Get().Short()
	}
	return r
}

// Control reads what pause, resume and tune last asked of a plan: the zero
// Control where nothing was asked. shepherd_control must be there: a run
// makes it, and so do Pause, Resume and Tune.
func (e *Engine) Control(ctx context.Context, plan string) (Control, error) {
	all, err := e.readControls(ctx, "control-get", map[string]any{"plan": plan})
	return all[plan], err
}

// controls reads every plan's control row, for Status; nil when the table
// is not there (an older shepherd's state: reading never writes).
func (e *Engine) controls(ctx context.Context) (map[string]Control, error) {
	var n int64
	if err := e.queryRow(ctx, e.db, "control-exists", nil, nil, &n); err != nil {
		return nil, fmt.Errorf("look for shepherd_control: %w", e.dsn.scrub(err))
	}
	if n == 0 {
		return nil, nil
	}
	return e.readControls(ctx, "control-list", nil)
}

func (e *Engine) readControls(ctx context.Context, name string, vals map[string]any) (map[string]Control, error) {
	rows, err := e.query(ctx, e.db, name, nil, vals)
	if err != nil {
		return nil, fmt.Errorf("read shepherd_control: %w", e.dsn.scrub(err))
	}
	defer rows.Close()
	out := map[string]Control{}
	for rows.Next() {
		var plan string
		var c Control
		var by, tunedBy sql.NullString
		var at, tunedAt any
		var batchMS, lagMS sql.NullInt64
		var maxRate sql.NullFloat64
		if err := rows.Scan(&plan, &c.Paused, &by, &at, &batchMS, &maxRate, &lagMS, &tunedBy, &tunedAt); err != nil {
			return nil, fmt.Errorf("read shepherd_control: %w", e.dsn.scrub(err))
		}
		c.By, c.At, c.TunedBy, c.TunedAt = by.String, parseTime(at), tunedBy.String, parseTime(tunedAt)
		c.BatchTime = time.Duration(batchMS.Int64) * time.Millisecond
		c.MaxReplicaLag = time.Duration(lagMS.Int64) * time.Millisecond
		if maxRate.Valid {
			c.MaxRate = &maxRate.Float64
		}
		out[plan] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read shepherd_control: %w", e.dsn.scrub(err))
	}
	return out, nil
}

// Pause asks the runner of a plan, wherever it runs, to hold before its
// next batch, and every later run to hold before its first, until Resume.
// It returns the control as it was before.
func (e *Engine) Pause(ctx context.Context, plan string, r Requester) (Control, error) {
	return e.setPaused(ctx, plan, r, true)
}

// Resume lets a paused plan's runner go on. It returns the control as it
// was before: not Paused, and nothing was written.
func (e *Engine) Resume(ctx context.Context, plan string, r Requester) (Control, error) {
	return e.setPaused(ctx, plan, r, false)
}

func (e *Engine) setPaused(ctx context.Context, plan string, r Requester, paused bool) (Control, error) {
	r = r.withDefaults()
	if err := e.ensureState(ctx); err != nil {
		return Control{}, err
	}
	before, err := e.Control(ctx, plan)
	if err != nil || (!paused && !before.Paused) {
		return before, err
	}
	event, detail := "pause", "asked the runner to hold before its next batch (a run that starts later holds before its first) until `shepherd resume "+plan+"`"
	if !paused {
		event, detail = "resume", "asked the runner to go on"
		if before.At != nil {
			detail += fmt.Sprintf(" (paused by %s at %s)", before.By, before.At.UTC().Format(time.DateTime+" MST"))
		}
	}
	err = e.controlWrite(ctx, plan, r, "control-pause", sqlData{}, map[string]any{"paused": paused}, event, detail)
	return before, err
}

// Tune sets the batch loop's settings of a plan's runner, wherever it
// runs, and of the runs after it; reset clears every tuning (the runners'
// own flags hold again). It returns the control as it is after.
func (e *Engine) Tune(ctx context.Context, plan string, r Requester, t Tuning, reset bool) (Control, error) {
	r = r.withDefaults()
	if err := e.ensureState(ctx); err != nil {
		return Control{}, err
	}
	vals := map[string]any{"batch_time_ms": nil, "max_rate": nil, "max_replica_lag_ms": nil}
	if t.BatchTime > 0 {
		vals["batch_time_ms"] = max(t.BatchTime.Milliseconds(), 1)
	}
	if t.MaxRate != nil {
		vals["max_rate"] = *t.MaxRate
	}
	if t.MaxReplicaLag > 0 {
		vals["max_replica_lag_ms"] = max(t.MaxReplicaLag.Milliseconds(), 1)
	}
	var data sqlData
	detail := "asked the runner for " + t.String()
	if reset {
		data.Cond, detail = "reset", "asked the runner to go back to its own settings"
	}
	if err := e.controlWrite(ctx, plan, r, "control-tune", data, vals, "tune", detail); err != nil {
		return Control{}, err
	}
	return e.Control(ctx, plan)
}

// controlWrite writes a control row and its shepherd_log entry in one
// transaction. It takes no runner lock: a runner may hold it, and the row
// is the runner's to read, never to write.
func (e *Engine) controlWrite(ctx context.Context, plan string, r Requester, name string, data sqlData, vals map[string]any, event, detail string) error {
	now := e.d.timeValue(ptr(time.Now()))
	vals["plan"], vals["by"], vals["at"] = plan, r.Operator, now
	var tx *sql.Tx
	err := e.retryLocked(ctx, true, func() error {
		var err error
		tx, err = e.db.BeginTx(ctx, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", event, plan, e.dsn.scrub(err))
	}
	defer tx.Rollback()
	if _, err := e.exec(ctx, tx, name, data, vals); err != nil {
		return fmt.Errorf("%s %s: write shepherd_control: %w", event, plan, e.dsn.scrub(err))
	}
	if _, err := e.exec(ctx, tx, "log-append", nil, map[string]any{
		"at": now, "plan": plan, "phase": "", "event": event, "actor": r.Operator,
		"sql": nil, "detail": detail, "version": r.Version,
	}); err != nil {
		return fmt.Errorf("%s %s: append to shepherd_log: %w", event, plan, e.dsn.scrub(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s %s: %w", event, plan, e.dsn.scrub(err))
	}
	return nil
}

// ensureState makes shepherd's tables where they are missing (pause may
// come before any run here), as a run does.
func (e *Engine) ensureState(ctx context.Context) error {
	return (&Session{Engine: e}).ensureStateTables(ctx)
}

// withControls adds each plan's control row to its status.
func (e *Engine) withControls(ctx context.Context, plans []PlanStatus) ([]PlanStatus, error) {
	all, err := e.controls(ctx)
	if err != nil || len(all) == 0 {
		return plans, err
	}
	for i := range plans {
		if c, ok := all[plans[i].Name]; ok && (c.Paused || c.Tuned()) {
			plans[i].Control = &c
		}
	}
	return plans, nil
}
