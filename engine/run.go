package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shepherd-db/shepherd/phases"
)

// Outcome is where a run stopped when it did not fail.
type Outcome int

const (
	// Reached: the target phase (or the last) is done.
	Reached Outcome = iota
	// AtGate: the next phase is a gate (or the point of no return) that
	// was not confirmed.
	AtGate
)

// Run drives the plan forward, phase by phase, until the phase until (every
// phase when empty) is done, a gate that confirmed does not hold is reached,
// or a phase fails. A failure is recorded and returned; rerunning resumes.
func (s *Session) Run(ctx context.Context, until string, confirmed map[string]bool) (Outcome, error) {
	var confirms []string
	for id := range confirmed {
		confirms = append(confirms, id)
	}
	if err := s.pb.CheckTargets(until, confirms); err != nil {
		return Reached, err
	}
	for {
		ph, more := s.pb.Next(s.progress())
		if !more {
			s.emit(Event{Event: EventDone, Message: fmt.Sprintf("every phase of %s is done", s.plan.Name)})
			return Reached, nil
		}
		if until != "" && s.pb.Index(ph.ID) > s.pb.Index(until) {
			s.emit(Event{Event: EventDone, Phase: until, Message: fmt.Sprintf("%s is done; stopping as --until asks", until)})
			return Reached, nil
		}
		if (ph.Gate || ph.Confirm) && !confirmed[ph.ID] {
			if err := s.Arrive(ctx, ph.ID); err != nil {
				return Reached, err
			}
			return AtGate, nil
		}
		// The old column goes one release after writes to it stopped: a
		// release job that confirms both in one run stops before the drop.
		if _, sameRun := s.touched[ph.OneReleaseAfter]; ph.OneReleaseAfter != "" && sameRun {
			s.notice(ph.ID, "not dropping %s in the run that confirmed %s: drop it one release later, when no running code can still use it", s.plan.OldColumn(), ph.OneReleaseAfter)
			if err := s.Arrive(ctx, ph.ID); err != nil {
				return Reached, err
			}
			return AtGate, nil
		}
		if err := s.RunPhase(ctx, ph.ID); err != nil {
			return Reached, err
		}
	}
}

// Gates lists the phases that need confirmation.
func (s *Session) Gates() []string { return s.pb.Gates() }

// Arrive records that a gate is waiting for its confirmation and says what
// it waits for.
func (s *Session) Arrive(ctx context.Context, id string) error {
	ph, _ := s.pb.Phase(id)
	if err := s.lock.held(ctx); err != nil {
		return s.lockLost(id, err)
	}
	if err := s.forgetCarry(ctx); err != nil {
		return err
	}
	ops := s.ops(id)
	if ops.arrive != nil {
		if err := ops.arrive(ctx, s); err != nil {
			return s.failed(ctx, id, err)
		}
	}
	if s.st(id).Status != phases.Waiting {
		if err := s.moveNow(ctx, id, phases.Arrive, ""); err != nil {
			return s.lockLost(id, err)
		}
	}
	if ops.arrivalWarning != nil && len(s.warnings) == 0 { // else said at the start
		if w := ops.arrivalWarning(ctx, s); w != "" {
			s.warn(id, "%s", w)
		}
	}
	msg := s.plan.Expand(ph.Does)
	if ph.Confirm {
		msg += " Confirm it with " + ConfirmFlag(id) + " when the previous release is out everywhere."
	} else {
		msg += " When the deploy is out everywhere, rerun with " + ConfirmFlag(id) + "."
	}
	s.emit(Event{Event: EventGate, Phase: id, Message: msg})
	return nil
}

// RunPhase runs one phase now: the next one, which must not be done. For a
// gate, calling it is the confirmation: the gate's database check runs, and
// the gate is done when it holds.
func (s *Session) RunPhase(ctx context.Context, id string) error {
	next, more := s.pb.Next(s.progress())
	if !more || next.ID != id {
		return &UsageError{Msg: fmt.Sprintf("%s is not the next phase of %s (next: %s)", id, s.plan.Name, next.ID)}
	}
	return s.execute(ctx, next, "confirmed by "+s.opts.Operator)
}

// execute runs a phase: the confirmation of a gate (logged with how it was
// confirmed), a fresh look at the table, the phase's work and verification,
// and the events around them.
func (s *Session) execute(ctx context.Context, ph phases.Phase, confirmation string) error {
	id := ph.ID
	// The runner lock first, before anything is written: a lock whose
	// session ended is taken again, or the run stops here if another
	// runner held it meanwhile.
	if err := s.lock.held(ctx); err != nil {
		return s.lockLost(id, err)
	}
	// Once the lock is known lost for good (its keep-alive finds another
	// runner holding it), the phase's statements are cancelled: the run
	// stops there, not at its next check.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.lock.watch(cancel)()
	// Nothing is written, not even the confirmation, while another plan's
	// copy is on the table (shadow_guard.go).
	if err := s.guardCopy(ctx, id); err != nil {
		return err
	}
	if err := s.forgetCarry(ctx); err != nil {
		return err
	}
	if ph.Gate || ph.Confirm {
		s.touched[id] = time.Now()
		if err := s.log(ctx, s.db, id, "confirm", "", confirmation); err != nil {
			return s.lockLost(id, err)
		}
	}
	if ph.OneReleaseAfter != "" {
		s.warnTooSoon(ctx, ph)
	}
	// Every phase re-reads the table: the application may have changed
	// it, and the rebuild on SQLite needs its exact definition.
	if err := s.refreshTable(ctx); err != nil {
		return err
	}
	start := time.Now()
	s.emit(Event{Event: EventPhaseStart, Phase: id, Message: s.plan.Expand(ph.Does)})
	prev := s.st(id).Status
	if err := s.moveNow(ctx, id, phases.Start, ""); err != nil {
		return s.lockLost(id, err)
	}
	if err := s.runPhase(ctx, ph, prev); err != nil {
		return s.failed(ctx, id, err)
	}
	s.emit(Event{Event: EventPhaseDone, Phase: id, Message: s.st(id).Detail, ElapsedMS: time.Since(start).Milliseconds()})
	return nil
}

// failed records a phase's failure and reports it. An interrupted phase
// keeps its checkpoint; so does a failed batch. Nothing is recorded when the
// runner lock is not this runner's any more: another runner may be at work,
// and the state is its to write.
func (s *Session) failed(ctx context.Context, id string, err error) error {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), waitsOf(ctx).pause(10*time.Second))
	herr := s.lock.held(hctx)
	cancel()
	var lost *LockLostError
	if errors.As(err, &lost) || errors.As(herr, &lost) || errors.As(context.Cause(ctx), &lost) {
		err = s.lockLost(id, lost)
		s.emit(Event{Event: EventPhaseFailed, Phase: id, Error: s.errorText(err)})
		return err
	}
	// An interrupt (Ctrl-C, a signal, a stopped TUI) can land anywhere: in
	// a statement waiting for its lock, in the pause before a retry, while
	// the run reconnects. Whatever error it left there (the context's, the
	// driver's cancelled statement, the lock timeout a retry gave up on),
	// the phase was interrupted, and is recorded so: a verification that
	// had failed already keeps its finding.
	var ie *InterruptedError
	if ctx.Err() != nil && !errors.As(err, &ie) && !errors.As(err, new(*VerifyError)) {
		err = s.interrupted(id)
	}
	// A statement the server cancelled says so, wherever it ran (the
	// batches, counts and DDL say which statement it was already).
	err = s.cancelled(stmtOther, 0, err)
	if herr != nil {
		s.emit(Event{Event: EventPhaseFailed, Phase: id, Error: s.errorText(err)})
		return fmt.Errorf("%w (not recorded as failed: whether the runner lock is still this runner's could not be checked: %v)", err, herr)
	}
	// The phase's transaction may have moved the in-memory state before
	// it rolled back: re-read what the database holds.
	_ = s.loadState(context.WithoutCancel(ctx))
	ev := Event{Event: EventPhaseFailed, Phase: id, Error: s.errorText(err)}
	var ve *VerifyError
	if errors.As(err, &ve) {
		ev.Count, ev.Sample = int64p(ve.Count), ve.Sample
		// A failed verification is not resumed but run again: a fresh
		// pass over the table, so that rows behind the checkpoint are
		// seen (the checkpoint is kept for interruptions and failed
		// batches only).
		if st := s.st(id); st.Checkpoint != nil {
			st.resetWalk()
		}
	}
	s.emit(ev)
	if !s.changed[id] && s.leftBehind(context.WithoutCancel(ctx), id) {
		s.markChanged(id)
	}
	if rerr := s.moveNow(context.WithoutCancel(ctx), id, phases.Fail, s.recordedDetail(err)); rerr != nil {
		if errors.As(rerr, &lost) { // found lost by the write itself: not recorded
			return s.lockLost(id, lost)
		}
		return fmt.Errorf("%w (and recording the failure failed too: %v)", err, rerr)
	}
	return err
}

// finishIn returns the finish step of a script: verify, then record the
// phase done in the same transaction.
func (s *Session) finishIn(id string, verify func(context.Context, querier) (string, error)) func(context.Context, querier) error {
	return func(ctx context.Context, q querier) error {
		detail, err := verify(ctx, q)
		if err != nil {
			return err
		}
		if err := s.lock.heldIn(ctx, q); err != nil {
			return err
		}
		// The move checks again, through q, that the lock is still this
		// runner's (see write): the phase's work commits only with its
		// record.
		return s.move(ctx, q, id, phases.Finish, detail)
	}
}

// finishNow verifies and records a phase done in its own transaction.
func (s *Session) finishNow(ctx context.Context, id string, verify func(context.Context, querier) (string, error)) error {
	detail, err := verify(ctx, s.db)
	if err != nil {
		return err
	}
	s.opts.Failpoint(id + ":finish")
	if err := s.lock.held(ctx); err != nil {
		return err
	}
	return s.moveNow(ctx, id, phases.Finish, detail)
}

// runPhase does a phase's work, as its playbook's unit says; prev is its
// status before this start. A gate with nothing of its own (a deploy the
// database cannot see) is done by its confirmation.
func (s *Session) runPhase(ctx context.Context, ph phases.Phase, prev phases.Status) error {
	if run := s.ops(ph.ID).run; run != nil {
		return run(ctx, s, s.builder(), prev)
	}
	if ph.Gate {
		return confirmedGate(ctx, s, ph.ID)
	}
	return fmt.Errorf("%s: no implementation for phase %s", s.plan.Playbook, ph.ID)
}

// warnTooSoon warns when the point of no return follows stop-old-writes
// (ph.OneReleaseAfter) within the same release (phases.TooSoon), or in
// the run that confirmed it: the seed drops the old column one release
// later.
func (s *Session) warnTooSoon(ctx context.Context, ph phases.Phase) {
	st := s.st(ph.OneReleaseAfter)
	_, sameRun := s.touched[ph.OneReleaseAfter]
	recent := st.FinishedAt != nil && phases.TooSoon(*st.FinishedAt, time.Now())
	if sameRun || recent {
		ago := "moments"
		if st.FinishedAt != nil {
			ago = time.Since(*st.FinishedAt).Round(time.Second).String()
		}
		s.emit(warning(ph.ID, NoticeTooSoon, fmt.Sprintf("%s was confirmed %s ago. Drop the old column one release later: a replica still running the previous release may read or write %s", ph.OneReleaseAfter, ago, s.plan.OldColumn())))
	}
}

// lockLost is err, a *LockLostError, as the error of the phase id; any other
// error is itself.
func (s *Session) lockLost(id string, err error) error {
	var lost *LockLostError
	if !errors.As(err, &lost) {
		return err
	}
	e := *lost // the lock keeps its own
	e.Phase = id
	return &e
}
