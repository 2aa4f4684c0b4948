package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/templates"
)

// valueTarget is a column that an expression's value is written into.
type valueTarget struct {
	// What names the column for messages: "the new column email",
	// "accounts.score".
	What string
	// Type is its type as this dialect writes it: the plan's type: for a
	// column the plan adds, the live column's for one that exists.
	Type string
	// TypeField is the plan field that gives Type ("type"), where the plan
	// gives it: a type the database refuses is that field's problem. Empty
	// for a live column's type.
	TypeField string
	// From names the value for messages where the expression is not the
	// plan's own (a rename's copy of the old column); "" shows the
	// expression.
	From string
	// Fix is what to do about a value of the wrong type, where converting
	// the expression is not it (a rename copies values as they are).
	Fix string
}

// fix is what to do about a value the target's type does not take, with
// how this dialect converts it explicitly.
func (t valueTarget) fix(convert string) string {
	if t.Fix != "" {
		return t.Fix
	}
	return "convert it explicitly, such as " + convert
}

// tryExpressions asks the database to check every expression and type of
// the plan against the table, without reading a row: each expression that
// becomes a column's value as one value of that column's type
// (checkValue), a CHECK's condition as a condition. added says the plan's
// column exists already (add-column is done): what the operator should
// know about its type was said before. Which expressions a plan has is its
// playbook's to say (checkExpressions).
func (s *Session) tryExpressions(ctx context.Context, t *Table, added bool) ([]string, error) {
	return unitOf(s.plan.Playbook).checkExpressions(&exprCheck{ctx: ctx, s: s, t: t, added: added, dialect: s.d.name()})
}

// exprCheck is what a playbook's checkExpressions checks its plan's
// expressions with, and collects the problems in.
type exprCheck struct {
	ctx      context.Context
	s        *Session
	t        *Table
	added    bool
	dialect  string
	problems []string
}

// value checks that expr, written into target, is one value of the
// target's type; a problem is collected, an error is the database's.
func (c *exprCheck) value(field, expr string, target valueTarget) error {
	problem, err := c.s.checkValue(c.ctx, c.t, field, expr, target)
	if problem != "" {
		c.problems = append(c.problems, problem)
	}
	return err
}

// warnType adds, before the column is added, what the operator should
// know about typ as its type.
func (c *exprCheck) warnType(typ string) {
	if w := typeWarning(c.s.d, typ); w != "" && !c.added {
		c.s.warnings = append(c.s.warnings, w)
	}
}

// condition checks that v compiles as a condition on the table.
func (c *exprCheck) condition(field, v string) {
	if problem := c.s.compiles(c.ctx, c.t, field, v, "CASE WHEN "+v+" THEN 1 ELSE 0 END"); problem != "" {
		c.problems = append(c.problems, problem)
	}
}

// compiles asks the database to compile sql, which stands for the plan's
// expr, against the table; it returns the problem, or "".
func (s *Session) compiles(ctx context.Context, t *Table, field, expr, sql string) string {
	q, err := s.sql.Query("try-expr", sqlData{Schema: s.plan.Schema, Table: t.Name, Expr: sql})
	if err == nil {
		var rows interface{ Close() error }
		rows, err = s.db.QueryContext(ctx, q.SQL)
		if err == nil {
			rows.Close()
		}
	}
	if err != nil {
		return fmt.Sprintf("%s: the database rejects %q on %s: %v (columns: %s)", field, expr, t.Name, s.dsn.scrub(err), strings.Join(t.ColumnNames(), ", "))
	}
	return ""
}

// checkValue has the database check that expr, written into target as the
// phases write it (`SET col = (expr)`, `VALUES ((expr))`), is one value of
// each row, of a type the column takes: before anything changes, it
// returns the problem for the plan ("" when there is none), or an error
// when the database could not be asked. It reads no row and changes
// nothing: what it creates is a temporary table of its own connection,
// thrown away with it.
//
// It is the server's half of the check; phases.CheckScalar, run when the
// plan is parsed, is the lexical half, and this one does not rely on it:
// every form CheckScalar refuses is refused here too, by the database. Each
// expression that becomes a column's value goes through both: backfill:
// (into the plan's type:), clean: set: and constraint.violating (into the
// live column's type), a rename's copy (the old column into the plan's
// type:), and change-column-type's using: when that playbook comes.
//
// On every dialect: the expression compiles in parentheses (an alias, *,
// DISTINCT, UNION do not), as one column (t.* is several on PostgreSQL),
// and where only one row's value may stand (an aggregate, a window or a
// set-returning function may not). Then the dialect (valueProblem): on
// PostgreSQL it is no row value and is written into a column of the type
// with the assignment casts an UPDATE uses; on MySQL its result type is
// one MySQL will not convert badly; SQLite stores any value in any column.
func (s *Session) checkValue(ctx context.Context, t *Table, field, expr string, target valueTarget) (string, error) {
	d := sqlData{Schema: s.plan.Schema, Table: t.Name, Expr: expr, Type: target.Type}
	if t.Schema != "" {
		d.Schema = t.Schema
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", s.dsn.scrub(err)
	}
	// The temporary table belongs to this connection: the connection goes
	// back to the pool only once the table is gone for certain, and is
	// discarded otherwise. Kept, it spares the next statement a new
	// session (on PostgreSQL, a backend that reads the catalog afresh).
	var probe *valueProbe
	defer func() {
		if probe != nil && probe.close(ctx) {
			conn.Close()
			return
		}
		discardConn(conn)
	}()
	probe, refused, err := s.openProbe(ctx, conn, d)
	if err != nil {
		return "", err
	}
	switch {
	case refused != nil && target.TypeField != "":
		return fmt.Sprintf("%s: the database does not take %q as a column's type: %v; give a type it has, such as text, varchar(255), integer or numeric(10, 2)", target.TypeField, target.Type, s.dsn.scrub(refused)), nil
	case refused != nil:
		return "", fmt.Errorf("%s: check a value for %s (%s) on an empty temporary table: %w", field, target.What, target.Type, s.dsn.scrub(refused))
	}
	why, err := s.valueWhy(ctx, probe, t, d, target)
	if err != nil || why == "" {
		return "", err
	}
	return field + ": " + why, nil
}

// valueWhy is checkValue's problem, after the field's name.
func (s *Session) valueWhy(ctx context.Context, probe *valueProbe, t *Table, d sqlData, target valueTarget) (string, error) {
	expr := d.Expr
	shown := target.From
	if shown == "" {
		shown = fmt.Sprintf("%q", expr)
	}
	// It compiles as one value.
	q, err := s.sql.Query("try-expr", d)
	if err != nil {
		return "", err
	}
	rows, err := probe.q.QueryContext(ctx, q.SQL)
	if err != nil {
		if err := s.unasked(err); err != nil {
			return "", err
		}
		return fmt.Sprintf("the database rejects %q on %s: %v (columns: %s)", expr, t.Name, s.dsn.scrub(err), strings.Join(t.ColumnNames(), ", ")), nil
	}
	cols, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return "", s.dsn.scrub(err)
	}
	if len(cols) != 1 {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name()
		}
		return fmt.Sprintf("%s is not one value: it gives %d columns (%s), and a column takes one value; give one expression", shown, len(cols), strings.Join(names, ", ")), nil
	}
	// It is one row's value.
	q, err = s.sql.Query("try-per-row", d)
	if err != nil {
		return "", err
	}
	if _, err := probe.q.ExecContext(ctx, q.SQL); err != nil {
		if err := s.unasked(err); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s is not one value per row: the database refuses it where one row's value must stand (%v): an aggregate, a window function or a set-returning function is computed over many rows; to use other rows, read them in a scalar subquery in parentheses, such as (SELECT max(amount) FROM orders WHERE orders.user_id = users.id)", shown, s.dsn.scrub(err)), nil
	}
	why, err := valueProblem(ctx, s.d, probe.q, s.sql, d, valueOf{Type: cols[0].DatabaseTypeName(), Target: target, Made: probe.made})
	if err != nil {
		if err := s.unasked(err); err != nil {
			return "", err
		}
		return "", s.dsn.scrub(err)
	}
	if why != "" {
		return shown + " " + why, nil
	}
	if !probe.made {
		s.warnings = append(s.warnings, fmt.Sprintf("%s was not checked against the type of %s (%s): %s", shown, target.What, target.Type, probe.why))
	}
	return "", nil
}

// valueOf is what a dialect's valueProblem knows of the value to judge.
type valueOf struct {
	// Type is the type the driver gives the expression's result.
	Type   string
	Target valueTarget
	// Made says that try-type's temporary table, one column v of the
	// target's type, is there to write into.
	Made bool
}

// unasked returns err when it says the database could not be asked (a lock
// wait, a lost connection), and nil when it is the database's answer.
func (s *Session) unasked(err error) error {
	switch s.d.classify(err).kind {
	case failLockTimeout, failConnection:
		return fmt.Errorf("check the plan's expressions against the table: %w; rerun", s.dsn.scrub(err))
	}
	return nil
}

// valueProbe is the temporary table try-type made (one column v of the
// target's type) and what to query it through: the transaction that made
// it (PostgreSQL, rolled back at close) or the connection.
type valueProbe struct {
	s    *Session
	conn *sql.Conn
	tx   *sql.Tx
	q    querier
	d    sqlData
	// made is false when the database does not let this user create a
	// temporary table (why says so): only the checks that need none run.
	made bool
	why  string
	// dirty: a close failed, so the connection may still hold the table.
	dirty bool
}

// openProbe makes the temporary table for d.Type. refused is the
// database's refusal of the type; err an error asking it.
func (s *Session) openProbe(ctx context.Context, conn *sql.Conn, d sqlData) (p *valueProbe, refused, err error) {
	p = &valueProbe{s: s, conn: conn, q: conn, d: d, made: true}
	script, err := s.sql.Script("try-type", d)
	if err != nil {
		return nil, nil, err
	}
	for _, st := range script {
		if st.Mode == templates.InTx && p.tx == nil {
			if p.tx, err = conn.BeginTx(ctx, nil); err != nil {
				return nil, nil, s.dsn.scrub(err)
			}
			p.q = p.tx
		}
		args, _ := st.Args(nil)
		if _, err := p.q.ExecContext(ctx, st.SQL, args...); err != nil {
			switch s.d.classify(err).kind {
			case failLockTimeout, failConnection:
				p.close(ctx)
				return nil, nil, fmt.Errorf("check the plan's types and expressions on an empty temporary table: %w; rerun", s.dsn.scrub(err))
			case failPermission:
				// A user that may read but not create a temporary table
				// (plan --db with read-only rights): the checks that need
				// no table still run, and the operator is told.
				clean := p.close(ctx)
				p = &valueProbe{s: s, conn: conn, q: conn, d: d, dirty: !clean, why: fmt.Sprintf("this user may not create the temporary table shepherd checks it on (%v)", s.dsn.scrub(err))}
				// Where the dialect can check a type without a table
				// (PostgreSQL's CAST takes any type), it still does.
				if s.sql.Has("try-type-readonly") {
					st, err := s.sql.Query("try-type-readonly", d)
					if err != nil {
						return nil, nil, err
					}
					if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
						if err := s.unasked(err); err != nil {
							return nil, nil, err
						}
						return p, err, nil
					}
				}
				return p, nil, nil
			}
			p.close(ctx)
			return p, err, nil
		}
	}
	return p, nil, nil
}

// close throws the temporary table away: the transaction is rolled back,
// or the table dropped. clean says the connection holds nothing of it any
// more (the caller discards the connection otherwise).
func (p *valueProbe) close(ctx context.Context) (clean bool) {
	if p.tx != nil {
		if err := p.tx.Rollback(); err != nil { // always: nothing of it is kept
			p.dirty = true
		}
		p.tx = nil
		p.q = p.conn
	}
	if !p.made {
		return !p.dirty
	}
	p.made = false
	script, err := p.s.sql.Script("try-type-end", p.d)
	if err != nil {
		p.dirty = true
		return false
	}
	for _, st := range script {
		args, _ := st.Args(nil)
		if _, err := p.conn.ExecContext(ctx, st.SQL, args...); err != nil {
			p.dirty = true
		}
	}
	return !p.dirty
}
