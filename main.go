// Command shepherd walks database operators through expand/contract schema
// changes, one deploy-safe phase at a time. main wires commands and flags to
// the packages that do the work; it does nothing else.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
	"github.com/shepherd-db/shepherd/templates"
	"github.com/shepherd-db/shepherd/tui"
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
		errors.As(err, &exportErr):
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

type globals struct {
	db      string
	started bool   // a command's RunE began: errors after this are its own
	plan    string // the plan's name, once its file is read, for error lines
}

// scrub masks the DSN's passwords in a message, should any text carry it;
// a DSN shepherd does not read is not shown at all.
func (g *globals) scrub(msg string) string {
	if d, err := engine.ParseDSN(g.dsn()); err == nil {
		return d.Scrub(msg)
	}
	if g.dsn() != "" {
		msg = strings.ReplaceAll(msg, g.dsn(), "(the DSN given)")
	}
	return msg
}

func (g *globals) dsn() string {
	if g.db != "" {
		return g.db
	}
	return os.Getenv("SHEPHERD_DB")
}

func newRoot(stdout, stderr io.Writer) (*cobra.Command, *globals) {
	g := &globals{}
	root := &cobra.Command{
		Use:   "shepherd",
		Short: "Walk expand/contract schema changes one deploy-safe phase at a time",
		Long: `shepherd walks database operators through expand/contract schema changes
(add a column, rename a column, tighten a constraint), one deploy-safe phase at a
time, against live PostgreSQL, MySQL/MariaDB and SQLite databases.`,
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
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.PersistentFlags().StringVar(&g.db, "db", "", "database DSN: postgres://…, mysql://user:pass@host:port/db or sqlite:path/to/file.db (default $SHEPHERD_DB)")
	root.AddCommand(newRunCmd(g), newStatusCmd(g), newPlanCmd(g), newRollbackCmd(g), newReadyCmd(g), newExportCmd(), newDemoCmd(), newTrainCmd())
	return root, g
}

// exactArgs checks the positional arguments; a mistake exits 2.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &flagError{fmt.Errorf("%s takes %s (usage: %s)", cmd.Name(), what, cmd.UseLine())}
		}
		return nil
	}
}

// open connects to the database and starts a session on the plan.
func openSession(ctx context.Context, g *globals, plan *phases.Plan, opts engine.Options) (*engine.Engine, *engine.Session, error) {
	eng, err := engine.Open(ctx, g.dsn())
	if err != nil {
		return nil, nil, err
	}
	sess, err := eng.Start(ctx, plan, opts)
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	return eng, sess, nil
}

type runFlags struct {
	nonInteractive bool
	until          string
	confirm        []string
	output         string
	lockTimeout    time.Duration
	batchSize      int
	batchTime      time.Duration
	batchTimeout   time.Duration
	maxRate        float64
	operator       string
	allowLock      string
	dropData       bool
}

func (f *runFlags) options(emit func(engine.Event)) engine.Options {
	return engine.Options{Operator: f.operator, LockTimeout: f.lockTimeout, BatchSize: f.batchSize,
		BatchTime: f.batchTime, BatchTimeout: f.batchTimeout, MaxRate: f.maxRate, Emit: emit, Failpoint: failpoint(), AllowLock: f.allowLock, DropData: f.dropData}
}

func (f *runFlags) check() error {
	if f.output != "text" && f.output != "json" {
		return &flagError{fmt.Errorf("--output %q: use text or json", f.output)}
	}
	if templates.LevelRank(f.allowLock) < 0 {
		return &flagError{fmt.Errorf("--allow-lock %q: use shared (writes wait) or exclusive (reads and writes wait)", f.allowLock)}
	}
	if f.batchSize < 0 || f.batchTime < 0 || f.batchTimeout < 0 || f.lockTimeout < 0 || f.maxRate < 0 {
		return &flagError{errors.New("--batch-size, --batch-time, --batch-timeout, --lock-timeout and --max-rate must not be negative")}
	}
	return nil
}

func newRunCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run PLAN",
		Short: "walk a plan: phase by phase, stopping at each gate until it is confirmed",
		Args:  exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			plan, err := phases.Load(args[0])
			if err != nil {
				return err
			}
			g.plan = plan.Name
			// --until and --confirm are checked before any database is
			// touched.
			if err := plan.PlaybookDef().CheckTargets(f.until, f.confirm); err != nil {
				return err
			}
			if !f.nonInteractive {
				return planTUI(cmd, g, f, plan, false)
			}
			out := printer.NewEvents(cmd.OutOrStdout(), f.output)
			eng, sess, err := openSession(cmd.Context(), g, plan, f.options(out.Event))
			if err != nil {
				return err
			}
			defer eng.Close()
			defer sess.Close()
			confirmed := map[string]bool{}
			for _, c := range f.confirm {
				confirmed[c] = true
			}
			outcome, err := sess.Run(cmd.Context(), f.until, confirmed)
			if err != nil {
				return err
			}
			if outcome == engine.AtGate {
				return errAtGate
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.nonInteractive, "non-interactive", false, "run without the TUI, for scripts and release jobs")
	fl.StringVar(&f.until, "until", "", "stop after this phase")
	fl.StringSliceVar(&f.confirm, "confirm", nil, "confirm this gate (repeatable)")
	fl.StringVar(&f.output, "output", "text", "text or json (one event a line)")
	fl.DurationVar(&f.lockTimeout, "lock-timeout", 500*time.Millisecond, "how long one DDL statement waits for its lock before it is retried")
	fl.IntVar(&f.batchSize, "batch-size", 0, "fixed backfill batch size (default: sized to --batch-time)")
	fl.DurationVar(&f.batchTime, "batch-time", 50*time.Millisecond, "target duration of one backfill batch")
	fl.DurationVar(&f.batchTimeout, "batch-timeout", 0, batchTimeoutHelp)
	fl.Float64Var(&f.maxRate, "max-rate", 0, "cap the backfill at this many rows per second")
	fl.StringVar(&f.operator, "operator", "", "who runs this, for the log (default: OS user@host)")
	fl.StringVar(&f.allowLock, "allow-lock", "", allowLockHelp)
	return cmd
}

const batchTimeoutHelp = "how long one batch's statement may run before the database cancels it (default: 100 × --batch-time, at least 10s); every other statement runs with no statement timeout, whatever the database or its role sets"

const allowLockHelp = "where the database refuses a statement's lock-free form on this table (MySQL: LOCK=NONE on a table with a FULLTEXT index), allow the form that takes this lock: shared (writes wait) or exclusive (reads and writes wait); without it such a statement stops before changing anything"

func newRollbackCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "rollback PLAN",
		Short: "revert the last reversible phase (refuses past the point of no return)",
		Args:  exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			plan, err := phases.Load(args[0])
			if err != nil {
				return err
			}
			g.plan = plan.Name
			if !f.nonInteractive {
				return planTUI(cmd, g, f, plan, true)
			}
			out := printer.NewEvents(cmd.OutOrStdout(), f.output)
			eng, sess, err := openSession(cmd.Context(), g, plan, f.options(out.Event))
			if err != nil {
				return err
			}
			defer eng.Close()
			defer sess.Close()
			_, err = sess.Rollback(cmd.Context())
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.nonInteractive, "non-interactive", false, "roll back without the TUI")
	fl.StringVar(&f.output, "output", "text", "text or json")
	fl.DurationVar(&f.lockTimeout, "lock-timeout", 500*time.Millisecond, "how long one DDL statement waits for its lock before it is retried")
	fl.StringVar(&f.operator, "operator", "", "who runs this, for the log (default: OS user@host)")
	fl.StringVar(&f.allowLock, "allow-lock", "", allowLockHelp)
	// rename-column's rollbacks copy the new column back in batches.
	fl.IntVar(&f.batchSize, "batch-size", 0, "fixed batch size of a rollback's copy back into the old column (default: sized to --batch-time)")
	fl.DurationVar(&f.batchTime, "batch-time", 50*time.Millisecond, "target duration of one batch of that copy")
	fl.DurationVar(&f.batchTimeout, "batch-timeout", 0, batchTimeoutHelp)
	fl.Float64Var(&f.maxRate, "max-rate", 0, "cap that copy at this many rows per second")
	fl.BoolVar(&f.dropData, "drop-data", false, "let add-column's rollback drop its column although rows hold values nothing can give back (what the application wrote there); without it the rollback refuses, naming them")
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON, withLog bool
	cmd := &cobra.Command{
		Use:   "status [PLAN...]",
		Short: "every plan's state in this database; PLAN is a plan file or a plan's name",
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := statusTargets(args)
			if err != nil {
				return err
			}
			if !asJSON && !withLog && interactive(cmd) {
				files := statusFiles(targets)
				if len(args) == 0 {
					files = planFiles()
				}
				return planListTUI(cmd, g, files, "", engine.Options{})
			}
			eng, err := engine.Open(cmd.Context(), g.dsn())
			if err != nil {
				return err
			}
			defer eng.Close()
			all, err := eng.Status(cmd.Context())
			if err != nil {
				return err
			}
			shown := all
			if len(targets) > 0 {
				if shown, err = selectTargets(all, targets); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				var logs [][]engine.LogEntry
				if withLog {
					for _, p := range shown {
						entries, err := eng.Log(cmd.Context(), p.Name)
						if err != nil {
							return err
						}
						logs = append(logs, entries)
					}
				}
				return printer.StatusJSON(out, shown, logs)
			}
			printer.Status(out, shown)
			if withLog {
				for _, p := range shown {
					entries, err := eng.Log(cmd.Context(), p.Name)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "\nlog of %s:\n", p.Name)
					printer.Log(out, entries)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&withLog, "log", false, "also print each plan's audit log")
	return cmd
}

func newPlanCmd(g *globals) *cobra.Command {
	var dialect string
	cmd := &cobra.Command{
		Use:   "plan PLAN",
		Short: "review a plan: phases, SQL, locks, rollback; per dialect without a database, or as this database will run it with --db",
		Long: `plan shows each phase of a plan: what it does and why, the exact SQL, what
each statement locks, how it is verified and undone. Without a database it
shows every dialect (or --dialect's) as the plan gives it. With --db (or
SHEPHERD_DB) it reads the live table, read-only, and shows what this server
and table will run: the table's real key and column definitions, what the
server is expected to refuse on this table (MySQL: INSTANT or LOCK=NONE),
and what a rename must recreate on the new column.`,
		Args: exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := phases.Load(args[0])
			if err != nil {
				return err
			}
			if dialect != "" && !phases.KnownDialect(dialect) {
				return &flagError{fmt.Errorf("--dialect %q: use postgres, mysql or sqlite", dialect)}
			}
			if g.dsn() != "" {
				parsed, err := engine.ParseDSN(g.dsn())
				if err != nil {
					return err
				}
				if dialect == "" || dialect == parsed.Dialect {
					return livePlan(cmd, g, plan)
				}
				// Reviewing another dialect than the database's, with
				// SHEPHERD_DB set for other work: as the plan gives it.
				fmt.Fprintf(cmd.ErrOrStderr(), "note: --dialect %s is not the database's (%s): showing %s as the plan gives it, without reading the database\n", dialect, parsed.Dialect, dialect)
			}
			dialects := phases.Dialects()
			if dialect != "" {
				dialects = []string{dialect}
			}
			out := cmd.OutOrStdout()
			for i, d := range dialects {
				if i > 0 {
					fmt.Fprintln(out, "\n"+"────────────────────────────────────────────────────────────")
				}
				previews, err := engine.Preview(plan, d)
				var schemaErr *engine.SchemaError
				if errors.As(err, &schemaErr) && dialect == "" {
					// A plan for some dialects only: the others are
					// not shown, saying why.
					fmt.Fprintf(out, "plan %s on %s: not shown:\n  %s\n", plan.Name, d, strings.ReplaceAll(err.Error(), "\n", "\n  "))
					continue
				}
				if err != nil {
					return err
				}
				printer.Plan(out, plan.In(d), d, previews)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dialect, "dialect", "", "postgres, mysql or sqlite (default: all three; with --db, the database's)")
	return cmd
}

// livePlan is `shepherd plan` with a database: the previews rendered from
// the live table, read-only, with what this database will really run.
func livePlan(cmd *cobra.Command, g *globals, plan *phases.Plan) error {
	eng, err := engine.Open(cmd.Context(), g.dsn())
	if err != nil {
		return err
	}
	defer eng.Close()
	view, err := eng.Inspect(cmd.Context(), plan, engine.Options{})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "as %s at %s will run it, from the live table %s (read only: nothing was written)\n", eng.Server(), eng.DSN(), plan.Table)
	for _, w := range view.Warnings() {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	printer.Plan(out, view.Plan(), eng.Dialect(), view.Previews())
	return nil
}

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

// interactive reports whether the command talks to a terminal, on both
// sides: the TUI needs one; scripts and pipes get text.
func interactive(cmd *cobra.Command) bool {
	out, ok := cmd.OutOrStdout().(*os.File)
	in, ok2 := cmd.InOrStdin().(*os.File)
	return ok && ok2 && term.IsTerminal(out.Fd()) && term.IsTerminal(in.Fd())
}

// planFiles are the plan files in ./plans.
func planFiles() []string {
	files, _ := filepath.Glob(filepath.Join("plans", "*.yaml"))
	return files
}

// planTUI opens the TUI on one plan: `run` and `rollback` without
// --non-interactive.
func planTUI(cmd *cobra.Command, g *globals, f *runFlags, plan *phases.Plan, rollback bool) error {
	if !interactive(cmd) {
		return &engine.UsageError{Msg: fmt.Sprintf("shepherd %s opens a TUI, which needs a terminal: add --non-interactive", cmd.Name())}
	}
	eng, err := engine.Open(cmd.Context(), g.dsn())
	if err != nil {
		return err
	}
	defer eng.Close()
	tuiHoldsTerminal(cmd.Context())
	return tui.Run(cmd.Context(), tui.Config{Engine: tui.Live(eng), Plans: planFiles(), Open: plan, Rollback: rollback, Options: f.options(nil)})
}

// planListTUI opens the TUI on the plan list: `status`, `shepherd --db DSN`
// and `demo`.
func planListTUI(cmd *cobra.Command, g *globals, files []string, label string, opts engine.Options) error {
	eng, err := engine.Open(cmd.Context(), g.dsn())
	if err != nil {
		return err
	}
	defer eng.Close()
	sources := "in this database and in ./plans"
	if label == "demo" {
		sources = "the bundled examples, on the demo database"
	}
	tuiHoldsTerminal(cmd.Context())
	return tui.Run(cmd.Context(), tui.Config{Engine: tui.Live(eng), Plans: files, Sources: sources, Label: label, Options: opts})
}
