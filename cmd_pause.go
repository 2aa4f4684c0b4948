package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// `shepherd pause PLAN`, `shepherd resume PLAN` and `shepherd tune PLAN`:
// live control of a plan's runner from any machine, through the plan's
// state in its database (engine/control.go). The runner, wherever it runs,
// obeys before its next batch, within a second.

const controlLong = `
PLAN is a plan file or the name of a plan that has run in this database. The
request is written into the plan's state in the database (--db or
SHEPHERD_DB), with who asked in the plan's log (status --log): the runner at
work on the plan, on whatever machine, obeys before its next batch, within a
second. It holds only batched phases (backfill, switch-writes' catch-up,
rename's copy, clean), between two batches: no transaction is open and no row
lock is held while it waits. Exit codes: 0 done, 1 the database failed, 2 a
usage error.`

func newPauseCmd(g *globals) *cobra.Command {
	var operator string
	cmd := &cobra.Command{
		Use:   "pause PLAN",
		Short: "hold a plan's batches, from any machine, until resume (the next run holds too)",
		Long: `pause holds the plan's runner before its next batch, and every later run
of the plan before its first batch, until ` + "`shepherd resume PLAN`" + `: a runner
killed while paused does not lose the pause.` + controlLong,
		Example: `  shepherd pause plans/users-email.yaml --db "$DSN"
  shepherd pause users-email --operator "alice (incident 42)"`,
		Args: exactArgs(1, "one plan file or plan name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return controlPlan(cmd, g, args[0], func(ctx context.Context, eng *engine.Engine, plan string, st *engine.PlanStatus) error {
				before, err := eng.Pause(ctx, plan, engine.Requester{Operator: operator})
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if before.Paused {
					fmt.Fprintf(out, "%s was paused already (by %s at %s); paused again by you\n", plan, before.By, when(before.At))
				}
				if r := liveRunner(st); r != nil {
					fmt.Fprintf(out, "paused %s: its runner (%s, pid %d on %s) holds before its next batch; `shepherd resume %s` lets it go on\n", plan, r.Holder, r.PID, r.Host, plan)
					return nil
				}
				fmt.Fprintf(out, "paused %s: no runner is at work on it; the next run holds before its first batch until `shepherd resume %s`\n", plan, plan)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&operator, "operator", "", "who asks, for the log (default: OS user@host)")
	cmd.ValidArgsFunction = completePlanFiles
	return cmd
}

func newResumeCmd(g *globals) *cobra.Command {
	var operator string
	cmd := &cobra.Command{
		Use:     "resume PLAN",
		Short:   "let a paused plan's batches go on, from any machine",
		Long:    "resume lets the runner of a paused plan go on, within a second." + controlLong,
		Example: `  shepherd resume plans/users-email.yaml --db "$DSN"`,
		Args:    exactArgs(1, "one plan file or plan name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return controlPlan(cmd, g, args[0], func(ctx context.Context, eng *engine.Engine, plan string, st *engine.PlanStatus) error {
				before, err := eng.Resume(ctx, plan, engine.Requester{Operator: operator})
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if !before.Paused {
					fmt.Fprintf(out, "%s is not paused: nothing to resume\n", plan)
					return nil
				}
				fmt.Fprintf(out, "resumed %s (paused by %s at %s)", plan, before.By, when(before.At))
				if liveRunner(st) != nil {
					fmt.Fprint(out, ": its runner goes on within a second")
				}
				fmt.Fprintln(out)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&operator, "operator", "", "who asks, for the log (default: OS user@host)")
	cmd.ValidArgsFunction = completePlanFiles
	return cmd
}

func newTuneCmd(g *globals) *cobra.Command {
	var operator string
	var batchTime, maxLag time.Duration
	var maxRate float64
	var reset bool
	cmd := &cobra.Command{
		Use:   "tune PLAN (--batch-time D | --max-rate N | --max-replica-lag D | --reset)",
		Short: "change a running plan's batch time and rate cap, from any machine",
		Long: `tune changes the batch loop's settings of the plan's runner, wherever it
runs, within a second, and of the runs after it: --batch-time sizes batches to
that duration (even where the run pinned --batch-size), --max-rate caps the
rows per second (0 lifts the cap), --max-replica-lag is the replica lag batches
hold at. A tune holds until the next one; --reset goes back to each run's own
flags.` + controlLong,
		Example: `  # the database is busy: smaller batches, at most 500 rows a second
  shepherd tune plans/users-email.yaml --batch-time 20ms --max-rate 500

  # back to the run's own --batch-time and --max-rate
  shepherd tune users-email --reset`,
		Args: exactArgs(1, "one plan file or plan name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			var t engine.Tuning
			if fl.Changed("batch-time") {
				if batchTime <= 0 {
					return &flagError{errors.New("--batch-time must be positive")}
				}
				t.BatchTime = batchTime
			}
			if fl.Changed("max-rate") {
				if maxRate < 0 {
					return &flagError{errors.New("--max-rate must not be negative (0 lifts the cap)")}
				}
				t.MaxRate = &maxRate
			}
			if fl.Changed("max-replica-lag") {
				if maxLag <= 0 {
					return &flagError{errors.New("--max-replica-lag must be positive")}
				}
				t.MaxReplicaLag = maxLag
			}
			switch {
			case reset && t.Tuned():
				return &flagError{errors.New("--reset goes back to the run's own settings: give it alone")}
			case !reset && !t.Tuned():
				return &flagError{errors.New("tune needs --batch-time, --max-rate, --max-replica-lag or --reset")}
			}
			return controlPlan(cmd, g, args[0], func(ctx context.Context, eng *engine.Engine, plan string, st *engine.PlanStatus) error {
				after, err := eng.Tune(ctx, plan, engine.Requester{Operator: operator}, t, reset)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				what := after.Tuning.String()
				if liveRunner(st) != nil {
					fmt.Fprintf(out, "tuned %s: %s; its runner applies it within a second\n", plan, what)
				} else {
					fmt.Fprintf(out, "tuned %s: %s; no runner is at work on it: the next run starts with it\n", plan, what)
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&operator, "operator", "", "who asks, for the log (default: OS user@host)")
	fl.DurationVar(&batchTime, "batch-time", 0, "target duration of one batch")
	fl.Float64Var(&maxRate, "max-rate", 0, "cap the rows per second (0 lifts the cap)")
	fl.DurationVar(&maxLag, "max-replica-lag", 0, "the replica lag batches hold at")
	fl.BoolVar(&reset, "reset", false, "clear every tuning: each run's own flags hold again")
	cmd.ValidArgsFunction = completePlanFiles
	return cmd
}

// controlPlan opens the database and finds the plan the argument names (a
// plan file, or a name that has run here) and its status, for do.
func controlPlan(cmd *cobra.Command, g *globals, arg string, do func(ctx context.Context, eng *engine.Engine, plan string, st *engine.PlanStatus) error) error {
	targets, err := statusTargets([]string{arg})
	if err != nil {
		return err
	}
	name := arg
	if targets[0].plan != nil {
		name = targets[0].plan.Name
	}
	g.plan = name
	ctx := cmd.Context()
	eng, err := engine.Open(ctx, g.dsn())
	if err != nil {
		return err
	}
	defer eng.Close()
	all, err := eng.Status(ctx)
	if err != nil {
		return err
	}
	var st *engine.PlanStatus
	for i := range all {
		if all[i].Name == name {
			st = &all[i]
		}
	}
	if st == nil && targets[0].plan == nil {
		return unknownControlTarget(cmd.Name(), name, all)
	}
	return do(ctx, eng, name, st)
}

// unknownControlTarget is a plan name that no plan here has: a usage error
// (a plan file may name a plan that has not run yet; a name must be known).
func unknownControlTarget(cmd, name string, all []engine.PlanStatus) error {
	if len(all) == 0 {
		return &engine.UsageError{Msg: fmt.Sprintf("%s %s: no plan has run in this database, and there is no plan file %s here (give the plan file: a pause is recorded for its first run)", cmd, name, name)}
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	return &engine.UsageError{Msg: fmt.Sprintf("%s %s: this database has no plan named %s; its plans are %s (or give a plan file)", cmd, name, name, phases.WordList(names))}
}

func liveRunner(st *engine.PlanStatus) *engine.Runner {
	if st == nil || st.Runner == nil || !st.Runner.Alive {
		return nil
	}
	return st.Runner
}

func when(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.DateTime + " MST")
}
