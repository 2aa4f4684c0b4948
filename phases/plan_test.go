package phases

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// planFile is the name every test plan is parsed as: every error must name it.
const planFile = "plans/test-plan.yaml"

// Base plans, one line per element, so that a test can name a line by number.
var (
	addColumnPlan = []string{
		"name: users-email",    // 1
		"playbook: add-column", // 2
		"table: users",         // 3
		"column: email",        // 4
		"type: text",           // 5
		`backfill: "lower(username) || '@example.com'"`, // 6
	}
	renamePlan = []string{
		"name: users-full-name",   // 1
		"playbook: rename-column", // 2
		"table: users",            // 3
		"column: name",            // 4
		"to: full_name",           // 5
	}
	tightenPlan = []string{
		"name: orders-amount-positive",   // 1
		"playbook: tighten-constraint",   // 2
		"table: orders",                  // 3
		"constraint:",                    // 4
		"  name: orders_amount_positive", // 5
		`  check: "amount > 0"`,          // 6
		"clean:",                         // 7
		"  set:",                         // 8
		`    amount: "abs(amount)"`,      // 9
	}
)

func yamlOf(lines []string) string { return strings.Join(lines, "\n") + "\n" }

// setLine replaces line n (1-based).
func setLine(base []string, n int, line string) string {
	c := slices.Clone(base)
	c[n-1] = line
	return yamlOf(c)
}

// addLines appends lines at the end.
func addLines(base []string, more ...string) string {
	return yamlOf(append(slices.Clone(base), more...))
}

// insertLines inserts lines after line n.
func insertLines(base []string, n int, more ...string) string {
	return yamlOf(slices.Insert(slices.Clone(base), n, more...))
}

// delLine removes line n.
func delLine(base []string, n int) string {
	return yamlOf(slices.Delete(slices.Clone(base), n-1, n))
}

// firstLines keeps lines 1..n.
func firstLines(base []string, n int, more ...string) string {
	return yamlOf(append(slices.Clone(base[:n]), more...))
}

// parse calls Parse and turns a panic into a test failure.
func parse(t *testing.T, file, text string) (p *Plan, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Parse panicked: %v\nplan:\n%s", r, text)
		}
	}()
	return Parse(file, []byte(text))
}

func mustParse(t *testing.T, text string) *Plan {
	t.Helper()
	p, err := parse(t, planFile, text)
	if err != nil {
		t.Fatalf("Parse: %v\nplan:\n%s", err, text)
	}
	return p
}

// planErrors flattens what Parse returns into its PlanErrors.
func planErrors(err error) []*PlanError {
	var pes PlanErrors
	if errors.As(err, &pes) {
		return pes
	}
	var pe *PlanError
	if errors.As(err, &pe) {
		return []*PlanError{pe}
	}
	return nil
}

type errCase struct {
	name string
	yaml string
	want []string // substrings of the error text
	// notWant are substrings the error text must not contain.
	notWant []string
	// line and field: a PlanError with exactly this Line and Field must be
	// among the errors, and its text must start "FILE:LINE: field: ".
	line  int
	field string
	// count, when > 0, is the exact number of problems reported.
	count int
}

func TestParseRejects(t *testing.T) {
	const (
		notExpr      = "so it looks like an SQL expression, not a name"
		notStatement = "contains ';': an expression is one SQL expression, not a statement"
		notUsedAdd   = "is not used by the add-column playbook; remove it, or choose the playbook that uses it"
		notUsedRen   = "is not used by the rename-column playbook; remove it, or choose the playbook that uses it"
		notUsedTight = "is not used by the tighten-constraint playbook; remove it, or choose the playbook that uses it"
		exactlyOne   = "constraint: must give exactly one of check, not_null, unique and foreign_key; split it into one plan per constraint"
		badName      = "is not a valid plan name; use lower-case letters, digits, '-' and '_', starting with a letter or digit, such as users-email"
		notMapping   = "a plan is a mapping of fields (name:, playbook:, table: …); see examples/ for a plan of each playbook"
		empty        = "the plan is empty; see examples/ for a plan of each playbook"
		notDialect   = `"oracle" is not a dialect; use postgres, mysql or sqlite`
	)
	f := planFile
	cases := []errCase{
		// --- playbook and name
		{name: "unknown playbook", yaml: setLine(addColumnPlan, 2, "playbook: drop-table"),
			want: []string{f + `:2: playbook: "drop-table" is not a playbook; use add-column, rename-column, tighten-constraint, add-index, drop-index, drop-column or change-column-type`}, line: 2, field: "playbook", count: 1},
		{name: "playbook in the wrong case", yaml: setLine(addColumnPlan, 2, "playbook: Add-Column"),
			want: []string{`playbook: "Add-Column" is not a playbook`}, line: 2, field: "playbook"},
		{name: "plan name upper-case", yaml: setLine(addColumnPlan, 1, "name: Users-Email"),
			want: []string{f + `:1: name: "Users-Email" ` + badName}, line: 1, field: "name", count: 1},
		{name: "plan name starting upper-case", yaml: setLine(addColumnPlan, 1, "name: Users-email"),
			want: []string{`name: "Users-email" ` + badName}, line: 1, field: "name"},
		{name: "plan name with an upper-case letter inside", yaml: setLine(addColumnPlan, 1, "name: users-Email"),
			want: []string{`name: "users-Email" ` + badName}, line: 1, field: "name"},
		{name: "plan name with a space", yaml: setLine(addColumnPlan, 1, "name: users email"),
			want: []string{`name: "users email" ` + badName}, line: 1, field: "name"},
		{name: "plan name starting with '-'", yaml: setLine(addColumnPlan, 1, "name: -users"),
			want: []string{`name: "-users" ` + badName}, line: 1, field: "name"},
		{name: "plan name starting with '_'", yaml: setLine(addColumnPlan, 1, "name: _users"),
			want: []string{`name: "_users" ` + badName}, line: 1, field: "name"},
		{name: "plan name with a dot", yaml: setLine(addColumnPlan, 1, "name: users.email"),
			want: []string{`name: "users.email" ` + badName}, line: 1, field: "name"},
		{name: "plan name not ASCII", yaml: setLine(addColumnPlan, 1, "name: usérs"),
			want: []string{`name: "usérs" ` + badName}, line: 1, field: "name"},

		// --- unknown fields
		{name: "unknown top-level field", yaml: addLines(addColumnPlan, "colour: red"),
			want: []string{f + `:7:1: unknown field "colour"; remove it or fix its spelling; plan fields are name, playbook, schema, table, key, column, type, backfill, not_null, to, constraint (name, check, not_null, unique, foreign_key, references (schema, table, columns), violating) and clean (set)`},
			line: 7, field: "colour", count: 1},
		{name: "misspelt column", yaml: setLine(addColumnPlan, 4, "colum: email"),
			want: []string{f + `:4:1: unknown field "colum"`}, line: 4, field: "colum", count: 1},
		{name: "camelCase field", yaml: addLines(addColumnPlan, "notNull: true"),
			want: []string{`:7:1: unknown field "notNull"`}, line: 7, field: "notNull"},
		{name: "unknown field inside constraint", yaml: setLine(tightenPlan, 6, `  chek: "amount > 0"`),
			want: []string{f + `:6:3: unknown field "chek" in constraint; remove it or fix its spelling`}, line: 6, field: "constraint.chek", count: 1},
		{name: "unknown field inside clean", yaml: setLine(tightenPlan, 8, "  sett:"),
			want: []string{`:8:3: unknown field "sett" in clean`}, line: 8, field: "clean.sett"},

		// --- identifiers
		{name: "table with a statement", yaml: setLine(addColumnPlan, 3, `table: "users; drop table users"`),
			want: []string{f + `:3: table: "users; drop table users" contains ';', so it looks like an SQL expression, not a name; give the table's name as the database knows it, such as users`},
			line: 3, field: "table", count: 1},
		{name: "expression as column", yaml: setLine(addColumnPlan, 4, "column: lower(email)"),
			want: []string{f + `:4: column: "lower(email)" contains '(', so it looks like an SQL expression, not a name; give the column's name as the database knows it, such as email`},
			line: 4, field: "column", count: 1},
		{name: "table with two spaces", yaml: setLine(addColumnPlan, 3, `table: "user  accounts"`),
			want: []string{`table: "user  accounts" has two spaces in a row`}, line: 3, field: "table"},
		{name: "table too long", yaml: setLine(addColumnPlan, 3, "table: "+strings.Repeat("t", 64)),
			want: []string{"is 64 bytes long; the limit is 63"}, line: 3, field: "table"},
		{name: "table with a schema prefix", yaml: setLine(addColumnPlan, 3, "table: public.users"),
			want: []string{`table: "public.users" contains '.': a name is one identifier, quoted whole, never split at '.'; for a table in another schema (PostgreSQL) or database (MySQL), give schema: in the plan`}, line: 3, field: "table"},
		{name: "bad schema", yaml: addLines(addColumnPlan, `schema: "billing;"`),
			want: []string{`schema: "billing;" contains ';', ` + notExpr, "such as public"}, line: 7, field: "schema"},
		{name: "key listing two columns", yaml: addLines(addColumnPlan, "key: id, tenant_id"),
			want: []string{`key: "id, tenant_id" contains ',', ` + notExpr}, line: 7, field: "key"},
		{name: "rename to an expression", yaml: setLine(renamePlan, 5, `to: "full_name;"`),
			want: []string{f + `:5: to: "full_name;" contains ';', ` + notExpr}, line: 5, field: "to"},
		{name: "rename a quoted column", yaml: setLine(renamePlan, 4, `column: '"name"'`),
			want: []string{`column: "\"name\"" contains '"', ` + notExpr}, line: 4, field: "column"},
		{name: "bad constraint name", yaml: setLine(tightenPlan, 5, `  name: "orders amount positive!"`),
			want: []string{`constraint.name: "orders amount positive!" contains '!', ` + notExpr, "such as orders_amount_positive"}, line: 5, field: "constraint.name"},
		{name: "expression as not_null column", yaml: firstLines(tightenPlan, 3, `constraint: {not_null: "lower(email)"}`),
			want: []string{f + `:4: constraint.not_null: "lower(email)" contains '('`}, line: 4, field: "constraint.not_null"},
		{name: "bad unique column", yaml: firstLines(tightenPlan, 3, `constraint: {name: users_email_key, unique: [email, "tenant id;"]}`),
			want: []string{`constraint.unique: "tenant id;" contains ';'`}, line: 4, field: "constraint.unique"},
		{name: "unique column twice", yaml: firstLines(tightenPlan, 3, `constraint: {name: users_email_key, unique: [email, email]}`),
			want: []string{f + `:4: constraint.unique: names "email" twice; list each column once`}, line: 4, field: "constraint.unique", count: 1},
		{name: "bad clean column", yaml: setLine(tightenPlan, 9, `    "amount;": "abs(amount)"`),
			want: []string{f + `:8: clean.set: "amount;" contains ';'`}, line: 8, field: "clean.set"},
		{name: "bad violating column", yaml: insertLines(tightenPlan, 6, "  violating:", `    "amount)": "-1"`),
			want: []string{`constraint.violating: "amount)" contains ')'`}, line: 7, field: "constraint.violating"},

		// --- a name where a condition belongs, and the reverse
		{name: "column name as check", yaml: setLine(tightenPlan, 6, "  check: amount"),
			want: []string{f + `:6: constraint.check: "amount" is a column name, not a condition; give a condition such as "amount > 0"; to forbid NULLs use not_null: amount`},
			line: 6, field: "constraint.check", count: 1},
		{name: "quoted column name as check", yaml: setLine(tightenPlan, 6, `  check: '"amount"'`),
			want: []string{`constraint.check: "\"amount\"" is a column name, not a condition`, "to forbid NULLs use not_null: amount"}, line: 6, field: "constraint.check"},
		{name: "column name as check for one dialect", yaml: setLine(tightenPlan, 6, `  check: {postgres: "amount > 0", sqlite: amount}`),
			want: []string{`constraint.check: "amount" is a column name, not a condition`}, line: 6, field: "constraint.check", count: 1},
		{name: "backfill is the new column", yaml: setLine(addColumnPlan, 6, "backfill: email"),
			want: []string{f + `:6: backfill: "email" is the column being added, so every row would stay NULL; give an expression over the existing columns, such as lower(username) || '@example.com'`},
			line: 6, field: "backfill", count: 1},
		{name: "backfill is the new column, other case", yaml: setLine(addColumnPlan, 6, "backfill: EMAIL"),
			want: []string{`backfill: "EMAIL" is the column being added`}, line: 6, field: "backfill"},
		{name: "backfill is the new column, quoted", yaml: setLine(addColumnPlan, 6, `backfill: '"email"'`),
			want: []string{`backfill: "\"email\"" is the column being added`}, line: 6, field: "backfill"},
		{name: "backfill is the new column on one dialect", yaml: setLine(addColumnPlan, 6, `backfill: {postgres: "lower(username)", mysql: email}`),
			want: []string{`backfill: "email" is the column being added`}, line: 6, field: "backfill", count: 1},
		{name: "backfill is the new column with spaces", yaml: setLine(addColumnPlan, 6, `backfill: " email"`),
			want: []string{`is the column being added`}, line: 6, field: "backfill"},

		// --- missing required fields
		{name: "name missing", yaml: delLine(addColumnPlan, 1),
			want: []string{f + ": name: is missing; give the plan a name such as users-email"}, field: "name", count: 1},
		{name: "name empty", yaml: setLine(addColumnPlan, 1, `name: ""`),
			want: []string{f + ":1: name: is missing"}, line: 1, field: "name", count: 1},
		{name: "name blank", yaml: setLine(addColumnPlan, 1, `name: "   "`),
			want: []string{f + ":1: name: is missing"}, line: 1, field: "name", count: 1},
		{name: "playbook missing", yaml: delLine(addColumnPlan, 2),
			want: []string{f + ": playbook: is missing; set playbook: to add-column, rename-column, tighten-constraint, add-index, drop-index, drop-column or change-column-type"}, field: "playbook", count: 1},
		{name: "table missing", yaml: delLine(addColumnPlan, 3),
			want: []string{f + ": table: is missing; set table: to the table to change"}, field: "table", count: 1},
		{name: "table null", yaml: setLine(addColumnPlan, 3, "table: ~"),
			want: []string{f + ":3: table: is missing"}, line: 3, field: "table", count: 1},
		{name: "add-column: column missing", yaml: delLine(addColumnPlan, 4),
			want: []string{f + ": column: is missing; set column: to the name of the column to add"}, field: "column", count: 1},
		{name: "add-column: type missing", yaml: delLine(addColumnPlan, 5),
			want: []string{f + ": type: is missing; set type: to the new column's type, such as text, or per dialect: {postgres: text, mysql: varchar(255), sqlite: text}"}, field: "type", count: 1},
		{name: "add-column: type an empty mapping", yaml: setLine(addColumnPlan, 5, "type: {}"),
			want: []string{f + ":5: type: is missing"}, line: 5, field: "type", count: 1},
		{name: "add-column: backfill missing", yaml: delLine(addColumnPlan, 6),
			want: []string{f + ": backfill: is missing; set backfill: to an SQL expression over the row that gives the new column's value, such as lower(username) || '@example.com'"}, field: "backfill", count: 1},
		{name: "add-column: type and backfill missing", yaml: firstLines(addColumnPlan, 4),
			want: []string{f + ": type: is missing", f + ": backfill: is missing"}, count: 2},
		{name: "rename-column: column missing", yaml: delLine(renamePlan, 4),
			want: []string{f + ": column: is missing; set column: to the column to rename"}, field: "column", count: 1},
		{name: "rename-column: to missing", yaml: delLine(renamePlan, 5),
			want: []string{f + ": to: is missing; set to: to the column's new name"}, field: "to", count: 1},
		{name: "rename-column: to is column", yaml: setLine(renamePlan, 5, "to: name"),
			want: []string{f + `:5: to: is the same as column ("name"); give the new name`}, line: 5, field: "to", count: 1},
		{name: "tighten-constraint: constraint missing", yaml: firstLines(tightenPlan, 3),
			want: []string{f + `: constraint: is missing; set constraint: to {name: orders_amount_positive, check: "amount > 0"}, {not_null: COLUMN}, {name: users_email_key, unique: [email]} or {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}`}, field: "constraint", count: 1},
		{name: "tighten-constraint: check without a name", yaml: delLine(tightenPlan, 5),
			want: []string{f + ": constraint.name: is missing; name the constraint, such as orders_amount_positive"}, field: "constraint.name", count: 1},
		{name: "tighten-constraint: unique without a name", yaml: firstLines(tightenPlan, 3, "constraint: {unique: [email]}"),
			want: []string{f + ": constraint.name: is missing; name the constraint, such as users_email_key"}, field: "constraint.name", count: 1},
		{name: "only a table", yaml: "table: users\n",
			want: []string{f + ": name: is missing", f + ": playbook: is missing"}, count: 2},

		// --- fields the playbook does not use
		{name: "add-column with to", yaml: addLines(addColumnPlan, "to: full_name"),
			want: []string{f + ":7: to: " + notUsedAdd}, line: 7, field: "to", count: 1},
		{name: "add-column with constraint", yaml: addLines(addColumnPlan, "constraint: {not_null: email}"),
			want: []string{f + ":7: constraint: " + notUsedAdd}, line: 7, field: "constraint", count: 1},
		{name: "add-column with clean", yaml: addLines(addColumnPlan, `clean: {set: {email: "'x'"}}`),
			want: []string{f + ":7: clean: " + notUsedAdd}, line: 7, field: "clean", count: 1},
		{name: "rename-column with backfill", yaml: addLines(renamePlan, `backfill: "name"`),
			want: []string{f + ":6: backfill: " + notUsedRen}, line: 6, field: "backfill", count: 1},
		{name: "rename-column with not_null true", yaml: addLines(renamePlan, "not_null: true"),
			want: []string{f + ":6: not_null: " + notUsedRen}, line: 6, field: "not_null", count: 1},
		{name: "rename-column with not_null false", yaml: addLines(renamePlan, "not_null: false"),
			want: []string{f + ":6: not_null: " + notUsedRen}, line: 6, field: "not_null", count: 1},
		{name: "rename-column with constraint", yaml: addLines(renamePlan, "constraint: {not_null: name}"),
			want: []string{f + ":6: constraint: " + notUsedRen}, line: 6, field: "constraint", count: 1},
		{name: "rename-column with clean", yaml: addLines(renamePlan, `clean: {set: {name: "'x'"}}`),
			want: []string{f + ":6: clean: " + notUsedRen}, line: 6, field: "clean", count: 1},
		{name: "tighten-constraint with column", yaml: addLines(tightenPlan, "column: amount"),
			want: []string{f + ":10: column: " + notUsedTight}, line: 10, field: "column", count: 1},
		{name: "tighten-constraint with type", yaml: addLines(tightenPlan, "type: integer"),
			want: []string{f + ":10: type: " + notUsedTight}, line: 10, field: "type", count: 1},
		{name: "tighten-constraint with backfill", yaml: addLines(tightenPlan, `backfill: "abs(amount)"`),
			want: []string{f + ":10: backfill: " + notUsedTight}, line: 10, field: "backfill", count: 1},
		{name: "tighten-constraint with not_null", yaml: addLines(tightenPlan, "not_null: true"),
			want: []string{f + ":10: not_null: " + notUsedTight}, line: 10, field: "not_null", count: 1},
		{name: "tighten-constraint with to", yaml: addLines(tightenPlan, "to: amount_cents"),
			want: []string{f + ":10: to: " + notUsedTight}, line: 10, field: "to", count: 1},

		// --- types and expressions
		{name: "type with a semicolon", yaml: setLine(addColumnPlan, 5, `type: "text; drop table users"`),
			want: []string{f + `:5: type: "text; drop table users" ` + notStatement + "; give a column type such as text or varchar(255)"}, line: 5, field: "type", count: 1},
		{name: "type with a comment on one dialect", yaml: setLine(addColumnPlan, 5, `type: {postgres: text, mysql: "varchar(255) --"}`),
			want: []string{`type: "varchar(255) --" contains a '--' comment`}, line: 5, field: "type", count: 1},
		{name: "type with a dot", yaml: setLine(addColumnPlan, 5, "type: public.citext"),
			want: []string{`type: "public.citext" contains '.'; a type looks like text, varchar(255) or numeric(10, 2)`}, line: 5, field: "type"},
		{name: "rename-column type with a semicolon", yaml: addLines(renamePlan, `type: "text;"`),
			want: []string{f + `:6: type: "text;" contains ';'`}, line: 6, field: "type", count: 1},
		{name: "backfill with a second statement", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username); DROP TABLE users"`),
			want: []string{f + `:6: backfill: "lower(username); DROP TABLE users" ` + notStatement + "; give one SQL expression, such as lower(username) || '@example.com'"}, line: 6, field: "backfill", count: 1},
		{name: "backfill with a -- comment", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username) -- the user"`),
			want: []string{`backfill: "lower(username) -- the user" contains a '--' comment`}, line: 6, field: "backfill", count: 1},
		{name: "backfill with a /* comment", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username) /* x */"`),
			want: []string{`backfill: "lower(username) /* x */" contains a '/*' comment`}, line: 6, field: "backfill", count: 1},
		{name: "backfill with an unbalanced quote", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username) || '@example.com"`),
			want: []string{"has an unterminated ' quote"}, line: 6, field: "backfill", count: 1},
		{name: "backfill with an unbalanced double quote", yaml: setLine(addColumnPlan, 6, `backfill: '"username'`),
			want: []string{`has an unterminated " quote`}, line: 6, field: "backfill", count: 1},
		{name: "backfill with an unclosed parenthesis", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username"`),
			want: []string{"has a '(' without a matching ')'"}, line: 6, field: "backfill", count: 1},
		{name: "backfill with an extra parenthesis", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username))"`),
			want: []string{"has a ')' without a matching '('"}, line: 6, field: "backfill", count: 1},
		{name: "backfill bad on one dialect", yaml: setLine(addColumnPlan, 6, `backfill: {postgres: "lower(username)", mysql: "concat(lower(username)"}`),
			want: []string{`backfill: "concat(lower(username)" has a '(' without a matching ')'`}, line: 6, field: "backfill", count: 1},
		{name: "check with a semicolon", yaml: setLine(tightenPlan, 6, `  check: "amount > 0; select 1"`),
			want: []string{f + `:6: constraint.check: "amount > 0; select 1" ` + notStatement + `; give one SQL expression, such as "amount > 0"`}, line: 6, field: "constraint.check", count: 1},
		{name: "check with an unclosed parenthesis", yaml: setLine(tightenPlan, 6, `  check: "(amount > 0"`),
			want: []string{"has a '(' without a matching ')'"}, line: 6, field: "constraint.check", count: 1},
		{name: "check with a comment", yaml: setLine(tightenPlan, 6, `  check: "amount > 0 -- positive"`),
			want: []string{"contains a '--' comment"}, line: 6, field: "constraint.check", count: 1},
		{name: "clean expression with a comment", yaml: setLine(tightenPlan, 9, `    amount: "abs(amount) /* fix */"`),
			want: []string{f + `:9: clean.set.amount: "abs(amount) /* fix */" contains a '/*' comment; give one SQL expression, such as abs(amount)`}, line: 9, field: "clean.set.amount", count: 1},
		{name: "clean expression with a statement", yaml: setLine(tightenPlan, 9, `    amount: "0; delete from orders"`),
			want: []string{notStatement}, line: 9, field: "clean.set.amount", count: 1},
		{name: "violating expression with a statement", yaml: insertLines(tightenPlan, 6, "  violating:", `    amount: "0; select 1"`),
			want: []string{`constraint.violating.amount: "0; select 1" ` + notStatement + "; give one SQL expression, such as -1"}, line: 8, field: "constraint.violating.amount", count: 1},

		// --- constraint kinds
		{name: "check and not_null", yaml: insertLines(tightenPlan, 6, "  not_null: amount"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "check and unique", yaml: insertLines(tightenPlan, 6, "  unique: [amount]"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "not_null and unique", yaml: firstLines(tightenPlan, 3, "constraint: {name: c, not_null: amount, unique: [amount]}"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "all three kinds", yaml: firstLines(tightenPlan, 3, `constraint: {name: c, check: "amount > 0", not_null: amount, unique: [amount]}`),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "no kind", yaml: firstLines(tightenPlan, 3, "constraint: {name: c}"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "empty unique list", yaml: firstLines(tightenPlan, 3, "constraint: {name: c, unique: []}"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "check and foreign_key", yaml: insertLines(tightenPlan, 6, "  foreign_key: [user_id]", "  references: {table: users}"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},
		{name: "empty foreign_key list", yaml: firstLines(tightenPlan, 3, "constraint: {name: c, foreign_key: [], references: {table: users}}"),
			want: []string{f + ":4: " + exactlyOne}, line: 4, field: "constraint", count: 1},

		// --- foreign keys
		{name: "foreign_key without references", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: [user_id]}"),
			want:  []string{f + `: constraint.references: is missing; say what the foreign key references, such as references: {table: users} (its primary key) or references: {table: users, columns: [id]}`},
			field: "constraint.references", count: 1},
		{name: "foreign_key without a name", yaml: firstLines(tightenPlan, 3, "constraint: {foreign_key: [user_id], references: {table: users}}"),
			want: []string{f + ": constraint.name: is missing; name the constraint, such as orders_user_fk"}, field: "constraint.name", count: 1},
		{name: "references without a table", yaml: firstLines(tightenPlan, 3, "constraint:", "  name: orders_user_fk", "  foreign_key: [user_id]", "  references: {columns: [id]}"),
			want: []string{f + `:7: constraint.references.table: is missing; name the referenced table, such as references: {table: users}`}, line: 7, field: "constraint.references.table", count: 1},
		{name: "references a bad table name", yaml: firstLines(tightenPlan, 3, "constraint:", "  name: orders_user_fk", "  foreign_key: [user_id]", "  references:", `    table: "users; drop table users"`),
			want: []string{f + `:8: constraint.references.table: "users; drop table users" contains ';'`, "such as users"}, line: 8, field: "constraint.references.table", count: 1},
		{name: "references a bad schema name", yaml: firstLines(tightenPlan, 3, "constraint:", "  name: orders_user_fk", "  foreign_key: [user_id]", "  references:", "    schema: \"a;b\"", "    table: users"),
			want: []string{f + `:8: constraint.references.schema: "a;b" contains ';'`}, line: 8, field: "constraint.references.schema", count: 1},
		{name: "an expression as a foreign_key column", yaml: firstLines(tightenPlan, 3, `constraint: {name: orders_user_fk, foreign_key: ["lower(user_id)"], references: {table: users}}`),
			want: []string{f + `:4: constraint.foreign_key: "lower(user_id)" contains '('`}, line: 4, field: "constraint.foreign_key", count: 1},
		{name: "a foreign_key column twice", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: [user_id, user_id], references: {table: users, columns: [id, id2]}}"),
			want: []string{f + `:4: constraint.foreign_key: names "user_id" twice; list each column once`}, line: 4, field: "constraint.foreign_key", count: 1},
		{name: "a referenced column twice", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: [a, b], references: {table: users, columns: [id, id]}}"),
			want: []string{f + `:4: constraint.references.columns: names "id" twice; list each column once`}, line: 4, field: "constraint.references.columns", count: 1},
		{name: "more referenced columns than foreign_key columns", yaml: firstLines(tightenPlan, 3, "constraint:", "  name: orders_user_fk", "  foreign_key: [user_id]", "  references:", "    table: users", "    columns: [id, tenant_id]"),
			want: []string{f + `:9: constraint.references.columns: names 2 columns (id, tenant_id) for 1 in foreign_key (user_id); give one referenced column for each foreign_key column, in the same order`},
			line: 9, field: "constraint.references.columns", count: 1},
		{name: "an empty list of referenced columns", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users, columns: []}}"),
			want: []string{f + `:4: constraint.references.columns: is an empty list; list the referenced columns, such as [id], or leave columns: out to reference the primary key`}, line: 4, field: "constraint.references.columns", count: 1},
		{name: "references without foreign_key", yaml: insertLines(tightenPlan, 6, "  references: {table: users}"),
			want: []string{f + `:7: constraint.references: is only for a foreign key; add foreign_key: [COLUMN...] with the columns that reference it, or remove references:`},
			line: 7, field: "constraint.references", count: 1},
		{name: "references a scalar", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: [user_id], references: users}"),
			want: []string{f + ":4:72: constraint.references: expected a mapping of fields, got text (users)"}, line: 4, field: "constraint.references", count: 1},
		{name: "foreign_key a scalar", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: user_id, references: {table: users}}"),
			want: []string{f + ":4:49: constraint.foreign_key: expected a list of column names, such as [email], got text (user_id)"}, line: 4, field: "constraint.foreign_key", count: 1},
		{name: "unknown field inside references", yaml: firstLines(tightenPlan, 3, "constraint:", "  name: orders_user_fk", "  foreign_key: [user_id]", "  references:", "    tabel: users"),
			want: []string{f + `:8:5: unknown field "tabel" in constraint.references; remove it or fix its spelling`}, line: 8, field: "constraint.references.tabel"},
		{name: "foreign_key in an add-column plan", yaml: addLines(addColumnPlan, "constraint: {name: fk, foreign_key: [a], references: {table: t}}"),
			want: []string{f + ":7: constraint: " + notUsedAdd}, line: 7, field: "constraint", count: 1},

		// --- per-dialect mappings
		{name: "unknown dialect in type", yaml: setLine(addColumnPlan, 5, "type: {postgres: text, oracle: clob}"),
			want: []string{f + ":5:24: ", notDialect}, count: 1},
		{name: "unknown dialect in backfill", yaml: firstLines(addColumnPlan, 5, "backfill:", `  postgres: "lower(username)"`, `  oracle: "lower(username)"`),
			want: []string{f + ":8:3: ", notDialect}, count: 1},
		{name: "unknown dialect in check", yaml: setLine(tightenPlan, 6, `  check: {postgres: "amount > 0", oracle: "amount > 0"}`),
			want: []string{f + ":6:35: ", notDialect}, count: 1},
		{name: "unknown dialect in clean", yaml: setLine(tightenPlan, 9, `    amount: {sqlite: "abs(amount)", oracle: "abs(amount)"}`),
			want: []string{f + ":9:37: ", notDialect}, count: 1},
		{name: "dialect key in the wrong case", yaml: setLine(addColumnPlan, 5, "type: {Postgres: text}"),
			want: []string{f + ":5:8: ", `"Postgres" is not a dialect`}, count: 1},
		{name: "dialect value not text", yaml: setLine(addColumnPlan, 5, "type: {postgres: [text]}"),
			want: []string{f + ":5:18: ", "the postgres value must be text"}, count: 1},
		{name: "unknown dialect names the field", yaml: setLine(addColumnPlan, 5, "type: {postgres: text, oracle: clob}"),
			want: []string{f + ":5:24: type: " + notDialect}, notWant: []string{"not valid YAML", "fix the YAML syntax"}, line: 5, field: "type", count: 1},

		// --- YAML structure
		{name: "bad indentation", yaml: "name: users-email\nplaybook: add-column\n  table: users\n",
			want: []string{f + ":3: not valid YAML: mapping values are not allowed in this context; fix the YAML syntax"}, line: 3, count: 1},
		{name: "unclosed flow mapping", yaml: setLine(addColumnPlan, 5, "type: {postgres: text"),
			want: []string{f + ":", "not valid YAML: did not find expected ',' or '}'"}, count: 1},
		{name: "tab indentation", yaml: "name: users-email\n\tplaybook: add-column\n",
			want: []string{f + ":2: not valid YAML: found a tab character that violates indentation"}, line: 2, count: 1},
		{name: "unterminated quoted string", yaml: setLine(addColumnPlan, 6, `backfill: "lower(username)`),
			want: []string{f + ":6: not valid YAML: found unexpected end of stream"}, line: 6, count: 1},
		{name: "control character", yaml: setLine(addColumnPlan, 6, "backfill: \"a\x01b\""),
			want: []string{f + ": not valid YAML: control characters are not allowed"}, count: 1},
		{name: "duplicate key", yaml: addLines(addColumnPlan, "column: mail"),
			want: []string{f + `:7:1: column: is given twice (first at line 4); give each field once`}, line: 7, field: "column", count: 1},
		{name: "a list instead of a mapping", yaml: "- name: users-email\n- playbook: add-column\n",
			want: []string{f + ":1: " + notMapping}, line: 1, count: 1},
		{name: "a scalar instead of a mapping", yaml: "users-email\n",
			want: []string{f + ":1: " + notMapping}, line: 1, count: 1},
		{name: "a null document", yaml: "~\n",
			want: []string{f + ":1: " + notMapping}, line: 1, count: 1},
		{name: "empty file", yaml: "",
			want: []string{f + ": " + empty}, count: 1},
		{name: "only blank lines", yaml: "\n  \n\n",
			want: []string{f + ": " + empty}, count: 1},
		{name: "only comments", yaml: "# a plan will go here\n# soon\n",
			want: []string{f + ": " + empty}, count: 1},

		// --- wrong scalar types
		{name: "not_null a list", yaml: addLines(addColumnPlan, "not_null: [1]"),
			want: []string{f + ":7:11: not_null: expected true or false, got a list; see the plan format in the README"}, line: 7, count: 1},
		{name: "not_null not a boolean", yaml: addLines(addColumnPlan, "not_null: maybe"),
			want: []string{f + ":7:11: not_null: expected true or false, got text (maybe)"}, line: 7, count: 1},
		{name: "name a list", yaml: setLine(addColumnPlan, 1, "name: [users-email]"),
			want: []string{f + ":1:7: name: expected text, got a list"}, line: 1, count: 1},
		{name: "table a mapping", yaml: setLine(addColumnPlan, 3, "table: {name: users}"),
			want: []string{f + ":3:8: table: expected text, got a mapping"}, line: 3, count: 1},
		{name: "unique a scalar", yaml: firstLines(tightenPlan, 3, "constraint: {name: c, unique: email}"),
			want: []string{f + ":4:31: constraint.unique: expected a list of column names, such as [email], got text (email)"}, line: 4, field: "constraint.unique", count: 1},
		{name: "constraint a list", yaml: firstLines(tightenPlan, 3, "constraint: [amount]"),
			want: []string{f + ":4:13: constraint: expected a mapping of fields, got a list"}, line: 4, count: 1},
		{name: "type a boolean", yaml: setLine(addColumnPlan, 5, "type: true"),
			want: []string{f + ":5:7: ", "type: expected text, got true/false"}, line: 5, count: 1},
		{name: "backfill a list", yaml: setLine(addColumnPlan, 6, "backfill: [a, b]"),
			want: []string{f + ":6:11: ", "expected text or a {postgres: …, mysql: …, sqlite: …} mapping"}, line: 6, count: 1},
		{name: "clean.set a list", yaml: firstLines(tightenPlan, 7, "  set: [amount]"),
			want: []string{f + ":8:8: ", "expected a mapping of column: expression"}, line: 8, count: 1},

		// --- errors the decoder raises should name the field too
		{name: "wrong type names the field", yaml: addLines(addColumnPlan, "not_null: [1]"),
			want: []string{f + ":7:11: not_null: "}, line: 7, field: "not_null", count: 1},
		{name: "wrong type names the field, not a Go type", yaml: firstLines(tightenPlan, 3, "constraint: [amount]"),
			want: []string{f + ":4:13: constraint: "}, notWant: []string{"struct {", "phases."}, line: 4, field: "constraint", count: 1},
		{name: "non-text type names the field", yaml: setLine(addColumnPlan, 5, "type: true"),
			want: []string{f + ":5:7: type: "}, notWant: []string{"not valid YAML"}, line: 5, field: "type", count: 1},
		{name: "clean.set not a mapping names the field", yaml: firstLines(tightenPlan, 7, "  set: [amount]"),
			want: []string{f + ":8:8: clean.set: "}, notWant: []string{"not valid YAML"}, line: 8, field: "clean.set", count: 1},

		// --- per-dialect values that are not text, and duplicate keys
		{name: "null per-dialect backfill", yaml: setLine(addColumnPlan, 6, "backfill: {postgres: ~}"),
			want: []string{f + ":6:22: "}},
		{name: "null per-dialect type", yaml: setLine(addColumnPlan, 5, "type: {sqlite: null}"),
			want: []string{f + ":5:16: "}},
		{name: "boolean per-dialect backfill", yaml: setLine(addColumnPlan, 6, "backfill: {mysql: true}"),
			want: []string{f + ":6:19: "}},
		{name: "dialect given twice", yaml: setLine(addColumnPlan, 5, "type: {postgres: text, postgres: integer}"),
			want: []string{f + ":5:24: ", "postgres"}},
		{name: "clean column given twice", yaml: insertLines(tightenPlan, 9, `    amount: "0"`),
			want: []string{f + ":", "amount"}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse(t, planFile, tc.yaml)
			if err == nil {
				t.Fatalf("accepted, want an error; plan %s\n%s", p.Canonical(), tc.yaml)
			}
			checkPlanError(t, err, planFile, tc)
		})
	}
}

func checkPlanError(t *testing.T, err error, file string, tc errCase) {
	t.Helper()
	text := err.Error()
	pes := planErrors(err)
	if len(pes) == 0 {
		t.Fatalf("error is %T, want *PlanError or PlanErrors: %v", err, err)
	}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, file+":") {
			t.Errorf("error line does not start with the file name %q: %q", file+":", line)
		}
	}
	for _, pe := range pes {
		if pe.File != file {
			t.Errorf("PlanError.File = %q, want %q", pe.File, file)
		}
		if pe.Problem == "" || pe.Fix == "" {
			t.Errorf("PlanError %q: every problem needs a problem and a fix (%+v)", pe, *pe)
		}
	}
	if tc.count > 0 && len(pes) != tc.count {
		t.Errorf("%d problems reported, want %d:\n%s", len(pes), tc.count, text)
	}
	for _, w := range tc.want {
		if !strings.Contains(text, w) {
			t.Errorf("error does not contain %q:\n%s", w, text)
		}
	}
	for _, w := range tc.notWant {
		if strings.Contains(text, w) {
			t.Errorf("error contains %q:\n%s", w, text)
		}
	}
	if tc.field == "" && tc.line == 0 {
		return
	}
	var found *PlanError
	for _, pe := range pes {
		if pe.Line == tc.line && (tc.field == "" || pe.Field == tc.field) {
			found = pe
			break
		}
	}
	if found == nil {
		var got []string
		for _, pe := range pes {
			got = append(got, fmt.Sprintf("line %d field %q", pe.Line, pe.Field))
		}
		t.Fatalf("no problem at line %d field %q; got %q:\n%s", tc.line, tc.field, got, text)
	}
	prefix := file
	if tc.line > 0 {
		prefix += fmt.Sprintf(":%d", tc.line)
		if found.Column > 0 {
			prefix += fmt.Sprintf(":%d", found.Column)
		}
	}
	prefix += ": "
	if tc.field != "" && !strings.HasPrefix(found.Problem, "unknown field") {
		prefix += tc.field + ": "
	}
	if !strings.HasPrefix(found.Error(), prefix) {
		t.Errorf("problem reads %q, want it to start %q", found.Error(), prefix)
	}
	if !strings.Contains(text, found.Error()) {
		t.Errorf("the joined error does not contain %q", found.Error())
	}
}

// Several mistakes in one file are all reported, each on its line, in a
// fixture read with Load (which names the file as given).
func TestLoadReportsEveryProblem(t *testing.T) {
	file := filepath.Join("testdata", "invalid-many.yaml")
	_, err := Load(file)
	if err == nil {
		t.Fatal("Load accepted testdata/invalid-many.yaml")
	}
	want := []string{
		file + `:2: name: "Users Email" is not a valid plan name`,
		file + `:4: table: "users; drop table users" contains ';'`,
		file + `:6: type: "text; drop table users" contains ';'`,
		file + `:5: column: "lower(email)" contains '('`,
		file + `:7: backfill: "lower(username) -- the user" contains a '--' comment`,
		file + `:8: to: is not used by the add-column playbook`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem starting %q in:\n%s", w, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	file := filepath.Join("testdata", "no-such-plan.yaml")
	p, err := Load(file)
	if err == nil {
		t.Fatalf("Load of a missing file = %v, want an error", p)
	}
	want := file + ": cannot read the plan: no such file or directory; check the path"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	var pe *PlanError
	if !errors.As(err, &pe) || pe.File != file {
		t.Errorf("error %T does not carry the file %q", err, file)
	}
}

func TestPlanErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&PlanError{File: "p.yaml", Line: 3, Field: "table", Problem: "is bad", Fix: "fix it"}, "p.yaml:3: table: is bad; fix it"},
		{&PlanError{File: "p.yaml", Field: "table", Problem: "is missing", Fix: "add it"}, "p.yaml: table: is missing; add it"},
		{&PlanError{File: "p.yaml", Line: 7, Problem: "not valid YAML: x", Fix: "fix the YAML syntax"}, "p.yaml:7: not valid YAML: x; fix the YAML syntax"},
		{&PlanError{File: "p.yaml", Problem: "the plan is empty"}, "p.yaml: the plan is empty"},
		{&PlanError{File: "p.yaml", Line: 4, Field: "colum", Problem: `unknown field "colum"`, Fix: "remove it"}, `p.yaml:4: unknown field "colum"; remove it`},
		{&PlanError{File: "p.yaml", Line: 7, Column: 11, Field: "not_null", Problem: "expected true or false, got a list"}, "p.yaml:7:11: not_null: expected true or false, got a list"},
		{PlanErrors{
			{File: "a.yaml", Line: 1, Field: "name", Problem: "is bad", Fix: "rename"},
			{File: "a.yaml", Field: "type", Problem: "is missing", Fix: "add it"},
		}, "a.yaml:1: name: is bad; rename\na.yaml: type: is missing; add it"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// Plans that are valid in unusual ways must not panic the parser.
func TestParseDoesNotPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		why  string // what once went wrong
	}{
		{"empty double-quoted backfill", setLine(addColumnPlan, 6, `backfill: '""'`),
			`ident.go looksLikeIdent: backfill: '""' (an empty string literal on MySQL) panics Parse with "index out of range [0] with length 0": after stripping the quotes s is empty and []rune(s)[0] is read`},
		{"empty backquoted check", setLine(tightenPlan, 6, "  check: '``'"),
			"ident.go looksLikeIdent: check: '``' panics Parse (index out of range), see the backfill case"},
		{"empty quoted backfill for one dialect", setLine(addColumnPlan, 6, `backfill: {mysql: '""', postgres: "''"}`),
			`ident.go looksLikeIdent: backfill: {mysql: '""'} panics Parse`},
		{"deeply nested YAML", setLine(addColumnPlan, 6, "backfill: "+strings.Repeat("[", 50)+strings.Repeat("]", 50)), ""},
		{"anchors and aliases", "name: users-email\nplaybook: add-column\ntable: &t users\ncolumn: email\ntype: text\nbackfill: *t\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _ = parse(t, planFile, tc.yaml) // parse fails the test on a panic
		})
	}
}

// --- valid plans

func TestParseExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Plan{
		"orders-amount-positive.yaml": {
			Name: "orders-amount-positive", Playbook: TightenConstraint, Table: "orders",
			Tighten: &TightenSpec{
				Constraint: &Constraint{Name: "orders_amount_positive", Check: PerDialect{All: "amount > 0"}},
				Clean:      []Assign{{Column: "amount", Expr: PerDialect{All: "abs(amount)"}}},
			},
		},
		"users-email.yaml": {
			Name: "users-email", Playbook: AddColumn, Table: "users",
			AddColumn: &AddColumnSpec{Column: "email",
				Type: PerDialect{By: map[string]string{Postgres: "text", MySQL: "varchar(320)", SQLite: "text"}},
				Backfill: PerDialect{By: map[string]string{
					Postgres: "lower(username) || '@example.com'",
					MySQL:    "concat(lower(username), '@example.com')",
					SQLite:   "lower(username) || '@example.com'",
				}},
				NotNull: true,
			},
		},
		"users-full-name.yaml": {
			Name: "users-full-name", Playbook: RenameColumn, Table: "users",
			RenameColumn: &RenameColumnSpec{Column: "name", To: "full_name"},
		},
		"users-created-idx.yaml": {
			Name: "users-created-idx", Playbook: AddIndex, Table: "users",
			AddIndex: &AddIndexSpec{Index: IndexSpec{Name: "users_created_idx", Columns: []string{"created_at"}},
				Query: PerDialect{All: "SELECT id FROM users WHERE created_at > '2030-01-01'"}},
		},
		"orders-user-idx-drop.yaml": {
			Name: "orders-user-idx-drop", Playbook: DropIndex, Table: "orders", DropIndex: &DropIndexSpec{Name: "orders_user"},
		},
		"users-drop-nickname.yaml": {
			Name: "users-drop-nickname", Playbook: DropColumn, Table: "users", DropColumn: &DropColumnSpec{Column: "nickname", Archive: true},
		},
		"orders-user-id-bigint.yaml": {
			Name: "orders-user-id-bigint", Playbook: ChangeColumnType, Table: "orders",
			ChangeType: &ChangeColumnTypeSpec{Column: "user_id", Type: PerDialect{All: "bigint"}},
		},
	}
	if len(files) != len(want) {
		t.Fatalf("examples/ has %d plans %q, want %d", len(files), files, len(want))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p, err := Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if p.File != file {
				t.Errorf("File = %q, want %q", p.File, file)
			}
			w, ok := want[filepath.Base(file)]
			if !ok {
				t.Fatalf("unexpected example %s", file)
			}
			got := *p
			got.File, got.lines = "", nil
			if !reflect.DeepEqual(&got, w) {
				t.Errorf("plan =\n%#v\nwant\n%#v", got, *w)
			}
			if p.PlaybookDef() == nil || p.PlaybookDef().Name != p.Playbook {
				t.Errorf("PlaybookDef() does not match playbook %q", p.Playbook)
			}
			if p.Line("name") == 0 || p.Line("playbook") == 0 || p.Line("table") == 0 {
				t.Errorf("lines not recorded: name %d playbook %d table %d", p.Line("name"), p.Line("playbook"), p.Line("table"))
			}
		})
	}
}

// The canonical form is what Hash hashes and what the state log keeps: a
// change to it makes every plan in flight look edited. Change these only on
// purpose.
func TestCanonicalIsStable(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
	}{
		{"users-email.yaml", `{"name":"users-email","playbook":"add-column","table":"users","column":"email",` +
			`"type":{"by":{"mysql":"varchar(320)","postgres":"text","sqlite":"text"}},` +
			`"backfill":{"by":{"mysql":"concat(lower(username), '@example.com')","postgres":"lower(username) || '@example.com'","sqlite":"lower(username) || '@example.com'"}},` +
			`"not_null":true}`},
		{"users-full-name.yaml", `{"name":"users-full-name","playbook":"rename-column","table":"users","column":"name","not_null":false,"to":"full_name"}`},
		{"orders-amount-positive.yaml", `{"name":"orders-amount-positive","playbook":"tighten-constraint","table":"orders","not_null":false,` +
			`"constraint":{"name":"orders_amount_positive","check":{"all":"amount \u003e 0"}},` +
			`"clean":[{"column":"amount","expr":{"all":"abs(amount)"}}]}`},
	} {
		p, err := Load(filepath.Join("..", "examples", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Canonical()); got != tc.want {
			t.Errorf("%s: Canonical =\n%s\nwant\n%s", tc.file, got, tc.want)
		}
		if h := p.Hash(); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
			t.Errorf("%s: Hash = %q, want 64 hex digits", tc.file, h)
		}
	}
}

func TestNotNullDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want bool
	}{
		{"add-column default", yamlOf(addColumnPlan), true},
		{"add-column true", addLines(addColumnPlan, "not_null: true"), true},
		{"add-column false", addLines(addColumnPlan, "not_null: false"), false},
		{"rename-column", yamlOf(renamePlan), false},
		{"tighten-constraint", yamlOf(tightenPlan), false},
		{"tighten-constraint not_null kind", firstLines(tightenPlan, 3, "constraint: {not_null: amount}"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.yaml)
			if got := p.AddColumn != nil && p.AddColumn.NotNull; got != tc.want {
				t.Errorf("NotNull = %v, want %v", got, tc.want)
			}
			if w := fmt.Sprintf(`"not_null":%v`, tc.want); !strings.Contains(string(p.Canonical()), w) {
				t.Errorf("Canonical %s does not contain %s", p.Canonical(), w)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string // or file, read with Load
		file  string
		check func(t *testing.T, p *Plan)
	}{
		{name: "per-dialect type and backfill, schema, key", file: "add-column-per-dialect.yaml", check: func(t *testing.T, p *Plan) {
			eq(t, "Name", p.Name, "accounts-region_v2")
			eq(t, "Schema", p.Schema, "billing")
			eq(t, "Table", p.Table, "Accounts")
			eq(t, "Key", p.Key, "account_id")
			eq(t, "Column", p.AddColumn.Column, "region")
			eq(t, "NotNull", p.AddColumn.NotNull, false)
			eq(t, "Type.All", p.AddColumn.Type.All, "")
			eq(t, "Type.By", p.AddColumn.Type.By, map[string]string{Postgres: "varchar(8)", MySQL: "varchar(8)", SQLite: "text"})
			eqFor(t, p.AddColumn.Type, Postgres, "varchar(8)", true)
			eqFor(t, p.AddColumn.Type, MySQL, "varchar(8)", true)
			eqFor(t, p.AddColumn.Type, SQLite, "text", true)
			eqFor(t, p.AddColumn.Type, "oracle", "", false)
			eq(t, "Type.Values", p.AddColumn.Type.Values(), []string{"varchar(8)", "varchar(8)", "text"})
			eq(t, "Type.String", p.AddColumn.Type.String(), "{postgres: varchar(8), mysql: varchar(8), sqlite: text}")
			eqFor(t, p.AddColumn.Backfill, MySQL, "upper(country)", true)
			eq(t, "Line(type)", p.Line("type"), 8)
			eq(t, "Line(type.mysql)", p.Line("type.mysql"), 10)
			eq(t, "Line(backfill)", p.Line("backfill"), 12)
			eq(t, "Line(not_null)", p.Line("not_null"), 13)
		}},
		{name: "type for one dialect only", yaml: setLine(addColumnPlan, 5, "type: {postgres: citext}"), check: func(t *testing.T, p *Plan) {
			eqFor(t, p.AddColumn.Type, Postgres, "citext", true)
			eqFor(t, p.AddColumn.Type, MySQL, "", false)
			eqFor(t, p.AddColumn.Type, SQLite, "", false)
			eq(t, "Type.Values", p.AddColumn.Type.Values(), []string{"citext"})
			eq(t, "Type.String", p.AddColumn.Type.String(), "{postgres: citext}")
		}},
		{name: "one type for every dialect", yaml: yamlOf(addColumnPlan), check: func(t *testing.T, p *Plan) {
			eq(t, "Type.All", p.AddColumn.Type.All, "text")
			eq(t, "Type.By", len(p.AddColumn.Type.By), 0)
			for _, d := range append(Dialects(), "oracle") {
				eqFor(t, p.AddColumn.Type, d, "text", true)
			}
			eq(t, "Backfill.All", p.AddColumn.Backfill.All, "lower(username) || '@example.com'")
			eq(t, "Backfill.String", p.AddColumn.Backfill.String(), "lower(username) || '@example.com'")
		}},
		{name: "numeric backfill", yaml: setLine(addColumnPlan, 6, "backfill: 0"), check: func(t *testing.T, p *Plan) {
			eq(t, "Backfill.All", p.AddColumn.Backfill.All, "0")
		}},
		{name: "decimal backfill", yaml: setLine(addColumnPlan, 6, "backfill: 1.5"), check: func(t *testing.T, p *Plan) {
			eq(t, "Backfill.All", p.AddColumn.Backfill.All, "1.5")
		}},
		{name: "reserved words as names", yaml: yamlOf([]string{"name: order-select", "playbook: add-column", "table: order", "column: select", "type: text", "backfill: \"'x'\""}), check: func(t *testing.T, p *Plan) {
			eq(t, "Table", p.Table, "order")
			eq(t, "Column", p.AddColumn.Column, "select")
		}},
		{name: "unicode, mixed case, spaces", yaml: yamlOf([]string{"name: konten-strasse", "playbook: add-column", `table: "Benutzer Konten"`, "column: Straße", "type: text", `backfill: "'unbekannt'"`}), check: func(t *testing.T, p *Plan) {
			eq(t, "Table", p.Table, "Benutzer Konten")
			eq(t, "Column", p.AddColumn.Column, "Straße")
		}},
		{name: "backfill naming another column", yaml: setLine(addColumnPlan, 6, "backfill: username"), check: func(t *testing.T, p *Plan) {
			eq(t, "Backfill.All", p.AddColumn.Backfill.All, "username")
		}},
		{name: "rename-column with a type", yaml: addLines(renamePlan, "type: varchar(100)"), check: func(t *testing.T, p *Plan) {
			eq(t, "Type.All", p.RenameColumn.Type.All, "varchar(100)")
			eq(t, "To", p.RenameColumn.To, "full_name")
		}},
		{name: "check constraint with clean", yaml: yamlOf(tightenPlan), check: func(t *testing.T, p *Plan) {
			eq(t, "Kind", string(p.Tighten.Constraint.Kind()), "check")
			eq(t, "Columns", len(p.Tighten.Constraint.Columns()), 0)
			eq(t, "ConstraintLabel", p.ConstraintLabel(), "orders_amount_positive (CHECK amount > 0)")
			eq(t, "Clean", p.Tighten.Clean, []Assign{{Column: "amount", Expr: PerDialect{All: "abs(amount)"}}})
			eq(t, "Line(name)", p.Line("name"), 1)
			eq(t, "Line(constraint)", p.Line("constraint"), 4)
			eq(t, "Line(constraint.check)", p.Line("constraint.check"), 6)
			eq(t, "Line(clean)", p.Line("clean"), 7)
			eq(t, "Line(clean.set)", p.Line("clean.set"), 8)
			eq(t, "Line(clean.set.amount)", p.Line("clean.set.amount"), 9)
			eq(t, "Line(type)", p.Line("type"), 0)
			eq(t, "Line(nonsense)", p.Line("nonsense"), 0)
		}},
		{name: "check per dialect", yaml: setLine(tightenPlan, 6, `  check: {sqlite: "amount > 0", postgres: "amount > 0.0"}`), check: func(t *testing.T, p *Plan) {
			eq(t, "ConstraintLabel", p.ConstraintLabel(), "orders_amount_positive (CHECK {postgres: amount > 0.0, sqlite: amount > 0})")
		}},
		{name: "clean.set keeps its order", yaml: firstLines(tightenPlan, 8, `    zeta: "1"`, `    alpha: "2"`, `    mid: {postgres: "3", sqlite: "4"}`, `    beta: "5"`), check: func(t *testing.T, p *Plan) {
			var cols []string
			for _, a := range p.Tighten.Clean {
				cols = append(cols, a.Column)
			}
			eq(t, "clean columns", cols, []string{"zeta", "alpha", "mid", "beta"})
			eq(t, "clean[2]", p.Tighten.Clean[2].Expr, PerDialect{By: map[string]string{Postgres: "3", SQLite: "4"}})
		}},
		{name: "constraint.violating", yaml: insertLines(tightenPlan, 6, "  violating:", `    amount: "-1"`, `    note: "'bad'"`), check: func(t *testing.T, p *Plan) {
			eq(t, "Violating", p.Tighten.Constraint.Violating, []Assign{
				{Column: "amount", Expr: PerDialect{All: "-1"}},
				{Column: "note", Expr: PerDialect{All: "'bad'"}},
			})
			eq(t, "Line(constraint.violating.note)", p.Line("constraint.violating.note"), 9)
		}},
		{name: "foreign key", file: "tighten-foreign-key.yaml", check: func(t *testing.T, p *Plan) {
			eq(t, "Kind", string(p.Tighten.Constraint.Kind()), "foreign_key")
			eq(t, "ForeignKey", p.Tighten.Constraint.ForeignKey, []string{"tenant_id", "user_id"})
			eq(t, "Columns", p.Tighten.Constraint.Columns(), []string{"tenant_id", "user_id"})
			eq(t, "References", *p.Tighten.Constraint.References, Reference{Schema: "auth", Table: "users", Columns: []string{"tenant_id", "id"}})
			eq(t, "ConstraintLabel", p.ConstraintLabel(), "orders_user_fk (FOREIGN KEY tenant_id, user_id REFERENCES auth.users (tenant_id, id))")
			eq(t, "Clean", p.Tighten.Clean, []Assign{{Column: "user_id", Expr: PerDialect{All: "NULL"}}})
			eq(t, "Violating", p.Tighten.Constraint.Violating, []Assign{{Column: "user_id", Expr: PerDialect{All: "-1"}}})
			eq(t, "Line(constraint.references.columns)", p.Line("constraint.references.columns"), 9)
		}},
		{name: "foreign key to the primary key", yaml: firstLines(tightenPlan, 3, "constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}", `clean: {set: {user_id: "NULL"}}`), check: func(t *testing.T, p *Plan) {
			eq(t, "References", *p.Tighten.Constraint.References, Reference{Table: "users"})
			eq(t, "ConstraintLabel", p.ConstraintLabel(), "orders_user_fk (FOREIGN KEY user_id REFERENCES users)")
			eq(t, "Canonical", string(p.Canonical()), `{"name":"orders-amount-positive","playbook":"tighten-constraint","table":"orders","not_null":false,`+
				`"constraint":{"name":"orders_user_fk","foreign_key":["user_id"],"references":{"table":"users"}},"clean":[{"column":"user_id","expr":{"all":"NULL"}}]}`)
		}},
		{name: "not_null constraint needs no name", file: "tighten-not-null.yaml", check: func(t *testing.T, p *Plan) {
			eq(t, "Constraint", *p.Tighten.Constraint, Constraint{NotNull: "customer_id"})
			eq(t, "Kind", string(p.Tighten.Constraint.Kind()), "not_null")
			eq(t, "Columns", p.Tighten.Constraint.Columns(), []string{"customer_id"})
			eq(t, "ConstraintLabel", p.ConstraintLabel(), "NOT NULL on customer_id")
			eq(t, "Clean", p.Tighten.Clean, []Assign{{Column: "customer_id", Expr: PerDialect{All: "0"}}})
		}},
		{name: "unique constraint with violating and clean", file: "tighten-unique.yaml", check: func(t *testing.T, p *Plan) {
			eq(t, "Name", p.Tighten.Constraint.Name, "users_email_key")
			eq(t, "Unique", p.Tighten.Constraint.Unique, []string{"email", "tenant_id"})
			eq(t, "Kind", string(p.Tighten.Constraint.Kind()), "unique")
			eq(t, "Columns", p.Tighten.Constraint.Columns(), []string{"email", "tenant_id"})
			eq(t, "ConstraintLabel", p.ConstraintLabel(), "users_email_key (UNIQUE email, tenant_id)")
			eq(t, "Violating", p.Tighten.Constraint.Violating, []Assign{
				{Column: "email", Expr: PerDialect{All: "'dup@example.com'"}},
				{Column: "tenant_id", Expr: PerDialect{All: "1"}},
			})
			eq(t, "Clean", p.Tighten.Clean, []Assign{
				{Column: "email", Expr: PerDialect{All: "lower(email) || '+' || id"}},
				{Column: "updated_at", Expr: PerDialect{By: map[string]string{Postgres: "now()", MySQL: "now()", SQLite: "datetime('now')"}}},
				{Column: "tenant_id", Expr: PerDialect{All: "coalesce(tenant_id, 0)"}},
			})
		}},
		{name: "document markers and quoted keys", yaml: "---\n\"name\": users-email\n'playbook': add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: \"lower(username)\"\n...\n", check: func(t *testing.T, p *Plan) {
			eq(t, "Name", p.Name, "users-email")
			eq(t, "Line(playbook)", p.Line("playbook"), 3)
		}},
		{name: "CRLF line endings", yaml: strings.ReplaceAll(yamlOf(addColumnPlan), "\n", "\r\n"), check: func(t *testing.T, p *Plan) {
			eq(t, "Backfill.All", p.AddColumn.Backfill.All, "lower(username) || '@example.com'")
			eq(t, "Line(backfill)", p.Line("backfill"), 6)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *Plan
			if tc.file != "" {
				var err error
				p, err = Load(filepath.Join("testdata", tc.file))
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				eq(t, "File", p.File, filepath.Join("testdata", tc.file))
			} else {
				p = mustParse(t, tc.yaml)
				eq(t, "File", p.File, planFile)
			}
			tc.check(t, p)
		})
	}
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func eqFor(t *testing.T, p PerDialect, d, want string, wantOK bool) {
	t.Helper()
	got, ok := p.For(d)
	if got != want || ok != wantOK {
		t.Errorf("For(%q) = %q, %v; want %q, %v", d, got, ok, want, wantOK)
	}
}

func TestPerDialect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      PerDialect
		zero   bool
		values []string
		str    string
		pg     string
		pgOK   bool
	}{
		{"zero", PerDialect{}, true, nil, "", "", false},
		{"empty map", PerDialect{By: map[string]string{}}, true, nil, "", "", false},
		{"all", PerDialect{All: "text"}, false, []string{"text"}, "text", "text", true},
		{"by, in dialect order", PerDialect{By: map[string]string{SQLite: "a", Postgres: "b", MySQL: "c"}}, false, []string{"b", "c", "a"}, "{postgres: b, mysql: c, sqlite: a}", "b", true},
		{"by, no postgres", PerDialect{By: map[string]string{SQLite: "a"}}, false, []string{"a"}, "{sqlite: a}", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eq(t, "IsZero", tc.p.IsZero(), tc.zero)
			eq(t, "Values", tc.p.Values(), tc.values)
			eq(t, "String", tc.p.String(), tc.str)
			eqFor(t, tc.p, Postgres, tc.pg, tc.pgOK)
		})
	}
	eq(t, "Dialects", Dialects(), []string{"postgres", "mysql", "sqlite"})
	for d, want := range map[string]bool{"postgres": true, "mysql": true, "sqlite": true, "Postgres": false, "postgresql": false, "mariadb": false, "": false} {
		eq(t, "KnownDialect("+d+")", KnownDialect(d), want)
	}
}

func TestExpand(t *testing.T) {
	add := mustParse(t, yamlOf(addColumnPlan))
	ren := mustParse(t, yamlOf(renamePlan))
	tight := mustParse(t, yamlOf(tightenPlan))
	for _, tc := range []struct {
		p    *Plan
		text string
		want string
	}{
		{add, "Adds {column} to {table} as a nullable column.", "Adds email to users as a nullable column."},
		{ren, "Adds {to} to {table} as a nullable column of {column}'s type.", "Adds full_name to users as a nullable column of name's type."},
		{tight, "Adds {constraint} in the dialect's least-locking way.", "Adds orders_amount_positive (CHECK amount > 0) in the dialect's least-locking way."},
		{add, "{constraint}", ""},
		{add, "no placeholders {other}", "no placeholders {other}"},
	} {
		if got := tc.p.Expand(tc.text); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	// Every placeholder in every phase text is one Expand fills.
	placeholder := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, p := range []*Plan{add, ren, tight} {
		for _, ph := range p.PlaybookDef().Phases {
			for _, text := range []string{ph.Does, ph.Why, ph.Verify, ph.Revert} {
				if left := placeholder.FindString(p.Expand(text)); left != "" {
					t.Errorf("%s/%s: %s left in %q", p.Playbook, ph.ID, left, p.Expand(text))
				}
			}
		}
	}
}

// --- Hash and Diff

const hashAddBase = `name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(320), sqlite: text}
backfill: "lower(username) || '@example.com'"
`

const hashTightenBase = `name: orders-amount-positive
playbook: tighten-constraint
table: orders
constraint:
  name: orders_amount_positive
  check: "amount > 0"
  violating: {amount: "-1"}
clean:
  set:
    amount: "abs(amount)"
    note: "'fixed'"
`

func TestHashIgnoresCosmetics(t *testing.T) {
	for _, tc := range []struct {
		name, base, variant string
	}{
		{"comments", hashAddBase, "# add an email column\n" + strings.Replace(hashAddBase, "table: users", "table: users   # the big one", 1) + "# the end\n"},
		{"spacing and blank lines", hashAddBase, "\n\nname:      users-email\n\nplaybook:   add-column\ntable:  users\ncolumn: email\ntype: { postgres: text ,  mysql: varchar(320),sqlite: text }\nbackfill:    \"lower(username) || '@example.com'\"\n\n"},
		{"key order", hashAddBase, "backfill: \"lower(username) || '@example.com'\"\ntype: {postgres: text, mysql: varchar(320), sqlite: text}\ncolumn: email\ntable: users\nplaybook: add-column\nname: users-email\n"},
		{"block mapping in another dialect order", hashAddBase, strings.Replace(hashAddBase, "type: {postgres: text, mysql: varchar(320), sqlite: text}", "type:\n  sqlite: text\n  postgres: text\n  mysql: varchar(320)", 1)},
		{"quoting style", hashAddBase, "name: \"users-email\"\nplaybook: 'add-column'\ntable: \"users\"\ncolumn: 'email'\ntype: {\"postgres\": \"text\", mysql: 'varchar(320)', sqlite: text}\nbackfill: 'lower(username) || ''@example.com'''\n"},
		{"default made explicit", hashAddBase, hashAddBase + "not_null: true\n"},
		{"CRLF", hashAddBase, strings.ReplaceAll(hashAddBase, "\n", "\r\n")},
		{"document markers", hashAddBase, "---\n" + hashAddBase + "...\n"},
		{"flow style constraint", hashTightenBase, "name: orders-amount-positive\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: orders_amount_positive, check: \"amount > 0\", violating: {amount: \"-1\"}}\nclean: {set: {amount: \"abs(amount)\", note: \"'fixed'\"}}\n"},
		{"constraint key order", hashTightenBase, "clean:\n  set:\n    amount: \"abs(amount)\"\n    note: \"'fixed'\"\nconstraint:\n  violating: {amount: \"-1\"}\n  check: \"amount > 0\"\n  name: orders_amount_positive\ntable: orders\nplaybook: tighten-constraint\nname: orders-amount-positive\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustParse(t, tc.base)
			b, err := parse(t, "elsewhere/other-name.yaml", tc.variant)
			if err != nil {
				t.Fatalf("variant: %v\n%s", err, tc.variant)
			}
			if a.Hash() != b.Hash() {
				t.Errorf("hash changed:\n%s\n%s", a.Canonical(), b.Canonical())
			}
			if d := Diff(a.Canonical(), b.Canonical()); len(d) != 0 {
				t.Errorf("Diff = %q, want none", d)
			}
		})
	}
}

func TestHashAndDiffSeeEveryChange(t *testing.T) {
	const renameBase = "name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"
	const uniqueBase = "name: users-email-unique\nplaybook: tighten-constraint\ntable: users\nconstraint: {name: users_email_key, unique: [email, tenant_id]}\n"
	const fkBase = "name: orders-user-fk\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}\n"
	rep := func(base, old, new string) string {
		if !strings.Contains(base, old) {
			panic("no " + old)
		}
		return strings.Replace(base, old, new, 1)
	}
	for _, tc := range []struct {
		name, base, variant string
		diff                []string
		why                 string // what once went wrong
	}{
		{"name", hashAddBase, rep(hashAddBase, "name: users-email", "name: users-email2"),
			[]string{`name: was "users-email", now "users-email2"`}, ""},
		{"table", hashAddBase, rep(hashAddBase, "table: users", "table: accounts"),
			[]string{`table: was "users", now "accounts"`}, ""},
		{"schema added", hashAddBase, hashAddBase + "schema: public\n",
			[]string{`schema: added "public"`}, ""},
		{"key added", hashAddBase, hashAddBase + "key: id\n",
			[]string{`key: added "id"`}, ""},
		{"column", hashAddBase, rep(hashAddBase, "column: email", "column: mail"),
			[]string{`column: was "email", now "mail"`}, ""},
		{"column case", hashAddBase, rep(hashAddBase, "column: email", "column: Email"),
			[]string{`column: was "email", now "Email"`}, ""},
		{"type on one dialect", hashAddBase, rep(hashAddBase, "varchar(320)", "varchar(255)"),
			[]string{`type.mysql: was "varchar(320)", now "varchar(255)"`}, ""},
		{"type dialect removed", hashAddBase, rep(hashAddBase, ", sqlite: text}", "}"),
			[]string{`type.sqlite: removed (was "text")`}, ""},
		{"type for all dialects", hashAddBase, rep(hashAddBase, "{postgres: text, mysql: varchar(320), sqlite: text}", "text"),
			[]string{`type.mysql: removed (was "varchar(320)")`, `type.postgres: removed (was "text")`, `type.sqlite: removed (was "text")`, `type: added "text"`}, ""},
		{"backfill", hashAddBase, rep(hashAddBase, "@example.com", "@example.org"),
			[]string{`backfill: was "lower(username) || '@example.com'", now "lower(username) || '@example.org'"`}, ""},
		{"backfill whitespace inside", hashAddBase, rep(hashAddBase, "lower(username) ||", "lower(username)  ||"),
			[]string{`backfill: was "lower(username) || '@example.com'", now "lower(username)  || '@example.com'"`}, ""},
		{"not_null off", hashAddBase, hashAddBase + "not_null: false\n",
			[]string{`not_null: was true, now false`}, ""},
		{"rename target", renameBase, rep(renameBase, "to: full_name", "to: display_name"),
			[]string{`to: was "full_name", now "display_name"`}, ""},
		{"rename type added", renameBase, renameBase + "type: text\n",
			[]string{`type: added "text"`}, ""},
		{"constraint name", hashTightenBase, rep(hashTightenBase, "name: orders_amount_positive", "name: orders_amount_nonneg"),
			[]string{`constraint.name: was "orders_amount_positive", now "orders_amount_nonneg"`}, ""},
		{"check", hashTightenBase, rep(hashTightenBase, `"amount > 0"`, `"amount >= 0"`),
			[]string{`constraint.check: was "amount > 0", now "amount >= 0"`},
			`plan.go flatten: Diff prints values with json.Marshal, which HTML-escapes them: the operator reads constraint.check: was "amount \u003e 0", now "amount \u003e= 0"`},
		{"check (hash only, while the row above is skipped)", hashTightenBase, rep(hashTightenBase, `"amount > 0"`, `"amount > 1"`),
			nil, ""}, // Diff only checked to be non-empty
		{"violating value", hashTightenBase, rep(hashTightenBase, `{amount: "-1"}`, `{amount: "0"}`),
			[]string{`constraint.violating[0].expr: was "-1", now "0"`}, ""},
		{"violating column", hashTightenBase, rep(hashTightenBase, `{amount: "-1"}`, `{total: "-1"}`),
			[]string{`constraint.violating[0].column: was "amount", now "total"`}, ""},
		{"foreign key referenced table", fkBase, rep(fkBase, "{table: users}", "{table: accounts}"),
			[]string{`constraint.references.table: was "users", now "accounts"`}, ""},
		{"foreign key referenced columns given", fkBase, rep(fkBase, "{table: users}", "{table: users, columns: [uid]}"),
			[]string{`constraint.references.columns[0]: added "uid"`}, ""},
		{"foreign key referenced schema given", fkBase, rep(fkBase, "{table: users}", "{schema: auth, table: users}"),
			[]string{`constraint.references.schema: added "auth"`}, ""},
		{"foreign key column", fkBase, rep(fkBase, "[user_id]", "[owner_id]"),
			[]string{`constraint.foreign_key[0]: was "user_id", now "owner_id"`}, ""},
		{"clean expression", hashTightenBase, rep(hashTightenBase, `amount: "abs(amount)"`, `amount: "abs(amount) + 1"`),
			[]string{`clean[0].expr: was "abs(amount)", now "abs(amount) + 1"`}, ""},
		{"clean entry added", hashTightenBase, hashTightenBase + "    status: \"'ok'\"\n",
			[]string{`clean[2].column: added "status"`, `clean[2].expr: added "'ok'"`}, ""},
		{"clean entry removed", hashTightenBase, rep(hashTightenBase, "    note: \"'fixed'\"\n", ""),
			[]string{`clean[1].column: removed (was "note")`, `clean[1].expr: removed (was "'fixed'")`}, ""},
		// clean.set keeps its order, and the order is meaning: MySQL
		// evaluates single-table UPDATE assignments left to right.
		{"clean entries swapped", hashTightenBase, rep(hashTightenBase, "    amount: \"abs(amount)\"\n    note: \"'fixed'\"\n", "    note: \"'fixed'\"\n    amount: \"abs(amount)\"\n"),
			[]string{
				`clean[0].column: was "amount", now "note"`,
				`clean[0].expr: was "abs(amount)", now "'fixed'"`,
				`clean[1].column: was "note", now "amount"`,
				`clean[1].expr: was "'fixed'", now "abs(amount)"`,
			}, ""},
		{"clean expression per dialect", hashTightenBase, rep(hashTightenBase, `amount: "abs(amount)"`, `amount: {postgres: "abs(amount)"}`),
			[]string{`clean[0].expr.postgres: added "abs(amount)"`, `clean[0].expr: removed (was "abs(amount)")`}, ""},
		{"unique column order", uniqueBase, rep(uniqueBase, "[email, tenant_id]", "[tenant_id, email]"),
			[]string{`constraint.unique[0]: was "email", now "tenant_id"`, `constraint.unique[1]: was "tenant_id", now "email"`}, ""},
		{"unique column dropped", uniqueBase, rep(uniqueBase, "[email, tenant_id]", "[email]"),
			[]string{`constraint.unique[1]: removed (was "tenant_id")`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustParse(t, tc.base)
			b := mustParse(t, tc.variant)
			if a.Hash() == b.Hash() {
				t.Errorf("hash unchanged by %s", tc.name)
			}
			got := Diff(a.Canonical(), b.Canonical())
			if tc.diff == nil {
				if len(got) == 0 {
					t.Error("Diff is empty")
				}
				return
			}
			if !slices.Equal(got, tc.diff) {
				t.Errorf("Diff =\n  %q\nwant\n  %q", got, tc.diff)
			}
			if !slices.IsSorted(got) {
				t.Errorf("Diff is not sorted: %q", got)
			}
			// And the other way round: added ↔ removed, was ↔ now.
			if back := Diff(b.Canonical(), a.Canonical()); len(back) != len(got) {
				t.Errorf("reverse Diff has %d lines, forward %d: %q", len(back), len(got), back)
			}
		})
	}
}

func TestDiffOddInput(t *testing.T) {
	c := mustParse(t, hashAddBase).Canonical()
	if d := Diff(c, c); len(d) != 0 {
		t.Errorf("Diff of a plan with itself = %q", d)
	}
	if d := Diff(nil, nil); len(d) != 0 {
		t.Errorf("Diff(nil, nil) = %q", d)
	}
	// With nothing (or nothing readable) before, every field is an addition.
	want := []string{
		`backfill: added "lower(username) || '@example.com'"`,
		`column: added "email"`,
		`name: added "users-email"`,
		`not_null: added true`,
		`playbook: added "add-column"`,
		`table: added "users"`,
		`type.mysql: added "varchar(320)"`,
		`type.postgres: added "text"`,
		`type.sqlite: added "text"`,
	}
	for _, old := range [][]byte{nil, []byte("{not json"), []byte("{}")} {
		if got := Diff(old, c); !slices.Equal(got, want) {
			t.Errorf("Diff(%q, plan) =\n  %q\nwant\n  %q", old, got, want)
		}
	}
}
