package engine

import (
	"context"
	"database/sql"
	"encoding/json"
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

// ---------- PostgreSQL ----------

func (postgresDialect) indexProblems(phases.IndexSpec, string) []string { return nil }

func (postgresDialect) indexBuildNote() string {
	return "while the index builds, shepherd reads pg_stat_progress_create_index every half second and shows the build's phase and its blocks or tuples done; a build that fails or is stopped leaves an INVALID index, which a rerun drops and builds again"
}

func (postgresDialect) analyzesBeforeExplain() bool { return true }

func (postgresDialect) countsIndexUse() bool { return true }

func (postgresDialect) noUsageCount() string {
	return "PostgreSQL gave no count of its use (pg_stat_user_indexes has no row for it): check the queries' plans by hand"
}

// readExplain reads EXPLAIN (FORMAT JSON): one row holding the plan tree.
// An index is used by an Index Scan, an Index Only Scan or a Bitmap Index
// Scan that names it, anywhere in the tree.
func (postgresDialect) readExplain(rows *sql.Rows, is func(string) bool) (bool, string, error) {
	var text string
	if !rows.Next() {
		return false, "", fmt.Errorf("EXPLAIN returned no plan")
	}
	if err := rows.Scan(&text); err != nil {
		return false, "", err
	}
	var doc []struct {
		Plan pgPlanNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil || len(doc) == 0 {
		return false, "", fmt.Errorf("EXPLAIN's JSON: %v", err)
	}
	var scans []string
	var uses bool
	var walk func(n pgPlanNode)
	walk = func(n pgPlanNode) {
		if n.IndexName != "" && is(n.IndexName) {
			uses = true
		}
		if strings.Contains(n.NodeType, "Scan") {
			scan := n.NodeType
			if n.IndexName != "" {
				scan += " using " + n.IndexName
			}
			if n.Relation != "" {
				scan += " on " + n.Relation
			}
			scans = append(scans, scan)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(doc[0].Plan)
	if len(scans) == 0 {
		scans = append(scans, doc[0].Plan.NodeType)
	}
	return uses, strings.Join(scans, ", "), rows.Err()
}

type pgPlanNode struct {
	NodeType  string       `json:"Node Type"`
	Relation  string       `json:"Relation Name"`
	IndexName string       `json:"Index Name"`
	Plans     []pgPlanNode `json:"Plans"`
}

// ---------- MySQL and MariaDB ----------

func (*mysqlDialect) indexProblems(ix phases.IndexSpec, where string) []string {
	var problems []string
	if where != "" {
		problems = append(problems, "index.where: MySQL and MariaDB have no partial indexes; leave where: out for mysql (give it per dialect, {postgres: …, sqlite: …}), or index without it")
	}
	if ix.Using != "" {
		problems = append(problems, fmt.Sprintf("index.using: %s is PostgreSQL's index method; MySQL and MariaDB build InnoDB indexes as B-trees: leave using: out", ix.Using))
	}
	return problems
}

func (*mysqlDialect) indexBuildNote() string {
	return "where performance_schema is on with InnoDB's alter stages (stage/innodb/alter%, and the events_stages_current consumer), shepherd shows how far the build has got; without it, no progress is reported"
}

func (*mysqlDialect) analyzesBeforeExplain() bool { return false }

func (*mysqlDialect) countsIndexUse() bool { return true }

func (*mysqlDialect) noUsageCount() string {
	return "MySQL and MariaDB count index use only with performance_schema on, and it is off here: check the queries' plans by hand (EXPLAIN), or turn performance_schema on"
}

// readExplain reads EXPLAIN's table: one row per table of the query, with
// the index it uses in key (index_merge lists several, comma-separated).
func (*mysqlDialect) readExplain(rows *sql.Rows, is func(string) bool) (bool, string, error) {
	cols, err := rows.Columns()
	if err != nil {
		return false, "", err
	}
	var uses bool
	var chose []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return false, "", err
		}
		row := map[string]string{}
		for i, c := range cols {
			row[strings.ToLower(c)] = vals[i].String
		}
		for _, k := range strings.Split(row["key"], ",") {
			if k = strings.TrimSpace(k); k != "" && is(k) {
				uses = true
			}
		}
		what := "access " + row["type"]
		if row["key"] != "" {
			what += " using " + row["key"]
		}
		if row["table"] != "" {
			what += " on " + row["table"]
		}
		chose = append(chose, what)
	}
	return uses, strings.Join(chose, ", "), rows.Err()
}

// ---------- SQLite ----------

func (sqliteDialect) indexProblems(ix phases.IndexSpec, _ string) []string {
	if ix.Using != "" && ix.Using != "btree" {
		return []string{fmt.Sprintf("index.using: SQLite has only B-tree indexes, not %s: leave using: out", ix.Using)}
	}
	return nil
}

func (sqliteDialect) indexBuildNote() string {
	return "SQLite reports no progress of a CREATE INDEX; the database stays write-locked until it is built"
}

func (sqliteDialect) analyzesBeforeExplain() bool { return false }

func (sqliteDialect) countsIndexUse() bool { return false }

func (sqliteDialect) noUsageCount() string {
	return "SQLite counts no index use: check the queries' plans by hand (EXPLAIN QUERY PLAN)"
}

// readExplain reads EXPLAIN QUERY PLAN: a row per step, whose detail says
// "SEARCH t USING INDEX name (…)" or "… USING COVERING INDEX name …".
func (sqliteDialect) readExplain(rows *sql.Rows, is func(string) bool) (bool, string, error) {
	var uses bool
	var chose []string
	for rows.Next() {
		var id, parent, notused int64
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return false, "", err
		}
		for _, w := range []string{"USING INDEX ", "USING COVERING INDEX "} {
			if i := strings.Index(detail, w); i >= 0 {
				rest := detail[i+len(w):]
				if name, _, _ := strings.Cut(rest, " "); is(name) {
					uses = true
				}
			}
		}
		chose = append(chose, detail)
	}
	return uses, strings.Join(chose, ", "), rows.Err()
}
