package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// Outcome is where one target's part of a fleet run ended.
type Outcome string

const (
	Reached    Outcome = "done"        // the end of the plan, or --until
	AtGate     Outcome = "waiting"     // waits at a gate (Result.Phase)
	Failed     Outcome = "failed"      // a step failed, or the database did not answer
	Locked     Outcome = "locked"      // another runner holds the plan's lock
	Skipped    Outcome = "skipped"     // not started: the fleet stopped at a failure
	RolledBack Outcome = "rolled-back" // rollback: its last reversible phase reverted
)

// Result is one target's part of a fleet run.
type Result struct {
	Target  Target
	Outcome Outcome
	// Phase is the gate a target waits at, or the phase a rollback
	// reverted.
	Phase string
	// Err is why the target failed or was locked, its credentials masked.
	Err error
}

// Config is one fleet run of a plan.
type Config struct {
	Plan    *phases.Plan
	Until   string
	Confirm []string
	// Reached are the confirmed gates every target of the fleet has
	// reached already: passed at once.
	Reached []string
	// Rollback reverts each target's last reversible phase instead, the
	// groups in reverse order (the canary last).
	Rollback bool
	// Options tune each target's session; their Emit is replaced by Emit.
	Options engine.Options
	// Emit receives every target's events, from the goroutine that runs
	// the target: it must be safe for concurrent use.
	Emit func(Target, engine.Event)
	// Say receives what the fleet itself has to say (a gate held for the
	// fleet, targets skipped).
	Say func(level engine.Level, msg string)
}

// Run walks the plan on the targets, group by group (a group's targets at
// most Concurrency at once), as far as a fleet may go: a gate is a deploy
// for the whole fleet, so a confirmed gate is passed only once every target
// still in the run waits at it; until then each target stops there. Under
// the stop policy a failure starts no further target (those at work finish
// their step); under continue, the failed targets stay behind and the rest
// go on. Results are in the targets' order.
func (f *Fleet) Run(ctx context.Context, targets []Target, cfg Config) []Result {
	r := &run{f: f, cfg: cfg, pb: cfg.Plan.PlaybookDef(), results: make([]Result, len(targets))}
	for i, t := range targets {
		r.results[i] = Result{Target: t, Outcome: Skipped}
	}
	all := make([]int, len(targets))
	for i := range all {
		all[i] = i
	}
	if cfg.Rollback {
		r.round(ctx, all, nil)
		return r.results
	}
	confirm := map[string]bool{}
	for _, c := range cfg.Confirm {
		confirm[c] = true
	}
	allowed := map[string]bool{} // gates passed in this run, fleet-wide
	for _, g := range cfg.Reached {
		if confirm[g] {
			allowed[g] = true
		}
	}
	pending := all
	for {
		r.round(ctx, pending, allowed)
		if r.stopped() {
			break
		}
		// The fleet is at its earliest gate: the targets waiting there go
		// on when it is confirmed; those ahead wait for them.
		gate, at := r.frontier()
		if gate == "" || !confirm[gate] || allowed[gate] {
			break
		}
		if ph, _ := r.pb.Phase(gate); ph.OneReleaseAfter != "" && allowed[ph.OneReleaseAfter] {
			r.say(engine.LevelWarning, fmt.Sprintf("warning: not passing %s in the run that confirmed %s: it comes one release later, on every target", gate, ph.OneReleaseAfter))
			break
		}
		allowed[gate] = true
		pending = at
	}
	r.sayUnreached(confirm, allowed)
	return r.results
}

type run struct {
	f       *Fleet
	cfg     Config
	pb      *phases.Playbook
	mu      sync.Mutex
	results []Result
	failed  bool
}

func (r *run) say(level engine.Level, msg string) {
	if r.cfg.Say != nil {
		r.cfg.Say(level, msg)
	}
}

// stopped reports whether a failure ends the fleet's run.
func (r *run) stopped() bool {
	return r.failed && r.f.OnFailure == Stop
}

// frontier is the earliest gate a target waits at, and the targets that
// wait there.
func (r *run) frontier() (string, []int) {
	gate, best := "", -1
	var at []int
	for i, res := range r.results {
		if res.Outcome != AtGate {
			continue
		}
		idx := r.pb.Index(res.Phase)
		switch {
		case best < 0 || idx < best:
			gate, best, at = res.Phase, idx, []int{i}
		case idx == best:
			at = append(at, i)
		}
	}
	return gate, at
}

// sayUnreached names the confirmed gates the fleet did not pass because a
// target had not reached them.
func (r *run) sayUnreached(confirm, allowed map[string]bool) {
	for _, g := range slices.Sorted(maps.Keys(confirm)) {
		if allowed[g] {
			continue
		}
		var behind []string
		for _, res := range r.results {
			past := res.Outcome == Reached || (res.Outcome == AtGate && r.pb.Index(res.Phase) >= r.pb.Index(g))
			if !past {
				behind = append(behind, res.Target.Name)
			}
		}
		if len(behind) > 0 {
			r.say(engine.LevelInfo, fmt.Sprintf("--confirm %s: not passed: a gate holds for the whole fleet, and %s not reached it yet: %s",
				g, map[bool]string{true: "one target has", false: fmt.Sprintf("%d targets have", len(behind))}[len(behind) == 1], phases.WordList(behind)))
		}
	}
}

// round runs the targets at indexes idx once each, group by group.
func (r *run) round(ctx context.Context, idx []int, allowed map[string]bool) {
	groups := slices.Clone(r.f.Groups)
	groups = append(groups, "")
	if r.cfg.Rollback {
		slices.Reverse(groups)
	}
	for _, g := range groups {
		var mine []int
		for _, i := range idx {
			if r.results[i].Target.Group == g {
				mine = append(mine, i)
			}
		}
		r.group(ctx, mine, maps.Clone(allowed))
	}
}

// group runs targets at most Concurrency at once; under the stop policy no
// target starts once one has failed.
func (r *run) group(ctx context.Context, idx []int, allowed map[string]bool) {
	sem := make(chan struct{}, max(r.f.Concurrency, 1))
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		r.mu.Lock()
		stop := r.stopped()
		r.mu.Unlock()
		if stop || ctx.Err() != nil {
			// Not started: it stays where the last round left it
			// (skipped, in the first).
			<-sem
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := r.one(ctx, r.results[i].Target, allowed)
			r.mu.Lock()
			r.results[i] = res
			if res.Outcome == Failed || res.Outcome == Locked {
				r.failed = true
			}
			r.mu.Unlock()
		}()
	}
	wg.Wait()
}

// one walks the plan on one target, in a session of its own.
func (r *run) one(ctx context.Context, t Target, allowed map[string]bool) Result {
	res := Result{Target: t}
	fail := func(err error) Result {
		res.Outcome = Failed
		var held *engine.LockHeldError
		if errors.As(err, &held) {
			res.Outcome = Locked
		}
		res.Err = &targetError{target: t.Name, msg: t.Scrub(engine.ErrorText(err)), err: err}
		return res
	}
	opts := r.cfg.Options
	opts.Emit = func(e engine.Event) {
		if r.cfg.Emit != nil {
			r.cfg.Emit(t, e)
		}
	}
	eng, err := engine.Open(ctx, t.DSN())
	if err != nil {
		return fail(err)
	}
	defer eng.Close()
	sess, err := eng.Start(ctx, r.cfg.Plan, opts)
	if err != nil {
		return fail(err)
	}
	defer sess.Close()
	if r.cfg.Rollback {
		ph, err := sess.Rollback(ctx)
		if err != nil {
			return fail(err)
		}
		res.Outcome, res.Phase = RolledBack, ph.ID
		return res
	}
	out, err := sess.Run(ctx, r.cfg.Until, allowed)
	if err != nil {
		return fail(err)
	}
	res.Outcome = Reached
	if out == engine.AtGate {
		res.Outcome = AtGate
		if ph, ok := r.pb.Next(sess.Progress()); ok {
			res.Phase = ph.ID
		}
	}
	return res
}

// targetError is one target's failure, its credentials masked; Unwrap
// gives the engine's error (a *engine.LockHeldError is exit 4).
type targetError struct {
	target, msg string
	err         error
}

func (e *targetError) Error() string { return e.target + ": " + e.msg }
func (e *targetError) Unwrap() error { return e.err }
