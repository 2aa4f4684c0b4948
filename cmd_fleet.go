package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/fleet"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
)

// --fleet FILE in place of --db on run, rollback, status and ready: one plan
// across the fleet file's targets (fleet/). Each target's state stays in its
// own database: `--db` on one of them still tells the truth and resumes it.

type fleetFlags struct {
	file   string
	group  string
	target string
	index  int
}

func (ff *fleetFlags) define(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&ff.file, "fleet", "", "a fleet file in place of --db: the plan on every target it names (see the README's Fleets)")
	fl.StringVar(&ff.group, "group", "", "with --fleet: only the targets of this group")
	fl.StringVar(&ff.target, "target", "", "with --fleet: only the target of this name")
	fl.IntVar(&ff.index, "target-index", -1, "with --fleet: only the target at this index (0-based, in run order; a Kubernetes Indexed Job's $JOB_COMPLETION_INDEX)")
}

// on reports whether the command runs on a fleet; the fleet's flags without
// --fleet, or --fleet with --db, are usage errors.
func (ff *fleetFlags) on(g *globals) (bool, error) {
	if ff.file == "" {
		if ff.group != "" || ff.target != "" || ff.index >= 0 {
			return false, &flagError{errors.New("--group, --target and --target-index select targets of a fleet: give --fleet FILE")}
		}
		return false, nil
	}
	if g.db != "" {
		return false, &flagError{errors.New("give --fleet FILE or --db DSN, not both")}
	}
	return true, nil
}

// load reads the fleet file and selects the targets the flags name.
func (ff *fleetFlags) load() (*fleet.Fleet, []fleet.Target, error) {
	fl, err := fleet.Load(ff.file, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	ts, err := fl.Select(ff.group, ff.index, ff.target)
	return fl, ts, err
}

// subset reports whether the flags select part of the fleet only.
func (ff *fleetFlags) subset() bool { return ff.group != "" || ff.target != "" || ff.index >= 0 }

// walkFleet is run's and rollback's --fleet: the plan on every target
// selected, without the TUI.
func walkFleet(cmd *cobra.Command, g *globals, f *runFlags, ff *fleetFlags, file string, rollback bool) error {
	if err := f.check(); err != nil {
		return err
	}
	if !f.nonInteractive {
		return &flagError{errors.New("--fleet runs without the TUI: add --non-interactive (and `shepherd status --fleet` shows the fleet)")}
	}
	if f.notify != "" {
		return &flagError{errors.New("--notify is not available with --fleet yet")}
	}
	plan, err := phases.Load(file)
	if err != nil {
		return err
	}
	g.plan = plan.Name
	if err := plan.PlaybookDef().CheckTargets(f.until, f.confirm); err != nil {
		return err
	}
	fl, targets, err := ff.load()
	if err != nil {
		return err
	}
	out := &fleetOut{w: cmd.OutOrStdout(), json: f.output == "json", plan: plan.Name, printers: map[string]*printer.Events{}}
	// A gate holds for the whole fleet. The gates every target has
	// reached already are passed at once; a part of the fleet (--group,
	// --target, --target-index) passes one only once every other target
	// has reached it.
	confirm, reached := f.confirm, []string(nil)
	if len(confirm) > 0 && !rollback {
		reached, _ = fleetReached(cmd.Context(), fl, fl.Targets, plan, confirm)
		if ff.subset() {
			var behind map[string][]string
			confirm, behind = fleetReached(cmd.Context(), fl, others(fl, targets), plan, confirm)
			for _, gate := range f.confirm {
				if names := behind[gate]; len(names) > 0 {
					out.say(engine.LevelInfo, fmt.Sprintf("--confirm %s: not passed: a gate holds for the whole fleet, and %d other target(s) have not reached it yet: %s", gate, len(names), phases.WordList(names)))
				}
			}
		}
	}
	results := fl.Run(cmd.Context(), targets, fleet.Config{
		Plan: plan, Until: f.until, Confirm: confirm, Reached: reached, Rollback: rollback,
		Options: f.options(nil), Emit: out.event, Say: out.say,
	})
	out.summary(results)
	return fleetError(results)
}

// fleetReached is, of the confirmed gates, those that every target of
// check has reached (waits at, or passed), with the targets behind the
// others; one look at each target for all the gates.
func fleetReached(ctx context.Context, fl *fleet.Fleet, check []fleet.Target, plan *phases.Plan, confirm []string) (kept []string, behind map[string][]string) {
	if len(confirm) == 0 {
		return nil, nil
	}
	notAt := make([][]string, len(check))
	errs := fl.Each(ctx, check, func(ctx context.Context, t fleet.Target, eng *engine.Engine) error {
		for _, gate := range confirm {
			if err := eng.Reached(ctx, plan.Name, gate); err != nil {
				notAt[t.Pos(check)] = append(notAt[t.Pos(check)], gate)
			}
		}
		return nil
	})
	behind = map[string][]string{}
	for i, t := range check {
		if errs[i] != nil {
			notAt[i] = confirm
		}
		for _, gate := range notAt[i] {
			behind[gate] = append(behind[gate], t.Name)
		}
	}
	for _, gate := range confirm {
		if len(behind[gate]) == 0 {
			kept = append(kept, gate)
		}
	}
	return kept, behind
}

// others are the fleet's targets outside the selection.
func others(fl *fleet.Fleet, selected []fleet.Target) []fleet.Target {
	var out []fleet.Target
	for _, t := range fl.Targets {
		if t.Pos(selected) < 0 {
			out = append(out, t)
		}
	}
	return out
}

// fleetError is the exit of a fleet run: 1 when a target failed (or was
// not started after one did), else 4 when another runner held a target,
// else 3 when the fleet waits at a gate, else 0.
func fleetError(results []fleet.Result) error {
	var failed, skipped []string
	var locked error
	gate := false
	for _, r := range results {
		switch r.Outcome {
		case fleet.Failed:
			failed = append(failed, r.Target.Name)
		case fleet.Skipped:
			skipped = append(skipped, r.Target.Name)
		case fleet.Locked:
			if locked == nil {
				locked = r.Err
			}
		case fleet.AtGate:
			gate = true
		}
	}
	switch {
	case len(failed) > 0:
		msg := fmt.Sprintf("%d of %d targets failed: %s", len(failed), len(results), phases.WordList(failed))
		if len(skipped) > 0 {
			msg += fmt.Sprintf("; %d not started, the fleet stopped at the failure (on_failure: stop)", len(skipped))
		}
		return errors.New(msg)
	case locked != nil:
		return fmt.Errorf("another runner holds a target: %w", locked)
	case len(skipped) > 0:
		return fmt.Errorf("%d targets not started: %s", len(skipped), phases.WordList(skipped))
	case gate:
		return errAtGate
	}
	return nil
}

// fleetOut prints a fleet run's events: each text line starts with its
// target's name; each JSON line has a "target" field. Every line is masked
// with its target's credentials.
type fleetOut struct {
	mu       sync.Mutex
	w        io.Writer
	json     bool
	plan     string
	printers map[string]*printer.Events
}

func (o *fleetOut) event(t fleet.Target, e engine.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		o.writeJSON(t, struct {
			Target string `json:"target"`
			engine.Event
		}{t.Name, e})
		return
	}
	p, ok := o.printers[t.Name]
	if !ok {
		p = printer.NewEvents(&prefixed{o: o, t: t}, "text")
		o.printers[t.Name] = p
	}
	p.Event(e)
}

func (o *fleetOut) writeJSON(t fleet.Target, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	_, _ = io.WriteString(o.w, t.Scrub(b.String()))
}

func (o *fleetOut) say(level engine.Level, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		o.writeJSON(fleet.Target{}, engine.Event{Event: engine.EventNotice, Plan: o.plan, Level: level, Message: msg, Time: engine.Now()})
		return
	}
	fmt.Fprintf(o.w, "fleet: %s\n", msg)
}

// summary says where each target ended.
func (o *fleetOut) summary(results []fleet.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	type row struct {
		Target  string        `json:"target"`
		Group   string        `json:"group,omitempty"`
		DB      string        `json:"db"`
		Outcome fleet.Outcome `json:"outcome"`
		Phase   string        `json:"phase,omitempty"`
		Error   string        `json:"error,omitempty"`
	}
	rows := []row{}
	for _, r := range results {
		rw := row{Target: r.Target.Name, Group: r.Target.Group, DB: r.Target.Short(), Outcome: r.Outcome, Phase: r.Phase}
		if r.Err != nil {
			rw.Error = r.Err.Error()
		}
		rows = append(rows, rw)
	}
	if o.json {
		o.writeJSON(fleet.Target{}, struct {
			Event   string           `json:"event"`
			Plan    string           `json:"plan"`
			Targets []row            `json:"targets"`
			Time    engine.Timestamp `json:"time"`
		}{"fleet", o.plan, rows, engine.Now()})
		return
	}
	n := fmt.Sprintf("%d targets", len(rows))
	if len(rows) == 1 {
		n = "1 target"
	}
	fmt.Fprintf(o.w, "fleet: %s on %s:\n", o.plan, n)
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		what := string(r.Outcome)
		switch {
		case r.Outcome == fleet.AtGate:
			what = "waiting at " + r.Phase
		case r.Outcome == fleet.RolledBack:
			what = "rolled back " + r.Phase
		case r.Error != "":
			what += ": " + r.Error
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Target, orDash(r.Group), r.DB, what)
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// prefixed writes a target's text lines, each behind the target's name.
// Its writes happen under fleetOut's lock.
type prefixed struct {
	o *fleetOut
	t fleet.Target
}

func (p *prefixed) Write(b []byte) (int, error) {
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			out.WriteString(p.t.Name + " " + line)
		}
	}
	_, err := io.WriteString(p.o.w, p.t.Scrub(out.String()))
	return len(b), err
}

// orFleet is err when the fleet's flags are wrong, else the fleet's command.
func orFleet(err error, fleetCmd func() error) error {
	if err != nil {
		return err
	}
	return fleetCmd()
}
