package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// probeTimeout is ready's default --timeout: under Kubernetes' default probe
// timeout (1 s), so the probe answers before the kubelet gives up on it.
const probeTimeout = 900 * time.Millisecond

// pollTimeout bounds one look at the state while ready --wait polls, so a
// database that stops answering cannot hold the wait past its next poll.
const pollTimeout = 10 * time.Second

// newReadyCmd is `shepherd ready PLAN --phase ID`: a readiness probe for
// deploy pipelines, or (--wait) a wait for the phase, for an initContainer
// or a CI step.
func newReadyCmd(g *globals) *cobra.Command {
	var phase string
	var wait bool
	var timeout, interval time.Duration
	cmd := &cobra.Command{
		Use:   "ready PLAN --phase ID",
		Short: "readiness probe: exit 0 when that phase is done, else 1 (--wait: wait for it)",
		Long: `ready answers whether a phase of a plan is done in this database, with one
cheap read-only query: exit 0 when it is, 1 when it is not (or the database
does not answer), 2 for a usage error. It never writes.

With --wait it polls the recorded state (read-only, every --interval) until the
phase is done, then exits 0; when --timeout passes first, it exits 1 saying
what the phase was waiting for. A gate is done when it is confirmed: to wait
for a run to reach a gate, wait for the phase before it.`,
		Example: `  # a probe: is the backfill done?
  shepherd ready plans/users-email.yaml --phase backfill --db "$DSN"

  # an initContainer or CI step: wait up to 30 minutes for it
  shepherd ready plans/users-email.yaml --phase backfill --wait --timeout 30m`,
		Args: exactArgs(1, "one plan file"),
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
			if timeout < 0 || interval <= 0 {
				return &flagError{errors.New("--timeout must not be negative and --interval must be positive")}
			}
			if !wait {
				if timeout == 0 {
					timeout = probeTimeout
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				defer cancel()
				err = probe(ctx, g, nil, plan.Name, phase)
			} else {
				if !cmd.Flags().Changed("timeout") {
					timeout = 0 // --wait without --timeout waits until the phase is done
				}
				err = waitReady(cmd.Context(), g, cmd.ErrOrStderr(), plan.Name, phase, timeout, interval)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready: phase %s of %s is done\n", phase, plan.Name)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&phase, "phase", "", "the phase that must be done")
	fl.BoolVar(&wait, "wait", false, "wait until the phase is done (polling, read-only), instead of answering at once")
	fl.DurationVar(&timeout, "timeout", probeTimeout, "how long the probe may take; with --wait, how long to wait in all, without a limit unless given")
	fl.DurationVar(&interval, "interval", time.Second, "with --wait, how often to look at the state")
	_ = cmd.RegisterFlagCompletionFunc("phase", completePhases)
	return cmd
}

// probe looks once at whether the phase is done: nil, or a
// *engine.NotReadyError saying why not. eng is an engine already open (the
// wait keeps one), or nil to open one for this look.
func probe(ctx context.Context, g *globals, eng *engine.Engine, plan, phase string) error {
	if eng == nil {
		e, err := engine.Open(ctx, g.dsn())
		if err != nil {
			return &engine.NotReadyError{Reason: "not ready: " + err.Error()}
		}
		defer e.Close()
		eng = e
	}
	return eng.Ready(ctx, plan, phase)
}

// waitReady polls until the phase is done, the timeout passes (0: none) or
// the command is interrupted. It says on w, once a reason, why it waits. An
// engine is kept open between polls once the database answers.
func waitReady(ctx context.Context, g *globals, w io.Writer, plan, phase string, timeout, interval time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var eng *engine.Engine
	defer func() {
		if eng != nil {
			eng.Close()
		}
	}()
	start, said := time.Now(), ""
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		var err error
		if eng == nil {
			if eng, err = engine.Open(pctx, g.dsn()); err != nil {
				eng, err = nil, &engine.NotReadyError{Reason: "not ready: " + err.Error()}
			}
		}
		if eng != nil {
			err = eng.Ready(pctx, plan, phase)
		}
		cancel()
		var notReady *engine.NotReadyError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &notReady):
			return err
		}
		if ctx.Err() == nil && notReady.Why() != said {
			said = notReady.Why()
			fmt.Fprintf(w, "waiting: %s\n", said)
		}
		select {
		case <-ctx.Done():
			why := said
			if why == "" {
				why = notReady.Why()
			}
			return &engine.NotReadyError{Reason: fmt.Sprintf("not ready after waiting %s: %s", time.Since(start).Round(time.Millisecond), why)}
		case <-tick.C:
		}
	}
}
