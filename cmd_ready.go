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
	var wait, reached bool
	var timeout, interval time.Duration
	ff := &fleetFlags{}
	cmd := &cobra.Command{
		Use:   "ready PLAN --phase ID",
		Short: "readiness probe: exit 0 when that phase is done, else 1 (--wait: wait for it)",
		Long: `ready answers whether a phase of a plan is done in this database, with one
cheap read-only query: exit 0 when it is, 1 when it is not (or the database
does not answer), 2 for a usage error. It never writes.

With --wait it polls the recorded state (read-only, every --interval) until the
phase is done, then exits 0; when --timeout passes first, it exits 1 saying
what the phase was waiting for.

A gate is done once it is confirmed. With --reached, ready answers yes once a
run has reached the phase: it runs, waits at it (a gate), or is done. A deploy
step waits this way for the gate of its deploy: the database side is ready for
the deploy once the run waits there.`,
		Example: `  # a probe: is the backfill done?
  shepherd ready plans/users-email.yaml --phase backfill --db "$DSN"

  # an initContainer or CI step: wait up to 30 minutes for it
  shepherd ready plans/users-email.yaml --phase backfill --wait --timeout 30m

  # a deploy step: wait until the run waits at the gate for this deploy
  shepherd ready plans/users-email.yaml --phase deploy-readers --reached --wait --timeout 1h`,
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
			look := func(ctx context.Context, eng *engine.Engine) error {
				if reached {
					return eng.Reached(ctx, plan.Name, phase)
				}
				return eng.Ready(ctx, plan.Name, phase)
			}
			if on, err := ff.on(g); on || err != nil {
				return orFleet(err, func() error {
					return readyFleet(cmd, ff, plan, phase, reached, look, wait, timeout, interval, cmd.Flags().Changed("timeout"))
				})
			}
			if !wait {
				if timeout == 0 {
					timeout = probeTimeout
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				defer cancel()
				err = probe(ctx, g, look)
			} else {
				if !cmd.Flags().Changed("timeout") {
					timeout = 0 // --wait without --timeout waits until the phase is done
				}
				err = waitReady(cmd.Context(), g, cmd.ErrOrStderr(), look, timeout, interval)
			}
			if err != nil {
				return err
			}
			if reached {
				fmt.Fprintf(cmd.OutOrStdout(), "ready: a run of %s has reached phase %s\n", plan.Name, phase)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready: phase %s of %s is done\n", phase, plan.Name)
			return nil
		},
	}
	fl := cmd.Flags()
	ff.define(cmd)
	fl.StringVar(&phase, "phase", "", "the phase asked about")
	fl.BoolVar(&reached, "reached", false, "answer yes once a run has reached the phase (running, waiting at its gate, or done), not only once it is done")
	fl.BoolVar(&wait, "wait", false, "wait until the answer is yes (polling, read-only), instead of answering at once")
	fl.DurationVar(&timeout, "timeout", probeTimeout, "how long the probe may take; with --wait, how long to wait in all, without a limit unless given")
	fl.DurationVar(&interval, "interval", time.Second, "with --wait, how often to look at the state")
	_ = cmd.RegisterFlagCompletionFunc("phase", completePhases)
	return cmd
}

// readyLook is one look at the state: nil when the phase is as asked, else a
// *engine.NotReadyError saying why not.
type readyLook func(ctx context.Context, eng *engine.Engine) error

// probe looks once, on an engine opened for it.
func probe(ctx context.Context, g *globals, look readyLook) error {
	eng, err := engine.Open(ctx, g.dsn())
	if err != nil {
		return &engine.NotReadyError{Reason: "not ready: " + err.Error()}
	}
	defer eng.Close()
	return look(ctx, eng)
}

// waitReady polls until look says yes, the timeout passes (0: none) or
// the command is interrupted. It says on w, once a reason, why it waits. An
// engine is kept open between polls once the database answers.
func waitReady(ctx context.Context, g *globals, w io.Writer, look readyLook, timeout, interval time.Duration) error {
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
			err = look(pctx, eng)
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
