package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
)

// newPlanCmd is `shepherd plan PLAN`: the review of a plan, per dialect
// without a database, or as the database given will run it.
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
		Example: `  # every dialect, without a database
  shepherd plan plans/users-email.yaml

  # one dialect
  shepherd plan plans/users-email.yaml --dialect mysql

  # as this database will run it, read-only
  shepherd plan plans/users-email.yaml --db "$DSN"`,
		Args:              exactArgs(1, "one plan file"),
		ValidArgsFunction: completePlanFiles,
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
	_ = cmd.RegisterFlagCompletionFunc("dialect", completeDialect())
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
