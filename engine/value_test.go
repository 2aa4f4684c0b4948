package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// The server's half of the value check: the plan parser refuses these
// forms already, so the plans here are changed after parsing, as a plan
// built in code (or a form the parser's lexer cannot see) would reach the
// engine. Each must be refused by the database itself, in Inspect (plan
// --db) and Start (run), before anything is created.

const valueAccounts = `CREATE TABLE accounts (id integer PRIMARY KEY, username varchar(100) NOT NULL, score integer NOT NULL);
INSERT INTO accounts (id, username, score) VALUES (1, 'alice', 5), (2, 'bob', -3)`

// valuePlans are plans with one expression field each, and how to set it
// on the parsed plan.
var valuePlans = []struct {
	field string
	plan  string
	set   func(p *phases.Plan, expr string)
}{
	{"backfill", `name: accounts-email
playbook: add-column
table: accounts
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "username"
`, func(p *phases.Plan, e string) { p.AddColumn.Backfill = phases.PerDialect{All: e} }},
	{"clean.set.username", `name: accounts-username-short
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_username_short, check: "length(username) < 50"}
clean: {set: {username: "username"}}
`, func(p *phases.Plan, e string) { p.Tighten.Clean[0].Expr = phases.PerDialect{All: e} }},
	{"constraint.violating.username", `name: accounts-username-short
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_username_short, check: "length(username) < 50", violating: {username: "'x'"}}
`, func(p *phases.Plan, e string) { p.Tighten.Constraint.Violating[0].Expr = phases.PerDialect{All: e} }},
}

// schemaProblem returns the problems of a *SchemaError, or fails.
func schemaProblem(t *testing.T, what string, err error) string {
	t.Helper()
	var se *SchemaError
	if !errors.As(err, &se) {
		t.Fatalf("%s: %v, want a *SchemaError", what, err)
	}
	return strings.Join(se.Problems, "\n")
}

// noChange checks that accounts is as valueAccounts left it and that no
// shepherd table exists.
func noChange(t *testing.T, db *testdb.DB) {
	t.Helper()
	var cols, objects string
	switch db.Dialect {
	case "postgres":
		cols = db.One(`SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts'`)
		objects = db.One(`SELECT count(*) FROM pg_catalog.pg_class WHERE relname LIKE 'shepherd%'`)
	case "mysql":
		cols = db.One(`SELECT group_concat(column_name ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts'`)
		objects = db.One(`SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'shepherd%'`)
	case "sqlite":
		cols = db.One(`SELECT group_concat(name, ',') FROM pragma_table_info('accounts')`)
		objects = db.One(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'shepherd%'`)
	}
	if cols != "id,username,score" {
		t.Errorf("accounts has columns %s, want id,username,score", cols)
	}
	if objects != "0" {
		t.Errorf("%s shepherd tables exist: nothing may be created before the plan is known to fit", objects)
	}
}

// refusedByServer asks Inspect and Start for the plan; both must refuse
// it with a problem of field that says want.
func refusedByServer(t *testing.T, eng *Engine, p *phases.Plan, field string, want ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := eng.Inspect(ctx, p, Options{})
	problem := schemaProblem(t, "Inspect", err)
	s, err := eng.Start(ctx, p, Options{})
	if s != nil {
		s.Close()
	}
	if again := schemaProblem(t, "Start", err); again != problem {
		t.Errorf("Start says %q, Inspect %q", again, problem)
	}
	if !strings.HasPrefix(problem, field+": ") {
		t.Errorf("the problem is not about %s: %s", field, problem)
	}
	for _, w := range want {
		if !strings.Contains(problem, w) {
			t.Errorf("the problem does not say %q: %s", w, problem)
		}
	}
}

func TestServerRefusesWhatIsNotOneValue(t *testing.T) {
	forms := []struct{ expr, want string }{
		{"*", ""},
		{"accounts.*", ""},
		{"username AS e", ""},
		{"username e", ""},
		{"DISTINCT username", ""},
		{"max(username)", "not one value per row"},
		{"count(*) over ()", "not one value per row"},
		{"username, score", ""},
		{"username, '@example.com'", ""},
		{"username UNION SELECT username FROM accounts", ""},
		{"(username, '@example.com')", ""},
		{"coalesce(max(username), 'x')", "not one value per row"},
	}
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(valueAccounts)
		eng, err := Open(context.Background(), db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		for _, vp := range valuePlans {
			for _, f := range forms {
				t.Run(vp.field+"/"+f.expr, func(t *testing.T) {
					p := mustPlan(t, vp.plan)
					vp.set(p, f.expr)
					want := []string{f.expr}
					if f.want != "" {
						want = append(want, f.want)
					}
					refusedByServer(t, eng, p, vp.field, want...)
				})
			}
		}
		noChange(t, db)
	})
}

func TestServerChecksTypes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(valueAccounts)
		ctx := context.Background()
		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		typed := func(typ, backfill string) *phases.Plan {
			p := mustPlan(t, valuePlans[0].plan)
			p.AddColumn.Type = phases.PerDialect{All: typ}
			p.AddColumn.Backfill = phases.PerDialect{All: backfill}
			return p
		}
		renamed := func(typ string) *phases.Plan {
			return mustPlan(t, "name: accounts-handle\nplaybook: rename-column\ntable: accounts\ncolumn: username\nto: handle\ntype: \""+typ+"\"\n")
		}
		cleaned := func(expr string) *phases.Plan {
			p := mustPlan(t, valuePlans[1].plan)
			p.Tighten.Clean = []phases.Assign{{Column: "score", Expr: phases.PerDialect{All: expr}}}
			return p
		}
		bad := []struct {
			name  string
			plan  *phases.Plan
			field string
			want  string
		}{
			{"unknown type", typed("txet", "username"), "type", "txet"},
			{"text into a new integer column", typed("integer", "username"), "backfill", "integer"},
			{"text into an integer column", cleaned("username"), "clean.set.score", "int"},
			{"a rename into a type the old column's values do not take", renamed("integer"), "type", "integer"},
			{"a date into an integer column", cleaned("CURRENT_DATE"), "clean.set.score", ""},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				if db.Dialect == "sqlite" {
					// SQLite takes any type name and stores any value in
					// any column: nothing here is refused.
					v, err := eng.Inspect(ctx, b.plan, Options{})
					if err != nil {
						t.Fatalf("SQLite refuses %s: %v", b.name, err)
					}
					if b.name == "unknown type" && !strings.Contains(strings.Join(v.Warnings(), "\n"), `type: SQLite gives "txet" NUMERIC affinity`) {
						t.Errorf("no warning about txet's affinity: %q", v.Warnings())
					}
					return
				}
				refusedByServer(t, eng, b.plan, b.field, b.want)
			})
		}
		noChange(t, db)

		good := []struct {
			name string
			plan *phases.Plan
		}{
			{"varchar(255)", typed("varchar(255)", "username")},
			{"numeric(10,2)", typed("numeric(10,2)", "score * 1.5")},
			{"an integer into a text column", typed("varchar(20)", "score")},
			{"a literal into an integer column", cleaned("0")},
			{"NULL", cleaned("NULL")},
			{"a scalar subquery", typed("varchar(100)", "(SELECT max(a2.username) FROM accounts a2 WHERE a2.id < accounts.id)")},
			{"CASE", typed("varchar(10)", "CASE WHEN score > 0 THEN 'positive' ELSE 'other' END")},
			{"coalesce", cleaned("coalesce(score, 0) + 1")},
			{"a rename to a wider type", renamed("varchar(200)")},
		}
		for _, g := range good {
			t.Run("good/"+g.name, func(t *testing.T) {
				v, err := eng.Inspect(ctx, g.plan, Options{})
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// A tighten-constraint plan's CHECK on MySQL warns that
				// it copies the table (--allow-lock): not about the value.
				var w []string
				for _, x := range v.Warnings() {
					if !strings.Contains(x, "--allow-lock") {
						w = append(w, x)
					}
				}
				if len(w) > 0 && !strings.Contains(g.name, "rename") {
					t.Errorf("warnings: %q", w)
				}
			})
		}
		noChange(t, db)
	})
}

// TestValueChecksWithoutTemporaryTables: a user that may read but not
// create a temporary table (plan --db with read-only rights) still gets
// every check that needs none, and is told which check it did not get.
func TestValueChecksWithoutTemporaryTables(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Exec(valueAccounts)
			u, _ := url.Parse(db.DSN)
			database := strings.TrimPrefix(u.Path, "/")
			role := "nt_" + strings.TrimPrefix(database, "shepherd_t_")
			switch dialect {
			case "postgres":
				db.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN`, role))
				db.Exec(fmt.Sprintf(`GRANT SELECT ON accounts TO %s`, role))
				db.Exec(fmt.Sprintf(`REVOKE TEMPORARY ON DATABASE %s FROM PUBLIC`, database))
				t.Cleanup(func() {
					db.SQL.ExecContext(context.Background(), fmt.Sprintf(`DROP OWNED BY %s`, role))
					db.SQL.ExecContext(context.Background(), fmt.Sprintf(`DROP ROLE %s`, role))
				})
				u.User = url.User(role)
			case "mysql":
				db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'nt-pass'", role))
				db.Exec(fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%'", database, role))
				t.Cleanup(func() { db.SQL.ExecContext(context.Background(), fmt.Sprintf("DROP USER '%s'@'%%'", role)) })
				u.User = url.UserPassword(role, "nt-pass")
			}
			ctx := context.Background()
			eng, err := Open(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			p := mustPlan(t, valuePlans[0].plan)
			v, err := eng.Inspect(ctx, p, Options{})
			if err != nil {
				t.Fatalf("a good plan: %v", err)
			}
			if w := strings.Join(v.Warnings(), "\n"); !strings.Contains(w, `"username" was not checked against the type of the new column email`) || !strings.Contains(w, "may not create the temporary table") {
				t.Errorf("the warnings do not say what was not checked: %q", w)
			}
			if dialect == "postgres" {
				// PostgreSQL checks a type without a table too.
				p := mustPlan(t, valuePlans[0].plan)
				p.AddColumn.Type = phases.PerDialect{All: "txet"}
				_, err := eng.Inspect(ctx, p, Options{})
				if problem := schemaProblem(t, "txet", err); !strings.Contains(problem, `type: the database does not take "txet" as a column's type`) {
					t.Errorf("txet: %s", problem)
				}
			}
			for _, bad := range []struct{ expr, want string }{
				{"max(username)", "not one value per row"},
				{"username, '@example.com'", ""},
				{"username AS e", "the database rejects"},
			} {
				p := mustPlan(t, valuePlans[0].plan)
				p.AddColumn.Backfill = phases.PerDialect{All: bad.expr}
				_, err := eng.Inspect(ctx, p, Options{})
				if problem := schemaProblem(t, bad.expr, err); !strings.Contains(problem, bad.want) {
					t.Errorf("%s: %s", bad.expr, problem)
				}
			}
		})
	}
}
