package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/review"
	"github.com/shepherd-db/shepherd/tui"
)

// errUnsafe is review's exit 1: the rehearsal found unsafe statements.
type errUnsafe struct{ n int }

func (e *errUnsafe) Error() string {
	return fmt.Sprintf("review found %d unsafe migration statement(s)", e.n)
}

// newReviewCmd is `shepherd review PATH`: rehearse a migration folder's new
// statements on a scratch database on the --db server (PostgreSQL,
// MySQL/MariaDB, or a scratch file for SQLite) and report the unsafe ones.
func newReviewCmd(g *globals) *cobra.Command {
	var since, plansDir string
	var asJSON, github, nonInteractive bool
	cmd := &cobra.Command{
		Use:   "review PATH --db DSN",
		Short: "rehearse a migration folder or file on a scratch database and report unsafe statements",
		Long: `review reads a folder of migrations (plain .sql files in name order, goose's
-- +goose Up sections, golang-migrate's *.up.sql, drizzle-kit's NNNN_name.sql
in meta/_journal.json order) or one file, and rehearses the new ones on a
scratch copy: it creates a scratch database beside the --db database (for
SQLite, a temporary file), replays the migrations before the new ones there,
then runs each new statement and observes what the real server does with
it. PostgreSQL: the locks it takes (in a transaction, before rolling it
back and applying it) and whether it rewrites or scans the table.
MySQL/MariaDB: which of ALGORITHM=INSTANT, INPLACE with LOCK=NONE or
LOCK=SHARED, or only a table copy the server accepts. SQLite: whether it
rebuilds a table or builds an index under the write lock. The --db database
itself is only read, for its tables' row estimates; the scratch database is
always dropped (and one left by a killed review is dropped by the next).

In a terminal (without -o, --github or --non-interactive) it opens a TUI:
the findings listed, each opening its explanation and its proposed plan.

The new migrations are those from --since FILE on (all of them without it;
PATH as one file: that file, after the ones before it in its folder).

Exit codes: 0 nothing unsafe, 1 unsafe statements found (or the rehearsal
failed), 2 usage error (a bad path, no --db).`,
		Example: `  shepherd review drizzle --db "$DSN"
  shepherd review db/migrations --since 20260105_add_email.sql --db "$DSN" --github
  shepherd review migrations/0003_users.sql --db "$DSN" --write-plans plans`,
		Args: exactArgs(1, "one migration folder or file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("github") && !cmd.Flags().Changed("output") && os.Getenv("GITHUB_ACTIONS") == "true" {
				github = true
			}
			if asJSON && github {
				return &flagError{errors.New("--output json and --github are two outputs: choose one")}
			}
			files, firstNew, err := review.Read(args[0], since)
			if err != nil {
				var u *review.UsageError
				if errors.As(err, &u) {
					return &flagError{err}
				}
				return err
			}
			dsn, err := engine.ParseDSN(g.dsn())
			if err != nil {
				return err
			}
			rehearse := func(ctx context.Context) (*review.Report, error) {
				return review.Rehearse(ctx, review.Options{DSN: g.dsn(), StaleAfter: reviewStaleAfter()}, files, firstNew)
			}
			// In a terminal, without -o or --github: the findings on screen,
			// each opening its explanation and its plan.
			useTUI := !nonInteractive && !github && !cmd.Flags().Changed("output") && interactive(cmd)
			var rep *review.Report
			if useTUI {
				tuiHoldsTerminal(cmd.Context())
				rep, err = tui.RunReview(cmd.Context(), tui.ReviewConfig{Path: args[0], Target: dsn.Short(), Rehearse: rehearse,
					Replayed: firstNew, New: len(files) - firstNew})
			} else {
				rep, err = rehearse(cmd.Context())
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case useTUI:
				// The screen showed the findings; the terminal keeps what
				// the review concluded.
				verdict := "nothing unsafe"
				if n := len(rep.Findings); n > 0 {
					verdict = fmt.Sprintf("%d unsafe (--non-interactive prints them)", n)
				}
				_, err = fmt.Fprintf(out, "review: %d statement(s) rehearsed, %s\n", rep.Statements, verdict)
			case asJSON:
				err = review.WriteJSON(out, rep)
			case github:
				err = review.WriteGitHub(out, rep)
			default:
				err = review.WriteText(out, rep)
			}
			if err != nil {
				return fmt.Errorf("review: write the report: %w", err)
			}
			if plansDir != "" {
				wrote, err := review.WritePlans(plansDir, rep.Findings)
				for _, p := range wrote {
					fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (shepherd plan %s shows it)\n", p, p)
				}
				if err != nil {
					return err
				}
			}
			if len(rep.Findings) > 0 {
				return &errUnsafe{len(rep.Findings)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&g.db, "db", "", dbHelp)
	fl.StringVar(&since, "since", "", "the first new migration file (the ones before it are replayed, not reviewed)")
	fl.VarP(outputFlag{&asJSON}, "output", "o", "text or json")
	fl.BoolVar(&github, "github", false, "GitHub Actions error annotations (the default when GITHUB_ACTIONS=true)")
	fl.BoolVar(&nonInteractive, "non-interactive", false, "print the report instead of opening the TUI in a terminal")
	fl.StringVar(&plansDir, "write-plans", "", "write the shepherd plan of each risky change into this folder")
	return cmd
}
