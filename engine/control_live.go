package engine

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// controlEvery is how often a batch loop reads its plan's control row: at
// most once a second however small its batches, and as often while it is
// held, so that a resume takes effect within a second.
const controlEvery = time.Second

// liveControl is a batch loop's side of live control: before each batch it
// holds while the operator's Pauser (the TUI) or the plan's control row
// (`shepherd pause`, from anywhere) says so, and applies the row's tuning
// to the loop's sizer and pacer.
type liveControl struct {
	s     *Session
	phase string
	z     *sizer
	pace  *pacer
	read  time.Time // when the row was last read; zero: never
	cur   Control
	// tuned is the tuning applied to the loop, as the row had it.
	tuned  Tuning
	warned bool // a failed read was reported; reported again once it reads
}

func (s *Session) newLiveControl(phase string, z *sizer, pace *pacer) *liveControl {
	return &liveControl{s: s, phase: phase, z: z, pace: pace}
}

// between runs before each batch: no transaction is open and no row lock
// is held while it waits, only the runner lock, and the checkpoint is the
// last finished batch. It reports a hold as paused and resumed events (and
// a remote one in shepherd_log), and returns how long it held, so that
// rows per second leave the pause out, or the context's error when the run
// is stopped while held (its only error).
func (c *liveControl) between(ctx context.Context, rowsDone int64, checkpoint *string) (time.Duration, error) {
	s := c.s
	if err := c.refresh(ctx, false); err != nil {
		return 0, err
	}
	var waited time.Duration
	shown := "" // the hold last reported: "", "local" or "remote"
	for {
		var local <-chan struct{}
		if s.opts.Pause != nil {
			local = s.opts.Pause.Hold()
		}
		if local == nil && !c.cur.Paused {
			if waited > 0 {
				msg := "resumed after " + waited.Round(time.Second).String()
				if shown == "remote" {
					msg += " by " + c.cur.By
					c.logHold(ctx, "resumed", msg)
				}
				s.emit(Event{Event: EventResumed, Phase: c.phase, RowsDone: int64p(rowsDone), Message: msg, By: c.byIf(shown == "remote")})
			}
			return waited, nil
		}
		reason := "local"
		if c.cur.Paused {
			reason = "remote"
		}
		if reason != shown {
			shown = reason
			cp := ""
			if checkpoint != nil {
				cp = s.checkpointShown(*checkpoint)
			}
			msg := "paused between batches: no transaction is open on " + s.plan.Table
			if reason == "remote" {
				msg = fmt.Sprintf("paused by %s at %s: holding between batches, no transaction open on %s, until `shepherd resume %s`",
					c.cur.By, c.cur.At.UTC().Format(time.DateTime+" MST"), s.plan.Table, s.plan.Name)
				c.logHold(ctx, "paused", fmt.Sprintf("held at %d rows: %s", rowsDone, msg))
			}
			s.emit(Event{Event: EventPaused, Phase: c.phase, RowsDone: int64p(rowsDone), Checkpoint: cp, Message: msg, By: c.byIf(reason == "remote")})
		}
		start := time.Now()
		t := time.NewTimer(controlEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return waited + time.Since(start), ctx.Err()
		case <-local: // nil while only the row holds: never ready
		case <-t.C:
		}
		t.Stop()
		waited += time.Since(start)
		if err := c.refresh(ctx, true); err != nil {
			return waited, err
		}
	}
}

// logHold records in shepherd_log that the runner obeyed a pause or a
// resume. A write that fails is a warning: the hold is the request's, and
// the request is logged already; the next batch meets the database anyway.
func (c *liveControl) logHold(ctx context.Context, event, detail string) {
	if err := c.s.log(ctx, c.s.db, c.phase, event, "", detail); err != nil && ctx.Err() == nil {
		c.s.warn(c.phase, "could not log the %s in shepherd_log: %v", event, err)
	}
}

func (c *liveControl) byIf(remote bool) string {
	if remote {
		return c.cur.By
	}
	return ""
}

// refresh reads the control row, unless it was read less than controlEvery
// ago (force: while held, when that much has passed anyway), and applies a
// tuning that changed. A read that fails is a warning, once: the loop goes
// on as it was (its next batch meets the same database anyway).
func (c *liveControl) refresh(ctx context.Context, force bool) error {
	if !force && !c.read.IsZero() && time.Since(c.read) < controlEvery {
		return nil
	}
	c.read = time.Now()
	ctl, err := c.s.Control(ctx, c.s.plan.Name)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.warned {
			c.s.warn(c.phase, "could not read the plan's pause and tune requests (shepherd_control): %v; going on as before, and trying again in a second", err)
			c.warned = true
		}
		return nil
	}
	c.warned = false
	c.cur = ctl
	if sameTuning(ctl.Tuning, c.tuned) {
		return nil
	}
	c.apply(ctl)
	return nil
}

func sameTuning(a, b Tuning) bool {
	if a.BatchTime != b.BatchTime || a.MaxReplicaLag != b.MaxReplicaLag || (a.MaxRate == nil) != (b.MaxRate == nil) {
		return false
	}
	return a.MaxRate == nil || *a.MaxRate == *b.MaxRate
}

// apply sets the loop's batch sizing and rate cap to the row's tuning, or
// back to the runner's own flags where it has none, and says so.
func (c *liveControl) apply(ctl Control) {
	s, t := c.s, ctl.Tuning
	c.tuned = t
	now := time.Now()
	if t.BatchTime > 0 {
		c.z.fixed, c.z.target = false, t.BatchTime
	} else if own := newSizer(s.opts); own.fixed != c.z.fixed || own.target != c.z.target {
		c.z.fixed, c.z.target = own.fixed, own.target
		if own.fixed {
			c.z.n = own.n
		}
	}
	maxRate := s.opts.MaxRate
	if t.MaxRate != nil {
		maxRate = *t.MaxRate
	}
	c.pace.setRate(maxRate, now)
	s.tunedReplicaLag = t.MaxReplicaLag // 0: the run's own --max-replica-lag
	what := t.String()
	if !t.Tuned() {
		what = "back to the runner's own settings"
	}
	s.emit(Event{Event: EventNotice, Level: LevelInfo, Phase: c.phase, By: ctl.TunedBy,
		Message: fmt.Sprintf("tuned by %s: %s", ctl.TunedBy, what)})
}

// setRate changes the cap of a walk under way: 0 lifts it. A new cap
// starts with an empty bucket, as a walk's first does.
func (p *pacer) setRate(maxRate float64, now time.Time) {
	if p.share > 1 {
		maxRate /= p.share // one worker's share
	}
	if maxRate <= 0 {
		p.lim, p.burst = nil, 0
		return
	}
	burst := max(1, int(min(math.Ceil(maxRate), maxBatch)))
	if p.lim == nil {
		p.lim = rate.NewLimiter(rate.Limit(maxRate), burst)
		p.lim.AllowN(now, burst)
	} else {
		p.lim.SetLimitAt(now, rate.Limit(maxRate))
		p.lim.SetBurstAt(now, burst)
	}
	p.burst = burst
}
