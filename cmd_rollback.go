package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
)

// newRollbackCmd is `shepherd rollback PLAN`: the last reversible phase
// undone, in the TUI or (--non-interactive) at once.
func newRollbackCmd(g *globals) *cobra.Command {
	f, ff := &runFlags{}, &fleetFlags{}
	cmd := &cobra.Command{
		Use:   "rollback PLAN",
		Short: "revert the last reversible phase (refuses past the point of no return)",
		Example: `  # review, then revert the last reversible phase
  shepherd status plans/users-email.yaml
  shepherd rollback plans/users-email.yaml --non-interactive --db "$DSN"`,
		Args: exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if on, err := ff.on(g); on || err != nil {
				return orFleet(err, func() error { return walkFleet(cmd, g, f, ff, args[0], true) })
			}
			return walk(cmd, g, f, args[0], true, func(ctx context.Context, sess *engine.Session) error {
				_, err := sess.Rollback(ctx)
				return err
			})
		},
	}
	// rename-column's rollbacks copy the new column back in batches.
	f.define(cmd, runHelp{
		nonInteractive: "roll back without the TUI",
		output:         "text or json",
		batchSize:      "fixed batch size of a rollback's copy back into the old column (default: sized to --batch-time)",
		batchTime:      "target duration of one batch of that copy",
		maxRate:        "cap that copy at this many rows per second",
	})
	cmd.Flags().DurationVar(&f.maxReplicaLag, "max-replica-lag", time.Second, maxReplicaLagHelp("a rollback's copy"))
	ff.define(cmd)
	cmd.Flags().BoolVar(&f.dropData, "drop-data", false, "let add-column's rollback drop its column although rows hold values nothing can give back (what the application wrote there); without it the rollback refuses, naming them")
	return cmd
}
