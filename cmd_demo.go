package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/demo"
	"github.com/shepherd-db/shepherd/engine"
)

// newDemoCmd is `shepherd demo`: a local SQLite database with example
// plans, and the TUI on them.
func newDemoCmd() *cobra.Command {
	var dir string
	var setup bool
	var batchSize int
	var maxRate float64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "a local SQLite demo database with the bundled example plans",
		Example: `  # the TUI on a demo database in ./.shepherd-demo
  shepherd demo

  # only create the database and plans, to script against them
  shepherd demo --setup --dir /tmp/shepherd-demo`,
		Args: exactArgs(0, "no arguments"),
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
	_ = cmd.MarkFlagDirname("dir")
	cmd.Flags().BoolVar(&setup, "setup", false, "only create the database and plans, and print how to use them")
	cmd.Flags().IntVar(&batchSize, "batch-size", 250, "backfill batch size in the demo")
	cmd.Flags().Float64Var(&maxRate, "max-rate", 5000, "cap the demo's backfills at this many rows per second, so that they can be watched and paused (0: no cap)")
	return cmd
}
