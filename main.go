// Command shepherd walks database operators through expand/contract schema
// changes, one deploy-safe phase at a time. main wires commands and flags to
// the packages that do the work; it does nothing else.
//
// This file holds main, the dispatch (the root command and its commands) and
// the exit codes; each command is in a cmd_NAME.go of its own, and what
// several share is in cmd_common.go (every command) and cmd_walk.go (run and
// rollback).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/internal/version"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
)

// Exit codes: the contract of non-interactive runs.
const (
	exitOK       = 0
	exitFailed   = 1 // a step failed; state recorded, safe to rerun
	exitUsage    = 2 // usage error or invalid plan; nothing touched
	exitGate     = 3 // stopped at a gate that was not confirmed
	exitLockHeld = 4 // another runner holds the lock; nothing touched
)

// errAtGate is a run that stopped at an unconfirmed gate.
var errAtGate = errors.New("stopped at a gate")

// exitCode maps an error to the exit code the contract gives it. This is
// the only place that knows exit codes.
func exitCode(err error) int {
	var (
		planErr    *phases.PlanError
		planErrs   phases.PlanErrors
		schemaErr  *engine.SchemaError
		changedErr *engine.PlanChangedError
		usageErr   *engine.UsageError
		refused    *phases.RefusedError
		targetErr  *phases.TargetError
		lockHeld   *engine.LockHeldError
		flagErr    *flagError
		exportErr  *export.UsageError
		copyInUse  *engine.CopyInUseError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errAtGate):
		return exitGate
	case errors.As(err, &lockHeld):
		return exitLockHeld
	case errors.As(err, &planErr), errors.As(err, &planErrs), errors.As(err, &schemaErr),
		errors.As(err, &changedErr), errors.As(err, &usageErr), errors.As(err, &refused), errors.As(err, &flagErr), errors.As(err, &targetErr),
		errors.As(err, &exportErr), errors.As(err, &copyInUse):
		return exitUsage
	}
	return exitFailed
}

// flagError is a command-line mistake cobra found.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

func main() {
	ctx, stop := withInterrupts(context.Background(), os.Stderr, os.Exit) // signals.go
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, g := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && !g.started {
		// cobra refused the command line before any command ran: an
		// unknown command or flag, a missing required flag.
		err = &flagError{err}
	}
	code := exitCode(err)
	if err != nil && !errors.Is(err, errAtGate) {
		msg := g.scrub(engine.ErrorText(err))
		fmt.Fprintln(stderr, "shepherd: "+msg)
		// A script reading JSON lines gets the failure as one too, whatever
		// stopped the run: a plan, a connection, another runner's lock.
		if jsonOutput(root, args) {
			printer.ErrorLine(stdout, g.plan, msg, code)
		}
	}
	return code
}

// jsonOutput reports whether the command line asked run or rollback for
// --output json (as far as it was parsed).
func jsonOutput(root *cobra.Command, args []string) bool {
	cmd, _, err := root.Find(args)
	if err != nil || (cmd.Name() != "run" && cmd.Name() != "rollback") {
		return false
	}
	f := cmd.Flags().Lookup("output")
	return f != nil && f.Value.String() == "json"
}

func newRoot(stdout, stderr io.Writer) (*cobra.Command, *globals) {
	g := &globals{}
	root := &cobra.Command{
		Use:   "shepherd",
		Short: "Walk expand/contract schema changes one deploy-safe phase at a time",
		Long: `shepherd walks database operators through expand/contract schema changes
(add a column, rename a column, tighten a constraint), one deploy-safe phase at a
time, against live PostgreSQL, MySQL/MariaDB and SQLite databases.

` + exitCodesHelp,
		Example: `  # the plan list of this database, in the TUI
  shepherd --db "$DSN"

  # review a plan, then walk it
  shepherd plan plans/users-email.yaml --dialect postgres
  shepherd run plans/users-email.yaml --db "$DSN"

  # a release job: runs up to the next gate, exit 3 there
  shepherd run plans/users-email.yaml --non-interactive --confirm deploy-readers`,
		// --version: the version and commit on one line (cmd_version.go
		// has `shepherd version`).
		Version:          version.Get().String(),
		SilenceUsage:     true,
		SilenceErrors:    true,
		PersistentPreRun: func(*cobra.Command, []string) { g.started = true },
		// `shepherd --db DSN` with no command: the plan list.
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.dsn() == "" || !interactive(cmd) {
				return cmd.Help()
			}
			return planListTUI(cmd, g, planFiles(), "", engine.Options{})
		},
	}
	root.SetVersionTemplate("shepherd {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	// --db is on the commands that use a database, and only there: export,
	// demo and train work without one.
	withDB := []*cobra.Command{root, newRunCmd(g), newStatusCmd(g), newPlanCmd(g), newRollbackCmd(g), newReadyCmd(g),
		newPauseCmd(g), newResumeCmd(g), newTuneCmd(g)}
	for _, cmd := range withDB {
		cmd.Flags().StringVar(&g.db, "db", "", dbHelp)
	}
	root.AddCommand(withDB[1:]...)
	root.AddCommand(newExportCmd(), newDemoCmd(), newTrainCmd(), newGenDocsCmd(), newVersionCmd())
	root.AddCommand(newReviewCmd(g))
	return root, g
}

const dbHelp = "database DSN: a postgres:// URL or libpq key=value string, a mysql:// URL or go-sql-driver DSN, or sqlite:path (default $SHEPHERD_DB)"

// exitCodesHelp is the exit-code table of the root help: the contract of
// non-interactive runs, as exitCode gives it.
const exitCodesHelp = `Exit codes:
  0  reached the target (--until phase or the end); ready: the phase is done
  1  a step failed (SQL error or failed verification; state recorded, safe to
     rerun); ready: not done, or the database did not answer
  2  usage error or invalid plan; nothing touched
  3  stopped at a gate that was not confirmed (a release job is waiting for
     the deploy the gate names)
  4  another runner holds this plan's lock; nothing touched`
