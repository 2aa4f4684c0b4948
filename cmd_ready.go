package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// newReadyCmd is `shepherd ready PLAN --phase ID`: a readiness probe for
// deploy pipelines.
func newReadyCmd(g *globals) *cobra.Command {
	var phase string
	cmd := &cobra.Command{
		Use:   "ready PLAN --phase ID",
		Short: "readiness probe: exit 0 when that phase is done, else 1",
		Args:  exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := phases.Load(args[0])
			if err != nil {
				return err
			}
			ids := strings.Join(plan.PlaybookDef().IDs(), ", ")
			if phase == "" {
				return &flagError{fmt.Errorf("ready needs --phase ID (phases of %s: %s)", plan.Playbook, ids)}
			}
			if _, ok := plan.PlaybookDef().Phase(phase); !ok {
				return &flagError{fmt.Errorf("--phase %q: %s has no such phase (phases: %s)", phase, plan.Playbook, ids)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			eng, err := engine.Open(ctx, g.dsn())
			if err != nil {
				return &engine.NotReadyError{Reason: "not ready: " + err.Error()}
			}
			defer eng.Close()
			if err := eng.Ready(ctx, plan.Name, phase); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready: phase %s of %s is done\n", phase, plan.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&phase, "phase", "", "the phase that must be done")
	return cmd
}
