package engine

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// SQLite's side of add-index and drop-index (the indexer capability,
// explain.go).

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
