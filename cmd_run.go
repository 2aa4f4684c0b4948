package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
)

// newRunCmd is `shepherd run PLAN`: the plan walked phase by phase, in the
// TUI or (--non-interactive) to the next gate that is not confirmed.
func newRunCmd(g *globals) *cobra.Command {
	f, ff := &runFlags{}, &fleetFlags{}
	cmd := &cobra.Command{
		Use:   "run PLAN",
		Short: "walk a plan: phase by phase, stopping at each gate until it is confirmed",
		Long: `run walks a plan phase by phase against the database (--db or SHEPHERD_DB).
In a terminal it opens the TUI. With --non-interactive it runs up to the next
gate that is not confirmed and stops there with exit 3, or up to --until; a
rerun goes on from the state recorded in the database.`,
		Example: `  # in the TUI
  shepherd run plans/users-email.yaml --db "$DSN"

  # a release job: up to the next gate (exit 3 there), as JSON lines
  shepherd run plans/users-email.yaml --non-interactive -o json

  # after the readers are deployed: confirm that gate and go on
  shepherd run plans/users-email.yaml --non-interactive --confirm deploy-readers

  # tell a chat channel when the run waits at a gate, fails or finishes
  shepherd run plans/users-email.yaml --non-interactive --notify "$SLACK_WEBHOOK_URL"`,
		Args: exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if on, err := ff.on(g); on || err != nil {
				return orFleet(err, func() error { return walkFleet(cmd, g, f, ff, args[0], false) })
			}
			return walk(cmd, g, f, args[0], false, func(ctx context.Context, sess *engine.Session) error {
				confirmed := map[string]bool{}
				for _, c := range f.confirm {
					confirmed[c] = true
				}
				outcome, err := sess.Run(ctx, f.until, confirmed)
				if err != nil {
					return err
				}
				if outcome == engine.AtGate {
					return errAtGate
				}
				return nil
			})
		},
	}
	f.define(cmd, runHelp{
		nonInteractive: "run without the TUI, for scripts and release jobs",
		output:         "text or json (one event a line)",
		batchSize:      "fixed backfill batch size (default: sized to --batch-time)",
		batchTime:      "target duration of one backfill batch",
		maxRate:        "cap the backfill at this many rows per second",
	})
	ff.define(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.until, "until", "", "stop after this phase")
	fl.StringSliceVar(&f.confirm, "confirm", nil, "confirm this gate (repeatable)")
	fl.DurationVar(&f.maxReplicaLag, "max-replica-lag", time.Second, maxReplicaLagHelp("a backfill"))
	fl.IntVar(&f.workers, "workers", 1, workersHelp)
	fl.BoolVar(&f.inPlace, "in-place", false, "on MariaDB, fill add-column's new column in place instead of by a copy of the table (slower, and it writes more, but it needs no room for a second copy and adds no triggers); elsewhere the fill is always in place")
	fl.StringVar(&f.notify, "notify", "", "with --non-interactive: POST a JSON message (Slack-compatible \"text\") to this webhook URL when the run waits at a gate, fails or finishes; a POST that fails is a warning, never a failed run")
	fl.DurationVar(&f.notifyTimeout, "notify-timeout", 5*time.Second, "how long the --notify POST may take")
	_ = cmd.RegisterFlagCompletionFunc("notify", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("until", completePhases)
	_ = cmd.RegisterFlagCompletionFunc("confirm", completeGates)
	return cmd
}
