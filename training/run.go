package training

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// The simulated clock: a step is the action, then at least minTicks ticks of
// traffic (a rolling deploy moves one replica a tick, so three replicas are
// all moved by the third tick and the fourth runs the new release
// everywhere); a step whose replicas are still starting runs on until they
// are done, up to maxTicks. Nothing sleeps: a tick is as long as its SQL.
const (
	minTicks = 4
	maxTicks = 30
	replicas = 3
	// raceBusyMS is how long an application request waits behind another
	// connection's write lock before it fails, as a request with a short
	// timeout would, in the lesson where replicas race for that lock.
	raceBusyMS = 5
	// appBusyMS is the same wait in the other lessons, where nothing holds
	// the write lock for long: a request waits out a lease renewal or a
	// batch rather than fail on it.
	appBusyMS = 500
)

// UsageError is an unknown lesson or action: nothing ran.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// StepResult is what one action did: the JSON line {"event":"step",…}.
type StepResult struct {
	Event  string `json:"event"`
	Lesson string `json:"lesson"`
	N      int    `json:"n"`
	Action string `json:"action"`
	// Expected is the safe sequence's action at this position.
	Expected string `json:"expected,omitempty"`
	OK       bool   `json:"ok"`
	// Refused: the action did not go through, and no application request
	// failed because of it: shepherd's own checks refused it (RefusedBy
	// "shepherd"), or the migration failed in the database and was rolled
	// back (RefusedBy "database"). It counts as a refused step, never as an
	// incident: an incident is something the application fleet really hit.
	Refused   bool   `json:"refused,omitempty"`
	RefusedBy string `json:"refused_by,omitempty"`
	// Rule and Why say, for a refused step, which rule of the seed the
	// order broke and what to do first.
	Rule string `json:"rule,omitempty"`
	Why  string `json:"why,omitempty"`
	// Messages say what happened, in order.
	Messages  []string `json:"messages"`
	Error     string   `json:"error,omitempty"`
	SQL       []string `json:"sql,omitempty"`
	Notices   []string `json:"notices,omitempty"`
	Fleet     []string `json:"fleet"`
	Ticks     int      `json:"ticks"`
	Traffic   stats    `json:"traffic"`
	Incidents int      `json:"incidents"`
}

// Incident is something the fleet really hit: the JSON line
// {"event":"incident",…}. Identical hits in one step, by one or more
// replicas running the same version, are one incident: Count is how many
// hits, Replicas who hit it, and Detail says both. The row, SQL and Error
// are from the first hit; Replica is the first to hit it.
type Incident struct {
	Event   string `json:"event"`
	Lesson  string `json:"lesson"`
	Step    int    `json:"step"`
	Tick    int    `json:"tick"`
	Kind    string `json:"kind"`
	Rule    string `json:"rule"`
	Detail  string `json:"detail"`
	Replica string `json:"replica,omitempty"`
	// Replicas are every replica that hit it, in the order they did.
	Replicas []string `json:"replicas,omitempty"`
	Version  string   `json:"version,omitempty"`
	SQL      string   `json:"sql,omitempty"`
	// Error is the database's own message.
	Error string `json:"error,omitempty"`
	Row   int64  `json:"row,omitempty"`
	Got   string `json:"got,omitempty"`
	Want  string `json:"want,omitempty"`
	// Count is how many hits the step had: every count of an incident is
	// per step.
	Count int `json:"count"`
	// Safe is the safe order, from the seed.
	Safe string `json:"safe"`
	// first says the first hit alone, as it happened: what a screen shows
	// when the incident is new, before the step's count is known.
	first string
}

// Score ends a lesson: the JSON line
// {"event":"score","incidents":N,"steps":[…],"safe":[…],…}. Those four
// fields come first, in that order, as issue 5 specifies the line.
type Score struct {
	Event     string   `json:"event"`
	Incidents int      `json:"incidents"`
	Steps     []string `json:"steps"`
	Safe      []string `json:"safe"`
	Lesson    string   `json:"lesson"`
	// Complete: the change is done and the fleet runs the final release.
	Complete bool   `json:"complete"`
	Requests int    `json:"requests"`
	Failed   int    `json:"failed_requests"`
	Refused  int    `json:"refused_steps"`
	Verdict  string `json:"verdict"`
}

// Run is one lesson in progress on its own sandbox.
type Run struct {
	L     *Lesson
	dir   string
	path  string
	sb    *engine.Sandbox
	sess  *engine.SandboxSession
	plan  *phases.Plan
	app   *sql.DB
	fleet *fleet
	emit  func(any)

	steps     []string
	tick      int
	cur       *stepRun
	total     stats
	incidents int
	refused   int
	done      map[string]bool
}

// stepRun is the step in progress.
type stepRun struct {
	action *Action
	res    StepResult
	msgs   []string
	// phasesDone counts the engine's phase-done events in the step.
	phasesDone int
	ticks      int
	inc        []*Incident
	byKey      map[string]*tally
	fresh      []*Incident
}

// tally is one incident of a step with its first hit and the lesson's
// diagnosis of that hit: the incident's detail is said again from them as
// more hits come.
type tally struct {
	inc   *Incident
	first occurrence
	why   string
}

// Start makes a lesson's sandbox and fleet. emit receives every StepResult,
// Incident and Score as it is final; it may be nil.
func Start(ctx context.Context, name string, emit func(any)) (*Run, error) {
	l, ok := Find(name)
	if !ok {
		return nil, &UsageError{Msg: fmt.Sprintf("no lesson %q; the lessons are: %s", name, strings.Join(LessonNames(), ", "))}
	}
	if emit == nil {
		emit = func(any) {}
	}
	r := &Run{L: l, emit: emit, done: map[string]bool{}}
	var err error
	if r.dir, err = os.MkdirTemp("", "shepherd-train-*"); err != nil {
		return nil, err
	}
	fail := func(err error) (*Run, error) { r.Close(); return nil, err }
	if r.path, err = makeSandbox(ctx, r.dir); err != nil {
		return fail(err)
	}
	if err := setupSandbox(ctx, r.path, l.setup); err != nil {
		return fail(err)
	}
	data, err := lessonPlan(l.plan)
	if err != nil {
		return fail(err)
	}
	if r.plan, err = phases.Parse("lesson:"+l.plan, data); err != nil {
		return fail(err)
	}
	if r.sb, err = engine.OpenSandbox(ctx, r.path); err != nil {
		return fail(err)
	}
	busy := appBusyMS
	if !l.session {
		busy = raceBusyMS
	}
	if r.app, err = openApp(r.path, busy); err != nil {
		return fail(err)
	}
	maxID := int64(sandboxUsers)
	if l.table == "orders" {
		maxID = 60
	}
	r.fleet = newFleet(l.versions, replicas, maxID)
	if l.table == "users" {
		for i := 1; i <= sandboxUsers; i++ {
			r.fleet.truth[int64(i)] = &rowTruth{vals: map[string]string{"name": personName(i)}, writer: "seed", cols: []string{"name"}}
		}
	}
	if l.session {
		if r.sess, err = r.sb.Start(ctx, r.plan, r.engineOptions("trainee")); err != nil {
			return fail(err)
		}
	}
	return r, nil
}

// Close ends the lesson and removes its sandbox.
func (r *Run) Close() {
	if r.fleet != nil {
		for _, rep := range r.fleet.replicas {
			if c, ok := rep.prog.(interface{ close() }); ok {
				c.close()
			}
		}
	}
	if r.sess != nil {
		r.sess.Close()
	}
	if r.app != nil {
		r.app.Close()
	}
	if r.sb != nil {
		r.sb.Close()
	}
	removeAll(r.dir)
}

func (r *Run) engineOptions(operator string) engine.Options {
	return engine.Options{Operator: operator, BatchSize: 20, LockTimeout: 200 * time.Millisecond, Emit: r.onEngine}
}

// onEngine turns the engine's events into the step's SQL, notices and
// messages.
func (r *Run) onEngine(e engine.Event) {
	c := r.cur
	if c == nil {
		return
	}
	switch e.Event {
	case engine.EventStep:
		c.res.SQL = append(c.res.SQL, oneLine(e.SQL))
	case engine.EventNotice:
		msg := e.Message
		if e.Notice == engine.NoticeTooSoon && r.fleet.minVersion() == len(r.fleet.versions)-1 {
			msg += " (in this sandbox every replica has run the last release for a whole step, so no running code uses the old column)"
		}
		c.res.Notices = append(c.res.Notices, msg)
	case engine.EventPhaseDone:
		c.phasesDone++
		c.msgs = append(c.msgs, fmt.Sprintf("%s done: %s", e.Phase, e.Message))
	case engine.EventGate:
		if ph, ok := r.plan.PlaybookDef().Phase(e.Phase); ok {
			msg := fmt.Sprintf("shepherd waits at the gate %s: %s", e.Phase, r.plan.Expand(ph.Deploy()))
			if !contains(c.msgs, msg) {
				c.msgs = append(c.msgs, msg)
			}
		}
	}
}

func (r *Run) say(format string, args ...any) {
	if r.cur != nil {
		r.cur.msgs = append(r.cur.msgs, fmt.Sprintf(format, args...))
	}
}

// did reports whether the trainee took an action in this lesson.
func (r *Run) did(action string) bool { return r.done[action] }

// actionRule is the rule of the action being taken.
func (r *Run) actionRule() string {
	if r.cur != nil && r.cur.action != nil && r.cur.action.rule != "" {
		return r.cur.action.rule
	}
	return r.L.Rules[0]
}

// Steps is the trainee's sequence so far.
func (r *Run) Steps() []string { return append([]string(nil), r.steps...) }

// Fleet describes each replica.
func (r *Run) Fleet() []string { return r.fleet.describe() }

// Step takes one action and runs its traffic to the end of the step.
func (r *Run) Step(ctx context.Context, action string) error {
	if err := r.Begin(ctx, action); err != nil {
		return err
	}
	for !r.StepDone() {
		r.Tick(ctx)
	}
	r.End(ctx)
	return nil
}

// Begin applies an action to the sandbox (through the engine, for real) and
// starts its step. The returned error is an unknown action: nothing ran.
func (r *Run) Begin(ctx context.Context, name string) error {
	a, ok := r.L.Action(name)
	if !ok {
		return &UsageError{Msg: fmt.Sprintf("lesson %s has no action %q; its actions are: %s", r.L.Name, name, strings.Join(r.L.ActionNames(), ", "))}
	}
	r.steps = append(r.steps, name)
	n := len(r.steps)
	r.cur = &stepRun{action: a, byKey: map[string]*tally{},
		res: StepResult{Event: "step", Lesson: r.L.Name, N: n, Action: name, OK: true}}
	if n <= len(r.L.Safe) {
		r.cur.res.Expected = r.L.Safe[n-1]
	}
	r.done[name] = true
	r.settle(a.apply(ctx, r), "")
	return nil
}

// settle records an action's error. Nothing the application ran failed
// because of it, so it is never an incident (those come from the fleet): a
// failed action is a refused step, whether shepherd's own checks refused it
// or the database refused the migration, which rolled back. A gate the
// lesson tried to confirm at the end of a step is a notice: the deploy
// itself went out.
func (r *Run) settle(err error, gate string) {
	if err == nil {
		return
	}
	var (
		ve *engine.VerifyError
		se *engine.SchemaError
		ue *engine.UsageError
		lh *engine.LockHeldError
		rf *phases.RefusedError
	)
	byShepherd := errors.As(err, &ve) || errors.As(err, &se) || errors.As(err, &ue) || errors.As(err, &lh) || errors.As(err, &rf)
	c := r.cur
	if gate != "" {
		if byShepherd {
			c.res.Notices = append(c.res.Notices, fmt.Sprintf("shepherd does not confirm %s yet: %s", gate, err))
		} else {
			c.res.Notices = append(c.res.Notices, fmt.Sprintf("shepherd could not confirm %s: %s", gate, dbError(err)))
		}
		return
	}
	c.res.OK, c.res.Refused, c.res.Error = false, true, err.Error()
	c.res.RefusedBy = "shepherd"
	if !byShepherd {
		c.res.RefusedBy = "database"
		c.res.Error = dbError(err)
	}
	c.res.Rule, c.res.Why = r.L.diagnose(r, occurrence{kind: "migration-failed", replica: "migration", err: err, tick: r.tick})
	r.refused++
}

// Tick advances the simulated clock by one tick: the rolling deploy moves a
// replica, starting replicas take one step, and every routed replica sends
// its requests. It returns the incidents first seen in this tick.
func (r *Run) Tick(ctx context.Context) []*Incident {
	c := r.cur
	r.tick++
	c.ticks++
	f := r.fleet
	f.tick = r.tick
	if f.target != nil {
		for f.rollIdx < len(f.replicas) && f.replicas[f.rollIdx].State == "retired" {
			f.rollIdx++
		}
		if f.rollIdx < len(f.replicas) {
			f.replicas[f.rollIdx].V = f.target
			f.rollIdx++
		}
		if f.rollIdx >= len(f.replicas) {
			r.say("%s is out everywhere", f.target)
			f.target = nil
		}
	}
	for _, rep := range f.replicas {
		if rep.prog != nil && c.ticks >= rep.startAt {
			if rep.prog.step(ctx, r, rep) {
				rep.prog = nil
			}
		}
	}
	f.serve(ctx, r.app, &c.res.Traffic, r.hit)
	fresh := c.fresh
	c.fresh = nil
	return fresh
}

// StepDone reports whether the step's traffic has run its course.
func (r *Run) StepDone() bool {
	c := r.cur
	if c.ticks >= maxTicks {
		return true
	}
	if c.ticks < minTicks || r.fleet.target != nil {
		return false
	}
	for _, rep := range r.fleet.replicas {
		if rep.prog != nil && rep.prog.blocking() {
			return false
		}
	}
	return true
}

// End finishes the step: deploys that are out everywhere confirm their
// gates, the step's result and incidents are emitted, and the result is
// returned.
func (r *Run) End(ctx context.Context) StepResult {
	c := r.cur
	// After a rollback the trainee is unwinding: confirming the gate again
	// would undo what they just rolled back.
	if r.sess != nil && c.action.Name != "rollback" {
		r.confirmDeployed(ctx)
	}
	if r.L.Name == "multi-replica" {
		r.afterRelease(ctx)
	}
	c.res.Messages = c.msgs
	if len(c.res.Messages) == 0 {
		c.res.Messages = []string{"nothing changed"}
	}
	c.res.Fleet = r.fleet.describe()
	c.res.Ticks = c.ticks
	c.res.Incidents = len(c.inc)
	r.total.Requests += c.res.Traffic.Requests
	r.total.Failed += c.res.Traffic.Failed
	r.emit(c.res)
	for _, inc := range c.inc {
		r.emit(*inc)
	}
	return c.res
}

// Current is the step in progress (or the last one).
func (r *Run) Current() (StepResult, []*Incident) {
	if r.cur == nil {
		return StepResult{}, nil
	}
	res := r.cur.res
	res.Messages = append([]string(nil), r.cur.msgs...)
	res.Fleet = r.fleet.describe()
	res.Ticks = r.cur.ticks
	return res, r.cur.inc
}

// confirmDeployed confirms each gate that is shepherd's next phase and whose
// deploy is out everywhere, as a pipeline does once the deploy finished: the
// gate's own database check runs (switch-writes' catch-up, switch-reads'
// comparison), and shepherd may still refuse.
func (r *Run) confirmDeployed(ctx context.Context) {
	pb := r.plan.PlaybookDef()
	for range pb.Phases {
		next, more := pb.Next(r.sess.Progress())
		if !more {
			return
		}
		k, isDeploy := r.L.gates[next.ID]
		if !isDeploy || r.fleet.minVersion() < k {
			return
		}
		if err := r.sess.RunPhase(ctx, next.ID); err != nil {
			r.settle(err, next.ID)
			return
		}
	}
}

// Score is the lesson's result so far.
func (r *Run) Score() Score {
	s := Score{Event: "score", Lesson: r.L.Name, Incidents: r.incidents, Steps: r.Steps(), Safe: r.L.Safe,
		Complete: r.L.complete(r), Requests: r.total.Requests, Failed: r.total.Failed, Refused: r.refused}
	if s.Steps == nil {
		s.Steps = []string{}
	}
	switch {
	case s.Complete && s.Incidents == 0:
		s.Verdict = "safe: the change is complete and the application never broke"
	case s.Complete:
		s.Verdict = fmt.Sprintf("complete, but the application hit %s on the way", plural(s.Incidents, "incident"))
	case s.Incidents == 0:
		s.Verdict = "no incidents so far, but the change is not complete"
	default:
		s.Verdict = fmt.Sprintf("not complete, and the application hit %s", plural(s.Incidents, "incident"))
	}
	return s
}

// Finish emits the score.
func (r *Run) Finish() Score {
	s := r.Score()
	r.emit(s)
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
