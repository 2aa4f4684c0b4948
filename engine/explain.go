package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// indexer is what each dialect says of add-index's index: what it cannot
// build, how its build is watched, and how to read its planner's EXPLAIN.
// Every dialect has one (checked below at compile time).
type indexer interface {
	// indexProblems lists what of the plan's index the dialect cannot
	// build, as "field: what is wrong; what to do".
	indexProblems(ix phases.IndexSpec, where string) []string
	// indexBuildNote says, in a preview, how a build is watched.
	indexBuildNote() string
	// analyzesBeforeExplain reports whether verify-index refreshes the
	// planner's statistics before it EXPLAINs the query.
	analyzesBeforeExplain() bool
	// countsIndexUse reports whether the database can count an index's
	// use at all (index-usage).
	countsIndexUse() bool
	// noUsageCount says why this database gave no count of an index's
	// use, and what to do instead.
	noUsageCount() string
	// readExplain reads the rows of the explain template: whether the
	// plan uses the index (is reports whether a name is the index's: on a
	// partitioned table, its partitions' indexes are too), and what the
	// plan does.
	readExplain(rows *sql.Rows, is func(name string) bool) (uses bool, chose string, err error)
}

var (
	_ indexer = postgresDialect{}
	_ indexer = (*mysqlDialect)(nil)
	_ indexer = sqliteDialect{}
)

func indexerOf(d dialect) indexer { return d.(indexer) }

// explainProblem is the problem with the plan's query: when the database
// cannot plan it against the live table (a typo, a column that is not
// there), before anything changes.
func (s *Session) explainProblem(ctx context.Context, query string) string {
	d := s.builder().base()
	d.Expr = query
	rows, err := s.query(ctx, s.db, "explain", d, nil)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err != nil {
		return fmt.Sprintf("query: the database cannot plan it: %v", s.dsn.scrub(err))
	}
	return ""
}

// verifyIndexUse is verify-index's check: the index is valid and ready,
// and with query:, the database's own plan for the query uses it.
func (s *Session) verifyIndexUse(b builder) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		detail, err := s.verifyIndex(b, verifyIndexPhase)(ctx, q)
		if err != nil {
			return "", err
		}
		query, ok := b.indexQuery()
		if !ok {
			return detail + "; the plan gives no query: to EXPLAIN", nil
		}
		if indexerOf(s.d).analyzesBeforeExplain() {
			if _, err := s.exec(ctx, q, "analyze", b.base(), nil); err != nil {
				return "", fmt.Errorf("%s: analyze %s: %w", verifyIndexPhase, s.plan.Table, err)
			}
		}
		d := b.base()
		d.Expr = query
		rows, err := s.query(ctx, q, "explain", d, nil)
		if err != nil {
			return "", fmt.Errorf("%s: explain the plan's query: %w", verifyIndexPhase, err)
		}
		defer rows.Close()
		name := s.plan.AddIndex.Index.Name
		is := func(n string) bool {
			return strings.EqualFold(n, name) || s.table.ownsIndex(name, n)
		}
		uses, chose, err := indexerOf(s.d).readExplain(rows, is)
		if err != nil {
			return "", fmt.Errorf("%s: read the query's plan: %w", verifyIndexPhase, err)
		}
		if !uses {
			return "", &VerifyError{Phase: verifyIndexPhase,
				What: fmt.Sprintf("the database's plan for the query does not use %s: the planner chose %s", name, chose),
				Hint: "on a small table a full scan is the planner's right choice; otherwise check that the query's WHERE matches the index's leading columns (and its where:), then rerun verify-index"}
		}
		return detail + "; the query's plan uses " + name, nil
	}
}
