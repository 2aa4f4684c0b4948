package templates

import (
	"sort"
	"strings"
	"testing"
)

func quoteDouble(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func names(t *testing.T, s *Set) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, tm := range s.tmpl.Templates() {
		if tm.Name() != s.Dialect && !strings.HasSuffix(tm.Name(), ".sql") {
			out[tm.Name()] = true
		}
	}
	return out
}

// notOnPostgres are the templates only other dialects' own code reads:
// table-definition is the CREATE TABLE text that SQLite's table rebuild and
// MySQL's CHECK inspection parse; PostgreSQL reads its catalog instead.
var notOnPostgres = map[string]bool{"table-definition": true}

// PostgreSQL defines every template SQLite does (but notOnPostgres): the
// engine looks them up by name on every dialect.
func TestPostgresDefinesEverySQLiteTemplate(t *testing.T) {
	pg, err := Load("postgres", quoteDouble, Dollar)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := Load("sqlite", quoteDouble, Question)
	if err != nil {
		t.Fatal(err)
	}
	have := names(t, pg)
	var missing []string
	for name := range names(t, lite) {
		if !have[name] && !notOnPostgres[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("templates/postgres.sql lacks %s", strings.Join(missing, ", "))
	}
}

// Placeholders are numbered in order, and values bound at render time keep
// their place among named parameters.
func TestPostgresPlaceholders(t *testing.T) {
	pg, err := Load("postgres", quoteDouble, Dollar)
	if err != nil {
		t.Fatal(err)
	}
	data := struct {
		Schema, Table, Column, Key, CheckName string
		HasLo                                 bool
		Keys                                  []string // a composite key's columns: none here
	}{Schema: "app", Table: "users", Column: "email", Key: "id", CheckName: "shepherd_nn_users_email", HasLo: true}
	st, err := pg.Query("column-not-null", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.SQL, "attrelid = to_regclass($1) AND attname = $2") {
		t.Errorf("column-not-null: %s", st.SQL)
	}
	args, err := st.Args(nil)
	if err != nil || len(args) != 2 || args[0] != `"app"."users"` || args[1] != "email" {
		t.Errorf("column-not-null args: %v %v", args, err)
	}
	script, err := pg.Script("set-not-null", data)
	if err != nil {
		t.Fatal(err)
	}
	modes := []Mode{Own, Own, InTx, InTx}
	if len(script) != len(modes) {
		t.Fatalf("set-not-null has %d steps, want %d", len(script), len(modes))
	}
	for i, step := range script {
		if step.Mode != modes[i] || step.Lock == "" {
			t.Errorf("step %d: mode %q lock %q", i+1, step.Mode, step.Lock)
		}
		if (step.Applied != nil) != (i < 2) {
			t.Errorf("step %d: applied probe %v", i+1, step.Applied)
		}
	}
	if got := script[0].Applied.SQL; !strings.Contains(got, "conrelid = to_regclass($1) AND conname = $2") {
		t.Errorf("set-not-null probe: %s", got)
	}
	upper, err := pg.Query("upper-bound", data)
	if err != nil {
		t.Fatal(err)
	}
	if upper.SQL != `SELECT "id" FROM "app"."users" WHERE "id" > $1 ORDER BY "id" LIMIT 1 OFFSET $2` {
		t.Errorf("upper-bound: %s", upper.SQL)
	}
}
