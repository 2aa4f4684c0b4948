package phases

import (
	"strings"
	"testing"
)

var addIndexPlan = []string{
	"name: orders-user-idx",
	"playbook: add-index",
	"table: orders",
	"index:",
	"  name: orders_user_idx",
	"  columns: [user_id, created_at]",
	`  where: "deleted_at IS NULL"`,
	`query: "SELECT id FROM orders WHERE user_id = 42 AND deleted_at IS NULL"`,
}

func TestParseAddIndex(t *testing.T) {
	p := mustParse(t, yamlOf(addIndexPlan))
	a := p.AddIndex
	if a == nil || p.AddColumn != nil || p.RenameColumn != nil || p.Tighten != nil {
		t.Fatalf("specs: add-index %v, others %v %v %v", a, p.AddColumn, p.RenameColumn, p.Tighten)
	}
	eq(t, "Index", a.Index, IndexSpec{Name: "orders_user_idx", Columns: []string{"user_id", "created_at"}, Where: PerDialect{All: "deleted_at IS NULL"}})
	eqFor(t, a.Query, SQLite, "SELECT id FROM orders WHERE user_id = 42 AND deleted_at IS NULL", true)
	eq(t, "Line(index.columns)", p.Line("index.columns"), 6)
	eq(t, "IndexLabel", p.In(Postgres).IndexLabel(), "orders_user_idx (user_id, created_at) WHERE deleted_at IS NULL")
	eq(t, "Expand", p.In(Postgres).Expand("{index} on {table}"), "orders_user_idx (user_id, created_at) WHERE deleted_at IS NULL on orders")
	// The canonical record carries the index and the query, so editing
	// either is a changed plan.
	c := string(p.Canonical())
	for _, want := range []string{`"index":{"name":"orders_user_idx","columns":["user_id","created_at"],"where":{"all":"deleted_at IS NULL"}}`, `"query":{"all":"SELECT id FROM orders`} {
		if !strings.Contains(c, want) {
			t.Errorf("Canonical %s lacks %s", c, want)
		}
	}
	other := mustParse(t, yamlOf(append(append([]string{}, addIndexPlan[:5]...), "  columns: [user_id]")))
	if other.Hash() == p.Hash() {
		t.Errorf("another column list has the same hash")
	}
	using := mustParse(t, yamlOf(append(append([]string{}, addIndexPlan[:6]...), "  using: brin")))
	eq(t, "Using", using.AddIndex.Index.Using, "brin")
}

func TestParseRejectsBadAddIndex(t *testing.T) {
	f := planFile
	base := addIndexPlan[:6]
	with := func(lines ...string) string { return yamlOf(append(append([]string{}, base...), lines...)) }
	for _, tc := range []errCase{
		{name: "no index", yaml: yamlOf(addIndexPlan[:3]), want: []string{f + ": index: is missing"}, field: "index", count: 1},
		{name: "no name", yaml: yamlOf(append(append([]string{}, addIndexPlan[:4]...), "  columns: [user_id]")),
			want: []string{"index.name: is missing"}, field: "index.name", line: 0, count: 1},
		{name: "no columns", yaml: yamlOf(addIndexPlan[:5]), want: []string{"index.columns: is missing"}, count: 1},
		{name: "a column twice", yaml: yamlOf(append(append([]string{}, addIndexPlan[:5]...), "  columns: [user_id, user_id]")),
			want: []string{f + ":6: index.columns: names \"user_id\" twice"}, line: 6, field: "index.columns", count: 1},
		{name: "bad column name", yaml: yamlOf(append(append([]string{}, addIndexPlan[:5]...), "  columns: [\"a\\u0000b\"]")),
			want: []string{"index.columns:"}},
		{name: "unknown method", yaml: with("  using: btreee"), want: []string{f + ":7: index.using: \"btreee\" is not an index method; use one of btree, hash"}, line: 7, field: "index.using", count: 1},
		{name: "where is a list", yaml: with(`  where: "a, b"`), want: []string{"index.where:", "is not one value of one row"}, count: 1},
		{name: "query writes", yaml: with(`query: "SELECT 1; DELETE FROM orders"`), want: []string{f + ":7: query:", "';'"}, line: 7, field: "query", count: 1},
		{name: "query is not a select", yaml: with(`query: "DELETE FROM orders WHERE id = 1"`), want: []string{"query:", "must start with SELECT or WITH"}, count: 1},
		{name: "query with a writing CTE", yaml: with(`query: "WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d"`), want: []string{"query:", "contains DELETE"}, count: 1},
		{name: "another playbook's field", yaml: with("column: email"), want: []string{f + ":7: column: is not used by the add-index playbook"}, line: 7, field: "column", count: 1},
		{name: "index in another playbook", yaml: yamlOf(append(append([]string{}, addColumnPlan...), "index: {name: x, columns: [a]}")),
			want: []string{":7: index: is not used by the add-column playbook"}, line: 7, field: "index", count: 1},
		{name: "query in another playbook", yaml: yamlOf(append(append([]string{}, tightenPlan...), `query: "SELECT 1"`)),
			want: []string{":10: query: is not used by the tighten-constraint playbook"}, line: 10, field: "query", count: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse(t, planFile, tc.yaml)
			if err == nil {
				t.Fatalf("accepted, want an error; plan %s\n%s", p.Canonical(), tc.yaml)
			}
			checkPlanError(t, err, planFile, tc)
		})
	}
}

func TestCheckQuery(t *testing.T) {
	for q, ok := range map[string]bool{
		"SELECT * FROM orders WHERE user_id = 1":              true,
		"select id from orders where user_id = 1;":            true,
		"WITH x AS (SELECT 1 AS a) SELECT a FROM x":           true,
		"SELECT id FROM orders WHERE note = 'drop table; --'": true,
		"SELECT 1 -- a comment":                               false,
		"SELECT 1; SELECT 2":                                  false,
		"UPDATE orders SET a = 1":                             false,
		"SELECT * INTO copy FROM orders":                      false,
		"EXPLAIN ANALYZE DELETE FROM orders":                  false,
		"":                                                    false,
	} {
		if err := CheckQuery(q); (err == nil) != ok {
			t.Errorf("CheckQuery(%q) = %v, want ok %v", q, err, ok)
		}
	}
}
