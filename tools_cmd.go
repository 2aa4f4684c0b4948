package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/demo"
	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/training"
)

// The commands around a plan's run: export (migration files for other
// tools), demo (a local SQLite database with example plans) and train
// (lessons in a sandbox).

func newExportCmd() *cobra.Command {
	var dialect, dir, format string
	var force bool
	cmd := &cobra.Command{
		Use:   "export PLAN --dialect D --dir DIR",
		Short: "write the plan's DDL phases as reviewed migration files (goose, golang-migrate, drizzle, plain)",
		Long: `export writes the plan's DDL phases (add-column, enforce, add-constraint,
drop-old-column) as migration files for the tool a release job runs, rendered
without a database from the same templates shepherd runs: one migration per
phase, or one per step where shepherd commits a phase in steps, each with the
locks of its statements in comments, a down where the tool has one (the point
of no return's down fails on purpose), and a guard where rows must be ready.
The deploys and data phases between them are not migrations: each file says
which come before it, and PLAN.shepherd.md beside them walks the whole plan.`,
		Args: exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dialect == "" {
				return &flagError{errors.New("export needs --dialect: postgres, mysql or sqlite (the files hold one dialect's SQL)")}
			}
			if !phases.KnownDialect(dialect) {
				return &flagError{fmt.Errorf("--dialect %q: use postgres, mysql or sqlite", dialect)}
			}
			if !slices.Contains(export.Formats(), format) {
				return &flagError{fmt.Errorf("--format %q: use %s", format, strings.Join(export.Formats(), ", "))}
			}
			if dir == "" {
				return &flagError{errors.New("export needs --dir DIR: the folder the migration files go in")}
			}
			plan, err := phases.Load(args[0])
			if err != nil {
				return err
			}
			existing, err := export.ReadDir(dir, format, plan)
			if err != nil {
				return err
			}
			files, err := export.Render(export.Options{Plan: plan, PlanFile: args[0], Dialect: dialect, Format: format,
				Now: time.Now(), Existing: existing})
			if err != nil {
				return err
			}
			written, err := export.Write(dir, existing, files, force)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, f := range written.Removed {
				fmt.Fprintf(out, "removed %s (an earlier export of %s)\n", filepath.Join(dir, f), plan.Name)
			}
			for _, f := range written.Wrote {
				fmt.Fprintf(out, "wrote %s\n", filepath.Join(dir, f))
			}
			fmt.Fprintf(out, "review them, and read %s: the deploys and data phases between the migrations are not migrations\n",
				filepath.Join(dir, export.NotesFile(plan.Name)))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dialect, "dialect", "", "postgres, mysql or sqlite")
	fl.StringVar(&dir, "dir", "", "the folder to write the migration files in (created if missing; must be empty unless --force)")
	fl.StringVar(&format, "format", export.Plain, "goose, golang-migrate, drizzle or plain")
	fl.BoolVar(&force, "force", false, "write into a folder that has files: this plan's earlier export is replaced, other files are kept")
	return cmd
}

func newDemoCmd() *cobra.Command {
	var dir string
	var setup bool
	var batchSize int
	var maxRate float64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "a local SQLite demo database with the bundled example plans",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dbPath := filepath.Join(dir, "demo.db")
			created, err := demo.Create(cmd.Context(), dbPath, demo.Users)
			if err != nil {
				return err
			}
			plans, err := demo.WritePlans(filepath.Join(dir, "plans"))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if created {
				fmt.Fprintf(out, "created %s: users (%d rows) and orders\n", dbPath, demo.Users)
			} else {
				fmt.Fprintf(out, "reusing %s\n", dbPath)
			}
			fmt.Fprintln(out, "example plans:")
			for _, p := range plans {
				fmt.Fprintln(out, "  "+p)
			}
			if !setup {
				if !interactive(cmd) {
					return &engine.UsageError{Msg: "the demo TUI needs a terminal: add --setup, then run the plans with shepherd run PLAN --db sqlite:" + dbPath + " --non-interactive"}
				}
				g := &globals{db: "sqlite:" + dbPath}
				return planListTUI(cmd, g, plans, "demo", engine.Options{BatchSize: batchSize, MaxRate: maxRate})
			}
			first := filepath.Join(dir, "plans", "users-email.yaml")
			fmt.Fprintf(out, "try:\n  shepherd plan %s --dialect sqlite\n  shepherd run %s --db sqlite:%s --non-interactive\n", first, first, dbPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".shepherd-demo", "where the demo database and plans live")
	cmd.Flags().BoolVar(&setup, "setup", false, "only create the database and plans, and print how to use them")
	cmd.Flags().IntVar(&batchSize, "batch-size", 250, "backfill batch size in the demo")
	cmd.Flags().Float64Var(&maxRate, "max-rate", 5000, "cap the demo's backfills at this many rows per second, so that they can be watched and paused (0: no cap)")
	return cmd
}

func newTrainCmd() *cobra.Command {
	var lesson, steps, output string
	var list bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "training lessons: break a simulated application by changing its schema in the wrong order",
		Long: `train opens the training lessons: each has an SQLite sandbox that shepherd's own
engine changes for real, and an application fleet that keeps reading and writing it.
Pick actions in the wrong order and the fleet breaks; the score shows your sequence
beside the safe one.

Scripted, for tests and course authors (one JSON object a line with --output json):
  shepherd train --list --output json
  shepherd train --lesson add-column --steps add-column,deploy-readers,backfill,deploy-writers,enforce --output json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &flagError{fmt.Errorf("--output %q: use text or json", output)}
			}
			out := cmd.OutOrStdout()
			if list {
				return training.PrintList(out, output == "json")
			}
			if steps == "" {
				if output == "json" {
					return &flagError{errors.New("--output json needs --lesson NAME --steps a,b,c (or --list)")}
				}
				tuiHoldsTerminal(cmd.Context())
				return wrapTrainErr(training.Interactive(cmd.Context(), lesson, out))
			}
			if lesson == "" {
				return &flagError{fmt.Errorf("--steps needs --lesson NAME (lessons: %s)", strings.Join(training.LessonNames(), ", "))}
			}
			_, err := training.Script(cmd.Context(), out, lesson, strings.Split(steps, ","), output == "json")
			return wrapTrainErr(err)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&lesson, "lesson", "", "the lesson: "+strings.Join(training.LessonNames(), ", "))
	fl.StringVar(&steps, "steps", "", "run the lesson's actions in this order, comma-separated, without the TUI")
	fl.StringVar(&output, "output", "text", "text or json (one event a line)")
	fl.BoolVar(&list, "list", false, "list the lessons, their actions and the safe sequence")
	return cmd
}

// wrapTrainErr makes an unknown lesson or action a usage error (exit 2).
func wrapTrainErr(err error) error {
	var ue *training.UsageError
	if errors.As(err, &ue) {
		return &flagError{err}
	}
	return err
}
