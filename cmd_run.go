package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
)

// newRunCmd is `shepherd run PLAN`: the plan walked phase by phase, in the
// TUI or (--non-interactive) to the next gate that is not confirmed.
func newRunCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run PLAN",
		Short: "walk a plan: phase by phase, stopping at each gate until it is confirmed",
		Args:  exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
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
	fl := cmd.Flags()
	fl.StringVar(&f.until, "until", "", "stop after this phase")
	fl.StringSliceVar(&f.confirm, "confirm", nil, "confirm this gate (repeatable)")
	return cmd
}
