package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/fleet"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/tui"
)

// status --fleet and ready --fleet: what every target's database records.

// statusFleet shows the fleet's state: per plan, a matrix of targets ×
// phases (the TUI in a terminal, else text), or every target's plans
// (JSON).
func statusFleet(cmd *cobra.Command, ff *fleetFlags, args []string, asJSON, withLog bool) error {
	if withLog {
		return &flagError{errors.New("--log is for one database: give --db DSN (a target's log is in its own database)")}
	}
	wanted, err := statusTargets(args)
	if err != nil {
		return err
	}
	fl, targets, err := ff.load()
	if err != nil {
		return err
	}
	// In a terminal, without -o: the matrix on screen, read again every
	// few seconds.
	if !asJSON && !cmd.Flags().Changed("output") && interactive(cmd) {
		tuiHoldsTerminal(cmd.Context())
		return tui.RunFleet(cmd.Context(), tui.FleetConfig{File: ff.file, Fleet: fl, Targets: targets,
			Keep: func(plans []engine.PlanStatus) []engine.PlanStatus { return keepPlans(plans, wanted) }})
	}
	all := fl.Status(cmd.Context(), targets)
	for i := range all {
		all[i].Plans = keepPlans(all[i].Plans, wanted)
	}
	if asJSON {
		return fleetStatusJSON(cmd.OutOrStdout(), all)
	}
	fleetMatrix(cmd.OutOrStdout(), all, wanted)
	return nil
}

// keepPlans keeps the plans the arguments name (all without arguments); a
// plan file that has not started on a target shows every phase pending.
func keepPlans(plans []engine.PlanStatus, wanted []statusTarget) []engine.PlanStatus {
	if len(wanted) == 0 {
		return plans
	}
	out := []engine.PlanStatus{}
	for _, w := range wanted {
		named, _ := plansNamed(plans, w) // a name this target has no plan of: nothing to show
		out = append(out, named...)
	}
	return out
}

// fleetStatusJSON prints {"targets":[{"name","group","db","error","plans":[…]}]},
// each target's plans as `status -o json` prints them.
func fleetStatusJSON(w io.Writer, all []fleet.TargetStatus) error {
	type target struct {
		Name  string              `json:"name"`
		Group string              `json:"group,omitempty"`
		DB    string              `json:"db"`
		Error string              `json:"error,omitempty"`
		Plans []engine.PlanStatus `json:"plans"`
	}
	out := []target{}
	for _, s := range all {
		t := target{Name: s.Target.Name, Group: s.Target.Group, DB: s.Target.Short(), Plans: s.Plans}
		if t.Plans == nil {
			t.Plans = []engine.PlanStatus{}
		}
		if s.Err != nil {
			t.Error = s.Err.Error()
		}
		out = append(out, t)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(map[string]any{"targets": out})
}

// fleetMatrix prints, per plan, one row a target and one column a phase.
func fleetMatrix(w io.Writer, all []fleet.TargetStatus, wanted []statusTarget) {
	var names []string
	ids := map[string][]string{}
	about := map[string]string{}
	for _, s := range all {
		for _, p := range s.Plans {
			if _, ok := ids[p.Name]; !ok {
				names = append(names, p.Name)
				about[p.Name] = fmt.Sprintf("%s on %s", p.Playbook, p.Table)
				for _, ph := range p.Phases {
					ids[p.Name] = append(ids[p.Name], ph.ID)
				}
			}
		}
	}
	var unreachable []fleet.TargetStatus
	for _, s := range all {
		if s.Err != nil {
			unreachable = append(unreachable, s)
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(w, "no plan has run on the fleet's %d targets\n", len(all))
	}
	for n, name := range names {
		if n > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s)\n", name, about[name])
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "TARGET\tGROUP\tDATABASE\t%s\n", strings.ToUpper(strings.Join(ids[name], "\t")))
		for _, s := range all {
			if s.Err != nil {
				continue
			}
			cells := make([]string, len(ids[name]))
			for i := range cells {
				cells[i] = "-"
			}
			for _, p := range s.Plans {
				if p.Name != name {
					continue
				}
				for _, ph := range p.Phases {
					for i, id := range ids[name] {
						if id == ph.ID {
							cells[i] = string(ph.Status)
						}
					}
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Target.Name, orDash(s.Target.Group), s.Target.Short(), strings.Join(cells, "\t"))
		}
		_ = tw.Flush()
	}
	for _, s := range unreachable {
		fmt.Fprintf(w, "%s: state not read: %v\n", s.Target.Name, s.Err)
	}
}

// readyFleet is ready --fleet: yes (exit 0) once every target selected
// answers yes; with wait, polls until then or the timeout.
func readyFleet(cmd *cobra.Command, ff *fleetFlags, plan *phases.Plan, phase string, reached bool, look readyLook, wait bool, timeout, interval time.Duration, timeoutSet bool) error {
	fl, targets, err := ff.load()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	once := func(ctx context.Context) error {
		errs := fl.Each(ctx, targets, func(ctx context.Context, _ fleet.Target, eng *engine.Engine) error {
			return look(ctx, eng)
		})
		var why []string
		for i, err := range errs {
			if err != nil {
				why = append(why, fmt.Sprintf("%s: %s", targets[i].Name, strings.TrimPrefix(targets[i].Scrub(err.Error()), targets[i].Name+": ")))
			}
		}
		if len(why) > 0 {
			return &engine.NotReadyError{Reason: fmt.Sprintf("not ready on %d of %d targets: %s", len(why), len(targets), strings.Join(why, "; "))}
		}
		return nil
	}
	if !wait {
		if timeout == 0 {
			timeout = probeTimeout
		}
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		err = once(c)
	} else {
		if !timeoutSet {
			timeout = 0
		}
		err = pollFleet(ctx, cmd.ErrOrStderr(), once, timeout, interval)
	}
	if err != nil {
		return err
	}
	what := "phase " + phase + " of " + plan.Name + " is done"
	if reached {
		what = "a run of " + plan.Name + " has reached phase " + phase
	}
	fmt.Fprintf(cmd.OutOrStdout(), "ready: on every target (%d), %s\n", len(targets), what)
	return nil
}

// pollFleet calls once until it says yes, the timeout passes (0: none) or
// the command is interrupted, saying on w why it waits when that changes.
func pollFleet(ctx context.Context, w io.Writer, once func(context.Context) error, timeout, interval time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	said := ""
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		err := once(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() == nil && err.Error() != said {
			said = err.Error()
			fmt.Fprintf(w, "waiting: %s\n", said)
		}
		select {
		case <-ctx.Done():
			return &engine.NotReadyError{Reason: "not ready after waiting: " + said}
		case <-tick.C:
		}
	}
}
