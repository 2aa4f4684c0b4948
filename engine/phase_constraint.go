package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// add-constraint and verify-failure-path: tighten-constraint's DDL and its
// proof on the real database.

func (s *Session) phaseAddConstraint(ctx context.Context, b builder) error {
	c := s.plan.Constraint
	switch c.Kind() {
	case "not_null":
		if err := s.requireNoNulls(ctx, "add-constraint", c.NotNull); err != nil {
			return err
		}
	case "foreign_key":
		if note := s.d.foreignKeyNote(); note != "" {
			s.notice("add-constraint", "warning: %s", note)
		}
		if err := s.requireNoOrphans(ctx, b); err != nil {
			return err
		}
	}
	script, err := b.addConstraint()
	if err != nil {
		return err
	}
	verify := s.verifyConstraint(true)
	if c.Kind() == "foreign_key" && s.d.uncheckedForeignKey() {
		verify = s.verifyNoOrphans(b, verify)
	}
	err = s.runScript(ctx, "add-constraint", script, s.finishIn("add-constraint", verify))
	var oe *orphansError
	if errors.As(err, &oe) {
		if derr := s.dropHalfAdded(ctx, b); derr != nil {
			return fmt.Errorf("%w; and dropping it again failed: %v", oe.VerifyError, derr)
		}
		return oe.VerifyError
	}
	return err
}

// orphanHint says what to do about rows without a parent at add-constraint.
func (s *Session) orphanHint() string {
	return fmt.Sprintf("they were written after clean (is validate-in-app deployed everywhere?); give them a parent or set their %s to NULL and rerun, or roll back add-constraint and clean (shepherd rollback, twice) and rerun, so that clean fixes them",
		strings.Join(s.plan.Constraint.ForeignKey, ", "))
}

// requireNoOrphans refuses to add a foreign key while rows lack their
// parent: the count and the keys, before any DDL. A constraint that a
// crashed run added without checking the rows (MySQL) is dropped again.
func (s *Session) requireNoOrphans(ctx context.Context, b builder) error {
	n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if err != nil {
		return fmt.Errorf("add-constraint: count the rows of %s without a parent: %w", s.plan.Table, err)
	}
	if n == 0 {
		return nil
	}
	ve := &VerifyError{Phase: "add-constraint", What: fmt.Sprintf("every row of %s should have its parent in %s before %s is added", s.plan.Table, s.plan.Constraint.References.Table, s.plan.Constraint.Name),
		Count: n, Sample: sample, Hint: s.orphanHint()}
	if present, err := s.constraintPresent(ctx, s.db); err == nil && present {
		if derr := s.dropHalfAdded(ctx, b); derr != nil {
			return fmt.Errorf("%w; and dropping the constraint an earlier run added failed: %v", ve, derr)
		}
		ve.What += " (the constraint an earlier run added is dropped again)"
	}
	return ve
}

// orphansError is rows without a parent found right after a foreign key
// was added without checking them: the constraint must go again.
type orphansError struct{ *VerifyError }

// verifyNoOrphans counts the rows without a parent once the constraint is
// in place (every write from now on is checked), then verifies the rest.
func (s *Session) verifyNoOrphans(b builder, then func(context.Context, querier) (string, error)) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		n, sample, err := s.countWhere(ctx, q, b.cond("violates"), nil)
		if err != nil {
			return "", fmt.Errorf("add-constraint: count the rows of %s without a parent: %w", s.plan.Table, err)
		}
		if n > 0 {
			c := s.plan.Constraint
			return "", &orphansError{&VerifyError{Phase: "add-constraint",
				What: fmt.Sprintf("%s was added without checking the rows already there, and %s has rows without a parent in %s, written between clean and the constraint; %s is dropped again",
					c.Name, s.plan.Table, c.References.Table, c.Name),
				Count: n, Sample: sample, Hint: s.orphanHint()}}
		}
		detail, err := then(ctx, q)
		if err != nil {
			return "", err
		}
		return detail + "; no row is without its parent", nil
	}
}

// dropHalfAdded drops the plan's constraint, leaving add-constraint as it
// is (the caller fails it).
func (s *Session) dropHalfAdded(ctx context.Context, b builder) error {
	script, err := b.dropConstraint()
	if err != nil {
		return err
	}
	return s.runScript(ctx, "add-constraint", script, func(context.Context, querier) error { return nil })
}

// verifyConstraint checks that the plan's constraint is (or, after a
// rollback, is not) in force, from the live catalog.
func (s *Session) verifyConstraint(want bool) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		c := s.plan.Constraint
		label := s.plan.ConstraintLabel()
		present, err := s.constraintPresent(ctx, q)
		if err != nil {
			return "", err
		}
		if present != want {
			state := "in force"
			if !want {
				state = "gone"
			}
			return "", &VerifyError{Phase: "add-constraint", What: fmt.Sprintf("%s should be %s on %s", label, state, s.plan.Table)}
		}
		if !want {
			return label + " dropped", nil
		}
		if c.Kind() == "check" || c.Kind() == "foreign_key" {
			if t, _ := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table); t != nil {
				if con, ok := t.Constraint(c.Name); ok && !con.Validated {
					return "", &VerifyError{Phase: "add-constraint", What: label + " exists but is not validated"}
				}
			}
		}
		return label + " is in force", nil
	}
}

// catalogKinds maps a plan's constraint kind to introspection's.
var catalogKinds = map[string]string{"check": "check", "unique": "unique", "foreign_key": "foreign-key"}

func (s *Session) constraintPresent(ctx context.Context, q querier) (bool, error) {
	c := s.plan.Constraint
	if c.Kind() == "not_null" {
		return s.columnIs(ctx, q, c.NotNull, "column-not-null")
	}
	t, err := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table)
	if err != nil {
		return false, fmt.Errorf("read the constraints of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	if con, ok := t.Constraint(c.Name); ok {
		return con.Kind == catalogKinds[c.Kind()], nil
	}
	if ix, ok := t.Index(c.Name); ok && c.Kind() == "unique" {
		return ix.Unique && ix.Valid, nil
	}
	return false, nil
}

// revertConstraint drops the constraint add-constraint added.
func (s *Session) revertConstraint(ctx context.Context, b builder) error {
	c := s.plan.Constraint
	if c.Kind() == "not_null" {
		return s.revertNotNull(ctx, b, "add-constraint", c.NotNull)
	}
	present, err := s.constraintPresent(ctx, s.db)
	if err != nil {
		return err
	}
	// A failed concurrent build (PostgreSQL) leaves an index that is not
	// the constraint, but is the plan's to drop.
	if !present && c.Kind() == "unique" && s.table != nil {
		_, present = s.table.Index(c.Name)
	}
	if !present {
		return s.moveNow(ctx, "add-constraint", phases.Revert, s.plan.ConstraintLabel()+" was not there: nothing to drop")
	}
	script, err := b.dropConstraint()
	if err != nil {
		return err
	}
	return s.runScript(ctx, "add-constraint", script, func(ctx context.Context, q querier) error {
		detail, err := s.verifyConstraint(false)(ctx, q)
		if err != nil {
			return err
		}
		return s.move(ctx, q, "add-constraint", phases.Revert, detail)
	})
}

// violatingWrite is one write that must be rejected: an update of an
// existing row, or, where the table has too few rows to write to, rows to
// insert (in order: the last one is the one to reject).
type violatingWrite struct {
	set    []setExpr   // for not_null, check and foreign_key
	dupe   bool        // for unique: copy another row's values
	insert [][]setExpr // the insert path
}

// phaseFailurePath proves the constraint on the real database: a violating
// write, inside a transaction that is always rolled back, must be rejected by
// it. Only the database's own rejection counts.
func (s *Session) phaseFailurePath(ctx context.Context, b builder) error {
	detail, rejected, err := s.proveRejected(ctx, b)
	if err != nil {
		return err
	}
	// Logged only now: the probe's transaction held the write lock.
	if rejected != "" {
		if err := s.log(ctx, s.db, "verify-failure-path", "sql", rejected, detail); err != nil {
			return err
		}
	}
	return s.moveNow(ctx, "verify-failure-path", phases.Finish, detail)
}

// proveRejected returns what happened and the statement the database
// rejected. It never reports success without a rejection: where no
// violating write can be built, it fails saying what the plan must give.
func (s *Session) proveRejected(ctx context.Context, b builder) (detail, rejected string, err error) {
	const phase = "verify-failure-path"
	c := s.plan.Constraint
	label := s.plan.ConstraintLabel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", "", s.dsn.scrub(err)
	}
	defer conn.Close()
	// The proof's settings (SQLite's PRAGMA foreign_keys) are for this
	// connection only: it is discarded, not returned to the pool.
	defer conn.Raw(func(any) error { return driver.ErrBadConn })
	setup, err := s.sql.Script("proof-setup", sqlData{})
	if err != nil {
		return "", "", err
	}
	for _, st := range setup {
		if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
			return "", "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(err)}
		}
	}
	if c.Kind() == "foreign_key" {
		if note := s.d.foreignKeyNote(); note != "" {
			s.notice(phase, "warning: %s", note)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", "", s.dsn.scrub(err)
	}
	defer tx.Rollback() // always: nothing this phase writes may stay

	keys, err := s.firstKeys(ctx, tx)
	if err != nil {
		return "", "", err
	}
	need := 1
	if c.Kind() == "unique" {
		need = 2
	}
	var tries []violatingWrite
	if len(keys) < need {
		// No row to write to: insert rows that break only the constraint.
		var missing []string
		if tries, missing = b.insertTries(); len(missing) > 0 {
			var cols []string
			for _, m := range missing {
				cols = append(cols, m[:strings.IndexByte(m+" ", ' ')]+": …")
			}
			return "", "", &VerifyError{Phase: phase,
				What: fmt.Sprintf("%s has %s to write to, so the proof inserts a row that breaks only %s, and shepherd has no value of its own for %s", s.plan.Table, rowsWord(len(keys)), label, strings.Join(missing, ", ")),
				Hint: fmt.Sprintf("add them to the plan as constraint.violating: {%s} (the row is inserted inside a transaction that is rolled back; constraint.violating may change while the plan is in force), then rerun", strings.Join(cols, ", "))}
		}
	} else {
		switch c.Kind() {
		case "not_null":
			tries = []violatingWrite{{set: []setExpr{{Column: c.NotNull, Expr: "NULL"}}}}
		case "unique":
			tries = []violatingWrite{{dupe: true}}
		case "foreign_key":
			if len(c.Violating) > 0 {
				tries = []violatingWrite{{set: s.violatingSet()}}
			} else {
				tries = b.orphanCandidates()
			}
		default:
			if len(c.Violating) > 0 {
				tries = []violatingWrite{{set: s.violatingSet()}}
			} else {
				tries = b.checkCandidates()
			}
		}
	}
	want := map[string]failureKind{"not_null": failNotNull, "unique": failUnique, "check": failCheck, "foreign_key": failForeignKey}[c.Kind()]
	var tried, refused []string
	for _, w := range tries {
		var stmts []templates.Statement
		var vals map[string]any
		switch {
		case len(w.insert) > 0:
			for _, row := range w.insert {
				d := b.constraintData()
				d.Set = row
				st, err := s.sql.Query("violating-insert", d)
				if err != nil {
					return "", "", err
				}
				stmts = append(stmts, st)
			}
		default:
			d := b.constraintData()
			name := "violating-update"
			vals = map[string]any{"key": keys[0]}
			if w.dupe {
				name, vals["other"] = "duplicate-update", keys[1]
			} else {
				d.Set = w.set
			}
			st, err := s.sql.Query(name, d)
			if err != nil {
				return "", "", err
			}
			stmts = append(stmts, st)
		}
		if _, err := s.exec(ctx, tx, "savepoint", sqlData{}, nil); err != nil {
			return "", "", &StepError{Phase: phase, SQL: "SAVEPOINT", Err: s.dsn.scrub(err)}
		}
		var werr error
		var last templates.Statement
		for _, st := range stmts {
			args, err := st.Args(vals)
			if err != nil {
				return "", "", err
			}
			s.emit(Event{Event: EventStep, Phase: phase, SQL: st.SQL, Lock: "the rows written, until the transaction is rolled back"})
			tried = append(tried, oneLine(st.SQL))
			last = st
			if _, werr = tx.ExecContext(ctx, st.SQL, args...); werr != nil {
				break
			}
		}
		if _, err := s.exec(ctx, tx, "rollback-to-savepoint", sqlData{}, nil); err != nil {
			return "", "", &StepError{Phase: phase, SQL: "ROLLBACK TO SAVEPOINT", Err: s.dsn.scrub(err)}
		}
		if werr == nil {
			continue // this value does not violate: try the next
		}
		f := s.d.classify(werr)
		if f.kind == want && (c.Kind() == "unique" || c.Kind() == "not_null" || f.constraint == "" || strings.EqualFold(f.constraint, c.Name)) {
			return fmt.Sprintf("a violating write was rejected by %s: %s (rolled back)", label, s.dsn.Scrub(werr.Error())), last.SQL, nil
		}
		if f.kind == failLockTimeout || f.kind == failConnection || errors.Is(werr, context.Canceled) {
			return "", "", &StepError{Phase: phase, SQL: last.SQL, Err: s.dsn.scrub(werr)}
		}
		refused = append(refused, fmt.Sprintf("%s was refused for another reason: %s", oneLine(last.SQL), s.dsn.Scrub(werr.Error())))
	}
	what := fmt.Sprintf("no violating write was rejected by %s; tried: %s", label, strings.Join(tried, "; "))
	if len(refused) > 0 {
		what += "; " + strings.Join(refused, "; ")
	}
	hint := "is the constraint in force? Rerun add-constraint's check with shepherd status"
	switch {
	case len(keys) < need:
		hint = s.violatingHint(b)
	case c.Kind() == "check" && len(c.Violating) == 0:
		hint = "shepherd could not guess a value that breaks the check: give one in the plan as constraint.violating: {column: value}"
	case c.Kind() == "foreign_key" && len(c.Violating) == 0:
		hint = fmt.Sprintf("shepherd could not find a value of %s that no row of %s has: give one in the plan as constraint.violating: {%s: value}",
			strings.Join(c.ForeignKey, ", "), c.References.Table, c.ForeignKey[0])
	}
	return "", "", &VerifyError{Phase: phase, What: what, Hint: hint}
}

func rowsWord(n int) string {
	switch n {
	case 0:
		return "no rows"
	case 1:
		return "one row"
	}
	return fmt.Sprintf("%d rows", n)
}

// violatingHint says what to add to the plan when the rows shepherd
// inserted were refused for other reasons: values for the columns an
// insert must give and the constraint's own, as constraint.violating.
func (s *Session) violatingHint(b builder) string {
	var cols []string
	for _, col := range b.requiredColumns() {
		cols = append(cols, col.Name+": …")
	}
	for _, col := range b.plan.Constraint.Columns() {
		if !slices.Contains(cols, col+": …") {
			cols = append(cols, col+": …")
		}
	}
	return fmt.Sprintf("add to the plan constraint.violating: {%s}, values that break only %s (the row is inserted inside a transaction that is rolled back; constraint.violating may change while the plan is in force), then rerun",
		strings.Join(cols, ", "), b.plan.Constraint.Name)
}

// requiredColumns are the columns an insert into the table must give: NOT
// NULL, without a default, not generated or filled by the database.
func (b builder) requiredColumns() []Column {
	var out []Column
	for _, c := range b.live.Columns {
		if c.NotNull && c.Default == nil && !c.Generated && !c.Auto {
			out = append(out, c)
		}
	}
	return out
}

// insertTries are rows that break only the constraint, for a table with
// too few rows to write to: every column an insert must give has a value
// of its type (or the plan's constraint.violating value), and the
// constraint's own columns break it. A unique constraint needs two rows
// with the same values. missing lists the columns shepherd has no value
// for (it lists them with their types, for the message).
func (b builder) insertTries() (tries []violatingWrite, missing []string) {
	c := b.plan.Constraint
	violating := map[string]string{}
	for _, a := range c.Violating {
		violating[a.Column], _ = a.Expr.For(b.d.name())
	}
	// row gives the columns an insert must give, and cols besides, values:
	// the plan's where it gives one, else one of the column's type.
	row := func(seed int, cols []string) []setExpr {
		var set []setExpr
		seen := map[string]bool{}
		add := func(col Column) {
			if seen[col.Name] {
				return
			}
			seen[col.Name] = true
			if v, ok := violating[col.Name]; ok {
				set = append(set, setExpr{Column: col.Name, Expr: v})
			} else if v, ok := fillValue(col.Type, seed); ok {
				set = append(set, setExpr{Column: col.Name, Expr: v})
			} else if !slices.Contains(missing, col.Name+" ("+col.Type+")") {
				missing = append(missing, col.Name+" ("+col.Type+")")
			}
		}
		for _, col := range b.requiredColumns() {
			add(col)
		}
		for _, name := range cols {
			if col, ok := b.live.Column(name); ok {
				add(col)
			}
		}
		for _, a := range c.Violating {
			if !seen[a.Column] {
				seen[a.Column] = true
				set = append(set, setExpr{Column: a.Column, Expr: violating[a.Column]})
			}
		}
		return set
	}
	// with returns set with col's value replaced (or added).
	with := func(set []setExpr, col, expr string) []setExpr {
		out := append([]setExpr(nil), set...)
		for i := range out {
			if out[i].Column == col {
				out[i].Expr = expr
				return out
			}
		}
		return append(out, setExpr{Column: col, Expr: expr})
	}
	switch c.Kind() {
	case "not_null":
		tries = []violatingWrite{{insert: [][]setExpr{with(row(1, nil), c.NotNull, "NULL")}}}
	case "unique":
		// Two rows, equal in the constraint's columns, different in the
		// others; another seed where the one row there clashes with them
		// on another key.
		for _, seed := range []int{1, 3, 5} {
			first, second := row(seed, c.Unique), row(seed+1, c.Unique)
			for _, col := range c.Unique {
				for _, e := range first {
					if e.Column == col {
						second = with(second, col, e.Expr)
					}
				}
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{first, second}})
		}
	case "foreign_key":
		base := row(1, c.ForeignKey)
		if len(c.Violating) > 0 {
			tries = []violatingWrite{{insert: [][]setExpr{base}}}
			break
		}
		for _, w := range b.orphanCandidates() {
			r := base
			for _, e := range w.set {
				r = with(r, e.Column, e.Expr)
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{r}})
		}
		if len(tries) == 0 {
			for _, col := range c.ForeignKey {
				if _, ok := violating[col]; !ok {
					missing = append(missing, col+" (a value no row of "+c.References.Table+" has)")
				}
			}
		}
	default:
		base := row(1, nil)
		if len(c.Violating) > 0 {
			tries = []violatingWrite{{insert: [][]setExpr{base}}}
			break
		}
		for _, w := range b.checkCandidates() {
			r := base
			for _, e := range w.set {
				r = with(r, e.Column, e.Expr)
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{r}})
		}
	}
	return tries, missing
}

// fillValue is a value of a column's type for an inserted row: constants
// of shepherd's own, never input; seed makes rows differ. false when
// shepherd has none for the type.
func fillValue(typ string, seed int) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	n := strconv.Itoa(seed)
	switch {
	case strings.HasPrefix(t, "enum("):
		// MySQL: the first value of the list.
		if i := strings.IndexByte(t, '\''); i >= 0 {
			if j := strings.IndexByte(typ[i+1:], '\''); j >= 0 {
				return typ[i : i+j+2], true
			}
		}
		return "", false
	case containsAny(t, "[]", "interval", "point", "range", "bytea", "blob", "binary", "bit", "geometry", "year", "set("):
		return "", false
	case containsAny(t, "bool"):
		return "true", true
	case containsAny(t, "int", "serial", "num", "dec", "real", "float", "double", "money"):
		return n, true
	case containsAny(t, "timestamp", "datetime"):
		return "'2000-01-0" + n + " 00:00:00'", true
	case containsAny(t, "date"):
		return "'2000-01-0" + n + "'", true
	case containsAny(t, "time"):
		return "'00:00:0" + n + "'", true
	case containsAny(t, "uuid"):
		return "'00000000-0000-4000-8000-00000000000" + n + "'", true
	case containsAny(t, "json"):
		return "'{}'", true
	case containsAny(t, "char", "text", "clob", "string"):
		return "'" + n + "'", true
	case t == "":
		return n, true // SQLite: a column without a type takes any value
	}
	return "", false
}

// violatingSet is the plan's constraint.violating values on this dialect.
func (s *Session) violatingSet() []setExpr {
	var set []setExpr
	for _, a := range s.plan.Constraint.Violating {
		e, _ := a.Expr.For(s.d.name())
		set = append(set, setExpr{Column: a.Column, Expr: e})
	}
	return set
}

// orphanCandidates are writes that break a foreign key: every referencing
// column set to a value that no row of the referenced table has in the
// referenced column (past the greatest there), which no parent row can
// match. Only integer and text columns have such a value shepherd can
// derive; for others the plan gives one as constraint.violating.
func (b builder) orphanCandidates() []violatingWrite {
	if b.live == nil {
		return nil
	}
	d := b.constraintData()
	var set []setExpr
	for i, col := range d.Columns {
		c, ok := b.live.Column(col)
		if !ok || i >= len(d.RefColumns) {
			return nil
		}
		class := keyClass(c.Type)
		if class == "" {
			return nil
		}
		ad := sqlData{RefSchema: d.RefSchema, RefTable: d.RefTable, Column: d.RefColumns[i], Cond: class}
		st, err := b.sql.Query("absent-key", ad)
		if err != nil {
			return nil
		}
		set = append(set, setExpr{Column: col, Expr: st.SQL})
	}
	return []violatingWrite{{set: set}}
}

// keyClass says how shepherd can derive a value absent from a key column:
// int (past the greatest) or text (the greatest with a character
// appended), or "" when it cannot.
func keyClass(typ string) string {
	t := strings.ToLower(typ)
	switch {
	case containsAny(t, "int", "serial", "num", "dec"):
		return "int"
	case containsAny(t, "char", "text", "clob", "string"):
		return "text"
	}
	return ""
}

func (s *Session) firstKeys(ctx context.Context, q querier) ([]any, error) {
	rows, err := s.query(ctx, q, "first-keys", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Key: s.key}, nil)
	if err != nil {
		return nil, fmt.Errorf("verify-failure-path: pick rows of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	defer rows.Close()
	var keys []any
	for rows.Next() {
		var k any
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// checkCandidates guesses writes that break a CHECK: for each column the
// check names, values that commonly fall outside a range or a list. Each is
// tried inside a savepoint; the first the database rejects is the proof.
func (b builder) checkCandidates() []violatingWrite {
	check, _ := b.plan.Constraint.Check.For(b.d.name())
	var out []violatingWrite
	seen := map[string]bool{}
	for _, t := range lexSQL(check) {
		if t.kind != 'w' && t.kind != 'q' {
			continue
		}
		col, ok := b.live.Column(t.name())
		if !ok || seen[col.Name] || col.Generated {
			continue
		}
		seen[col.Name] = true
		for _, v := range candidateValues(col.Type) {
			out = append(out, violatingWrite{set: []setExpr{{Column: col.Name, Expr: v}}})
		}
	}
	return out
}

// candidateValues are constants of shepherd's own, never input.
func candidateValues(typ string) []string {
	t := strings.ToLower(typ)
	switch {
	case containsAny(t, "int", "num", "dec", "real", "float", "double", "serial", "money"):
		return []string{"-1", "0", "-1000000000", "1000000000", "NULL"}
	case containsAny(t, "date", "time"):
		return []string{"'1900-01-01'", "'9999-12-31'", "NULL"}
	case containsAny(t, "bool"):
		return []string{"false", "true", "NULL"}
	}
	return []string{"''", "'shepherd-invalid-value'", "' '", "-1", "0", "NULL"}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
