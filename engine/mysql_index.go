package engine

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// MySQL's and MariaDB's side of add-index and drop-index (the indexer
// capability, explain.go).

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
