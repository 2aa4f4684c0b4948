package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/phases"
)

// newExportCmd is `shepherd export PLAN`: the plan's DDL phases as
// migration files for other tools.
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
		Example: `  shepherd export plans/users-email.yaml --dialect postgres --dir migrations --format goose
  shepherd export plans/users-email.yaml --dialect mysql --dir db/migrate --format golang-migrate`,
		Args:              exactArgs(1, "one plan file"),
		ValidArgsFunction: completePlanFiles,
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
	_ = cmd.RegisterFlagCompletionFunc("dialect", completeDialect())
	_ = cmd.RegisterFlagCompletionFunc("format", completeFormat())
	_ = cmd.MarkFlagDirname("dir")
	fl.BoolVar(&force, "force", false, "write into a folder that has files: this plan's earlier export is replaced, other files are kept")
	return cmd
}
