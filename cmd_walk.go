package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/notify"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
	"github.com/shepherd-db/shepherd/templates"
	"github.com/shepherd-db/shepherd/tui"
)

// What run and rollback share: their flags, and their opening (check the
// flags, read the plan, then the TUI, or a session on the database that the
// command's own step walks).

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
	workers        int           // run's (0: chosen from the server)
	inPlace        bool          // run's: fill add-column's column in place, never by a copy
	maxReplicaLag  time.Duration // run and rollback define it (0: off)
	operator       string
	allowLock      string
	dropData       bool
	notify         string        // run: the webhook told how the run ended
	notifyTimeout  time.Duration // run: how long that POST may take
}

// runHelp is the help of the shared flags whose meaning differs between run
// and rollback: a rollback's batches are its copy back into the old column.
type runHelp struct {
	nonInteractive, output, batchSize, batchTime, maxRate string
}

// define adds the flags run and rollback share to cmd; each command adds its
// own (run: --until, --confirm; rollback: --drop-data).
func (f *runFlags) define(cmd *cobra.Command, h runHelp) {
	fl := cmd.Flags()
	fl.BoolVar(&f.nonInteractive, "non-interactive", false, h.nonInteractive)
	fl.StringVarP(&f.output, "output", "o", "text", h.output)
	fl.DurationVar(&f.lockTimeout, "lock-timeout", 500*time.Millisecond, "how long one DDL statement waits for its lock before it is retried")
	fl.IntVar(&f.batchSize, "batch-size", 0, h.batchSize)
	fl.DurationVar(&f.batchTime, "batch-time", 50*time.Millisecond, h.batchTime)
	fl.DurationVar(&f.batchTimeout, "batch-timeout", 0, batchTimeoutHelp)
	fl.Float64Var(&f.maxRate, "max-rate", 0, h.maxRate)
	fl.StringVar(&f.operator, "operator", "", "who runs this, for the log (default: OS user@host)")
	fl.StringVar(&f.allowLock, "allow-lock", "", allowLockHelp)
	_ = cmd.RegisterFlagCompletionFunc("output", completeOutput())
	_ = cmd.RegisterFlagCompletionFunc("allow-lock", completeLocks())
	cmd.ValidArgsFunction = completePlanFiles
}

const batchTimeoutHelp = "how long one batch's statement may run before the database cancels it (default: 100 × --batch-time, at least 10s); every other statement runs with no statement timeout, whatever the database or its role sets"

const allowLockHelp = "where the database refuses a statement's lock-free form on this table (MySQL: LOCK=NONE on a table with a FULLTEXT index), allow the form that takes this lock: shared (writes wait) or exclusive (reads and writes wait); without it such a statement stops before changing anything"

func (f *runFlags) options(emit func(engine.Event)) engine.Options {
	return engine.Options{Operator: f.operator, LockTimeout: f.lockTimeout, BatchSize: f.batchSize,
		BatchTime: f.batchTime, BatchTimeout: f.batchTimeout, MaxRate: f.maxRate, Workers: workersOption(f.workers), InPlace: f.inPlace, MaxReplicaLag: replicaLagOption(f.maxReplicaLag), Emit: emit, Failpoint: failpoint(), AllowLock: f.allowLock, DropData: f.dropData}
}

// workersOption is --workers as the engine takes it: 0 there is one
// worker, and the server's choice is engine.WorkersAuto.
func workersOption(n int) int {
	if n == 0 {
		return engine.WorkersAuto
	}
	return n
}

const workersHelp = "split the backfill's walk among this many connections (1 to 8), each walking its own range of an integer key, checkpointed on its own; 0 lets the server choose, at most 4 (PostgreSQL's max_parallel_workers_per_gather, half of MariaDB's CPUs, 1 on MySQL); SQLite always walks with one"

// replicaLagOption is --max-replica-lag as the engine takes it: there 0
// is the default, and off is below 0.
func replicaLagOption(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// maxReplicaLagHelp is --max-replica-lag's help; what holds is the
// command's.
func maxReplicaLagHelp(what string) string {
	return "hold " + what + " between batches while a replica is further behind than this (PostgreSQL: read from the primary's pg_stat_replication; MySQL/MariaDB: each replica is asked, listed in the plan's replicas:, in " + engine.ReplicasEnv + " or found with SHOW SLAVE HOSTS; SQLite has no replicas: accepted, does nothing); 0 turns it off"
}

func (f *runFlags) check() error {
	if f.output != "text" && f.output != "json" {
		return &flagError{fmt.Errorf("--output %q: use text or json", f.output)}
	}
	if templates.LevelRank(f.allowLock) < 0 {
		return &flagError{fmt.Errorf("--allow-lock %q: use shared (writes wait) or exclusive (reads and writes wait)", f.allowLock)}
	}
	if f.batchSize < 0 || f.batchTime < 0 || f.batchTimeout < 0 || f.lockTimeout < 0 || f.maxRate < 0 || f.maxReplicaLag < 0 {
		return &flagError{errors.New("--batch-size, --batch-time, --batch-timeout, --lock-timeout, --max-rate and --max-replica-lag must not be negative")}
	}
	if f.workers < 0 || f.workers > 8 {
		return &flagError{fmt.Errorf("--workers %d: use 1 to 8, or 0 to let the server's settings choose", f.workers)}
	}
	return nil
}

// walk is run's and rollback's common opening, on the plan file given.
// Everything that can be refused without a database is refused first: the
// flags, the plan, and --until and --confirm (only run has them; empty,
// they name nothing to check). Without --non-interactive the TUI takes
// over, on the rollback screen for rollback; with it, step walks a session
// on the plan whose events the printer writes, closed when step returns;
// with --notify (run's), the webhook is told how it ended, once it has.
func walk(cmd *cobra.Command, g *globals, f *runFlags, file string, rollback bool, step func(context.Context, *engine.Session) error) (err error) {
	if err := f.check(); err != nil {
		return err
	}
	plan, err := phases.Load(file)
	if err != nil {
		return err
	}
	g.plan = plan.Name
	if err := plan.PlaybookDef().CheckTargets(f.until, f.confirm); err != nil {
		return err
	}
	var target *notify.Target
	if f.notify != "" {
		if !f.nonInteractive {
			return &flagError{errors.New("--notify is for --non-interactive runs: in the TUI, the operator sees the gates")}
		}
		if target, err = notify.Parse(f.notify, f.notifyTimeout); err != nil {
			return &flagError{err}
		}
	}
	if !f.nonInteractive {
		return planTUI(cmd, g, f, plan, rollback)
	}
	out := printer.NewEvents(cmd.OutOrStdout(), f.output)
	emit := out.Event
	if target != nil {
		n := &notifier{target: target, plan: plan}
		emit = n.watch(emit)
		defer func() {
			n.send(cmd.Context(), err, func(msg string) {
				out.Event(engine.Event{Event: engine.EventNotice, Plan: plan.Name, Level: engine.LevelWarning, Message: msg, Time: engine.Now()})
			})
		}()
	}
	return session(cmd.Context(), g, plan, f.options(emit), step)
}

// session opens a session on the plan, has step walk it, and closes it.
func session(ctx context.Context, g *globals, plan *phases.Plan, opts engine.Options, step func(context.Context, *engine.Session) error) error {
	eng, sess, err := openSession(ctx, g, plan, opts)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer sess.Close()
	return step(ctx, sess)
}

// openSession connects to the database and starts a session on the plan.
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
