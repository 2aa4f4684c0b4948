package phases

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestCheckScalar(t *testing.T) {
	for _, tc := range []struct {
		in     string
		reason string // "" = accepted
	}{
		// One value of one row.
		{"lower(username) || '@example.com'", ""},
		{"concat(lower(username), '@example.com')", ""},
		{"CASE WHEN score > 0 THEN 'positive' ELSE 'other' END", ""},
		{"CASE score WHEN 1 THEN 'one' END", ""},
		{"coalesce(a, b)", ""},
		{"abs(amount)", ""},
		{"-1", ""},
		{"NULL", ""},
		{"0.5", ""},
		{".5 * x", ""},
		{"'it''s'", ""},
		{`"E-mail" || '-' || "ID"`, ""},
		{"`Work E-mail`", ""},
		{"x IS DISTINCT FROM y", ""},
		{"x IS NOT DISTINCT FROM y", ""},
		{"x IS NOT NULL", ""},
		{"x IN (1, 2, 3)", ""},
		{"x NOT IN ('a', 'b')", ""},
		{"x BETWEEN 1 AND 10", ""},
		{"ARRAY[1, 2]", ""},
		{"x = ANY (ARRAY['a', 'b'])", ""},
		{"x::double precision", ""},
		{"x::character varying(10)", ""},
		{"x::timestamp with time zone", ""},
		{"x::numeric(10,2)", ""},
		{"created_at AT TIME ZONE 'UTC'", ""},
		{"created_at AT TIME ZONE tz", ""},
		{"created_at + INTERVAL '1' DAY", ""},
		{"created_at + INTERVAL 1 DAY", ""},
		{"DATE '2020-01-01'", ""},
		{"CAST(x AS text)", ""},
		{"CONVERT(x USING utf8mb4)", ""},
		{"substring(x FROM 1 FOR 2)", ""},
		{"trim(BOTH ' ' FROM x)", ""},
		{"extract(year FROM created_at)", ""},
		{"x COLLATE \"C\"", ""},
		{"x COLLATE nocase", ""},
		{"x ISNULL", ""},
		{"data->>'key'", ""},
		{"_utf8mb4'x'", ""},
		{"max(a, b)", ""}, // SQLite's scalar max
		{"min(a, b, 0)", ""},
		{"(SELECT max(amount) FROM orders WHERE orders.user_id = users.id)", ""},
		{"(SELECT name FROM users u ORDER BY u.id LIMIT 1)", ""},
		{"(SELECT 'x' UNION SELECT 'y' LIMIT 1)", ""},
		{"((SELECT 1) UNION (SELECT 2))", ""},
		{"(WITH t AS (SELECT 1 AS a) SELECT a FROM t)", ""},
		{"EXISTS (SELECT 1 FROM orders WHERE orders.user_id = users.id)", ""},
		{"x IN (SELECT id FROM users)", ""},
		{"coalesce((SELECT count(*) FROM orders o WHERE o.user_id = users.id), 0)", ""},
		{"row_to_json(t.*)", ""},
		{"NOT active", ""},
		{"a OPERATOR(pg_catalog.+) b", ""},

		// Not one value.
		{"*", "* is every column"},
		{"t.*", "t.* is every column"},
		{"users.*", "users.* is every column"},
		{"username AS e", "alias (AS e)"},
		{"username e", "ends with e after a value"},
		{`username "e"`, `ends with "e" after a value`},
		{"lower(username) e", "ends with e"},
		{"CASE WHEN a THEN 1 END e", "ends with e"},
		{"DISTINCT username", "DISTINCT belongs to a SELECT list"},
		{"ALL username", "ALL belongs to a SELECT list"},
		{"max(x)", "max(…) is an aggregate"},
		{"count(*)", "count(…) is an aggregate"},
		{"coalesce(max(x), 0)", "max(…) is an aggregate"},
		{"string_agg(x, ',')", "string_agg(…) is an aggregate"},
		{"count(*) over ()", "count(…) OVER (…) is a window function"},
		{"sum(x) OVER (PARTITION BY y)", "sum(…) OVER (…) is a window function"},
		{"row_number()", "row_number(…) is a window function"},
		{"percentile_cont(0.5) WITHIN GROUP (ORDER BY x)", "WITHIN GROUP (…) is an aggregate"},
		{"count(*) FILTER (WHERE x > 0)", "FILTER (…) is an aggregate"},
		{"a, b", "',' outside parentheses"},
		{"username, '@example.com'", "concatenate them"},
		{"x UNION SELECT y", "UNION outside parentheses"},
		{"x UNION ALL SELECT y FROM t", "UNION outside parentheses"},
		{"x INTERSECT SELECT y", "INTERSECT"},
		{"x EXCEPT SELECT y", "EXCEPT"},
		{"x FROM t", "FROM outside parentheses"},
		{"x WHERE y", "WHERE outside parentheses"},
		{"x GROUP BY y", "GROUP outside parentheses"},
		{"x ORDER BY y", "ORDER outside parentheses"},
		{"x LIMIT 1", "LIMIT outside parentheses"},
		{"SELECT max(x) FROM t", "a subquery is written in parentheses"},
		{"x; drop table t", "contains ';'"},
		{"x -- comment", "'--' comment"},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			checkReason(t, "CheckScalar", tc.in, CheckScalar(tc.in), tc.reason)
			if tc.reason != "" {
				if err := CheckScalar(tc.in); err != nil && !strings.Contains(tc.reason, "';'") && !strings.Contains(tc.reason, "comment") && !strings.HasPrefix(err.Error(), "is not one value of one row: ") {
					t.Errorf("CheckScalar(%q) = %q: does not say it is not one value", tc.in, err)
				}
			}
		})
	}
}

func TestHasOperator(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"lower(username) || '@example.com'", true},
		{"a||b", true},
		{"'a || b'", false},
		{`"a||b"`, false},
		{"concat(a, b)", false},
	} {
		if got := HasOperator(tc.in, "||"); got != tc.want {
			t.Errorf("HasOperator(%q, ||) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestParseRefusesWhatIsNotOneValue: each field whose expression becomes a
// column's value refuses the forms of issue 12 at its line, before any
// database is asked.
func TestParseRefusesWhatIsNotOneValue(t *testing.T) {
	plans := []struct{ field, plan string }{
		{"backfill", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: %s\n"},
		{"clean.set.amount", "name: p\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: c, check: \"amount > 0\"}\nclean:\n  set:\n    amount: %s\n"},
		{"constraint.violating.amount", "name: p\nplaybook: tighten-constraint\ntable: orders\nconstraint:\n  name: c\n  check: \"amount > 0\"\n  violating:\n    amount: %s\n"},
	}
	forms := []string{"*", "t.*", "x AS e", "x e", "DISTINCT x", "max(x)", "count(*) over ()", "a, b", "username, '@example.com'", "x UNION SELECT y"}
	for _, p := range plans {
		for _, form := range forms {
			t.Run(p.field+"/"+form, func(t *testing.T) {
				q, _ := json.Marshal(form)
				text := fmt.Sprintf(p.plan, q)
				_, err := Parse("plan.yaml", []byte(text))
				if err == nil {
					t.Fatalf("accepted %s: %s", p.field, form)
				}
				line := strings.Count(text[:strings.Index(text, string(q))], "\n") + 1
				want := regexp.MustCompile(fmt.Sprintf(`^plan\.yaml:%d: %s: %s is not one value of one row: .+; give one SQL expression`, line, regexp.QuoteMeta(p.field), regexp.QuoteMeta(string(q))))
				if !want.MatchString(err.Error()) {
					t.Errorf("the error is\n  %s\nwant /%s/", err, want)
				}
			})
		}
	}
}

// FuzzCheckScalar: no input panics the check, and what it accepts is one
// expression as CheckExpr reads it.
func FuzzCheckScalar(f *testing.F) {
	for _, s := range []string{"lower(username) || '@x'", "a, b", "x AS e", "count(*) over ()", "(SELECT max(a) FROM t)", "t.*", "((SELECT 1) UNION (SELECT 2))", "max(a, b)", ")(", "[", "]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckScalar(s) == nil && CheckExpr(s) != nil {
			t.Fatalf("CheckScalar accepted %q, which CheckExpr refuses", s)
		}
		HasOperator(s, "||")
	})
}
