package engine

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// PostgreSQL's side of add-index and drop-index (the indexer capability,
// explain.go): what it builds, how a build is watched, and how its
// EXPLAIN is read.

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
