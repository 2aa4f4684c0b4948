package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/shepherd-db/shepherd/templates"
)

// postgresDialect runs on PostgreSQL through pgx's database/sql driver.
// PostgreSQL has transactional DDL and changes constraints in place: NOT
// NULL, CHECK and UNIQUE each go through their least-locking form (NOT
// VALID then VALIDATE; an index built CONCURRENTLY), and every statement
// waits at most lock_timeout for its lock.
//
// What it lacks of the optional interfaces (dialect.go), and why: a
// preparer (its scripts need nothing from the live table), a formExpecter,
// a columnRestater, a copyEstimator (no statement shepherd runs there
// copies a table), a typeWarner (PostgreSQL refuses a type it does not
// know: try-type), a foreignKeyUnchecker (VALIDATE checks every row), a
// foreignKeyNoter, a batchTxer (its batches run at the default, READ
// COMMITTED) and a batchGapper (a write that meets a row of the batch
// queues for that row's lock and gets it at the batch's commit).
type postgresDialect struct{}

// What it has beyond the core.
var (
	_ dialect          = postgresDialect{}
	_ dsnReader        = postgresDialect{}
	_ schemaHolder     = postgresDialect{}
	_ foreignKeyTyper  = postgresDialect{}
	_ valueChecker     = postgresDialect{}
	_ statementBounder = postgresDialect{}
	_ pressureReader   = postgresDialect{}
)

// pgPoolLockTimeout is the lock_timeout every connection of shepherd's pool
// starts with: the default of Options.LockTimeout. Connections that run DDL
// set --lock-timeout (connSetup); batches, probes and state writes keep
// this, so that no statement of shepherd's queues in front of the
// application's for long. A DSN that sets lock_timeout itself wins.
const pgPoolLockTimeout = 500 * time.Millisecond

func (postgresDialect) name() string         { return "postgres" }
func (postgresDialect) server() string       { return "PostgreSQL" }
func (postgresDialect) supportsSchema() bool { return true }

func (postgresDialect) quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

func (postgresDialect) open(ctx context.Context, dsn DSN) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn.raw)
	if err != nil {
		return nil, err
	}
	if _, set := cfg.RuntimeParams["lock_timeout"]; !set {
		cfg.RuntimeParams["lock_timeout"] = pgDuration(pgPoolLockTimeout)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "shepherd"
	}
	// No statement timeout on shepherd's sessions, whatever the database,
	// the role or the DSN sets (timeout.go): a parameter of the startup
	// message outranks ALTER DATABASE and ALTER ROLE settings and the DSN's
	// options=-c…. A batch sets its own bound (batchBound).
	cfg.RuntimeParams["statement_timeout"] = "0"
	return stdlib.OpenDB(*cfg), nil
}

func (postgresDialect) timeoutSetting() string { return "statement_timeout" }

// batchBound bounds a batch for its transaction only: SET LOCAL ends with
// it, and the pool's connection goes back with no timeout.
func (postgresDialect) batchBound(d time.Duration) (string, string) {
	return fmt.Sprintf("SET LOCAL statement_timeout = '%s'", pgDuration(d)), ""
}

// pgDuration renders a duration as a PostgreSQL setting in milliseconds; at
// least 1ms, since 0 would mean "wait forever".
func pgDuration(d time.Duration) string {
	return fmt.Sprintf("%dms", max(1, d.Milliseconds()))
}

func (postgresDialect) connSetup(opts Options) []string {
	return []string{fmt.Sprintf("SET lock_timeout = '%s'", pgDuration(opts.LockTimeout))}
}

func (postgresDialect) timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func (postgresDialect) classify(err error) failure {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "55P03" || pe.Code == "40P01": // lock_not_available (lock_timeout), deadlock_detected
			return failure{kind: failLockTimeout}
		case pe.Code == "23502":
			return failure{kind: failNotNull, constraint: pe.ConstraintName}
		case pe.Code == "23514":
			return failure{kind: failCheck, constraint: pe.ConstraintName}
		case pe.Code == "23505":
			return failure{kind: failUnique, constraint: pe.ConstraintName}
		case pe.Code == "42501", pe.Code == "25006": // insufficient_privilege; read_only_sql_transaction (a standby)
			return failure{kind: failPermission}
		case pe.Code == "23503":
			return failure{kind: failForeignKey, constraint: pe.ConstraintName}
		case pe.Code == "53100": // disk_full
			return failure{kind: failDiskFull}
		case pe.Code == "57014": // query_canceled
			return failure{kind: failCancelled, cancel: pgCancelCause(pe.Message)}
		// connection_exception, and the server shutting down or
		// terminating the session.
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
			return failure{kind: failConnection}
		}
		return failure{kind: failOther}
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, sql.ErrConnDone),
		// pgx's "conn closed": a statement or COMMIT on a connection
		// whose socket went away (a batch's commit during an outage).
		errors.Is(err, pgconn.ErrConnClosed):
		return failure{kind: failConnection}
	}
	return failure{kind: failOther}
}

// pgCancelCause reads why PostgreSQL cancelled a statement (57014 is both)
// from its message: "canceling statement due to statement timeout" or
// "… due to user request" (pg_cancel_backend, a client's cancel). A
// server that speaks another language (lc_messages) says neither.
func pgCancelCause(msg string) cancelCause {
	switch {
	case strings.Contains(msg, "statement timeout"):
		return cancelTimeout
	case strings.Contains(msg, "user request"):
		return cancelRequest
	}
	return cancelUnknown
}

func (d postgresDialect) introspect(ctx context.Context, q querier, set *templates.Set, schema, table string) (*Table, error) {
	data := sqlData{Schema: schema, Table: table}
	run := func(name string, scan func(*sql.Rows) error) error {
		return eachRow(ctx, q, set, name, data, scan)
	}
	t := &Table{Name: table}
	found := false
	if err := run("table-exists", func(r *sql.Rows) error { found = true; return r.Scan(&t.Schema) }); err != nil {
		return nil, err
	}
	if !found {
		return nil, errNoTable
	}
	err := run("table-columns", func(r *sql.Rows) error {
		var c Column
		var dflt sql.NullString
		if err := r.Scan(&c.Name, &c.Type, &c.NotNull, &dflt, &c.Generated, &c.Auto); err != nil {
			return err
		}
		if dflt.Valid {
			c.Default = &dflt.String
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = run("table-primary-key", func(r *sql.Rows) error {
		var col string
		if err := r.Scan(&col); err != nil {
			return err
		}
		t.PrimaryKey = append(t.PrimaryKey, col)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = run("table-indexes", func(r *sql.Rows) error {
		var name string
		var unique, partial, valid bool
		var col sql.NullString
		if err := r.Scan(&name, &unique, &partial, &valid, &col); err != nil {
			return err
		}
		if n := len(t.Indexes); n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, Index{Name: name, Unique: unique, Partial: partial, Valid: valid})
		}
		ix := &t.Indexes[len(t.Indexes)-1]
		if col.Valid {
			ix.Columns = append(ix.Columns, col.String)
		} else {
			ix.Partial = true // an expression index cannot serve as a plain column key
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kinds := map[string]CatalogKind{"c": CatalogCheck, "u": CatalogUnique, "f": CatalogForeignKey}
	err = run("table-constraints", func(r *sql.Rows) error {
		var name, kind string
		var validated bool
		var col sql.NullString
		if err := r.Scan(&name, &kind, &validated, &col); err != nil {
			return err
		}
		if n := len(t.Constraints); n == 0 || t.Constraints[n-1].Name != name {
			t.Constraints = append(t.Constraints, Constraint{Name: name, Kind: kinds[kind], Validated: validated})
		}
		if col.Valid {
			c := &t.Constraints[len(t.Constraints)-1]
			c.Columns = append(c.Columns, col.String)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := run("table-update-triggers", func(r *sql.Rows) error { return t.addUpdateTrigger(r) }); err != nil {
		return nil, err
	}
	if err := pgPartitioning(run, t); err != nil {
		return nil, err
	}
	return t, nil
}

// pgPartitioning reads, for a partitioned table, its partition key and its
// partitions with their indexes (partition.go); t.Partition stays nil for
// any other table.
func pgPartitioning(run func(string, func(*sql.Rows) error) error, t *Table) error {
	var p *Partitioning
	err := run("table-partitioning", func(r *sql.Rows) error {
		var strategy string
		var col sql.NullString
		if err := r.Scan(&strategy, &col); err != nil {
			return err
		}
		if p == nil {
			p = &Partitioning{Strategy: strategy}
		}
		if col.Valid {
			p.Key = append(p.Key, col.String)
		} else {
			p.Expression = true
		}
		return nil
	})
	if err != nil || p == nil {
		return err
	}
	err = run("table-partitions", func(r *sql.Rows) error {
		var schema, name, kind string
		var index sql.NullString
		var valid bool
		if err := r.Scan(&schema, &name, &kind, &index, &valid); err != nil {
			return err
		}
		if n := len(p.Partitions); n == 0 || p.Partitions[n-1].Schema != schema || p.Partitions[n-1].Name != name {
			p.Partitions = append(p.Partitions, Partition{Schema: schema, Name: name, Partitioned: kind == "p", Foreign: kind == "f"})
		}
		if index.Valid {
			part := &p.Partitions[len(p.Partitions)-1]
			part.Indexes = append(part.Indexes, PartitionIndex{Name: index.String, Valid: valid})
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.Partition = p
	return nil
}

// lock takes a session-level advisory lock on a connection held for the
// whole session, keyed on the table, and records the holder in
// shepherd.shepherd_lock. The lock is the advisory lock, not the row: it
// goes when the connection does, so a killed runner frees it at once, and
// a refused runner reads the row to say who holds it.
func (d postgresDialect) lock(ctx context.Context, s *Session) (runnerLock, error) {
	scope, err := d.lockScope(ctx, s)
	if err != nil {
		return nil, err
	}
	return s.takeSessionLock(ctx, scope, advisoryKey(scope))
}

// lockScope is the table's schema-qualified name.
func (postgresDialect) lockScope(ctx context.Context, s *Session) (string, error) {
	schema := s.plan.Schema
	if schema == "" {
		if err := s.queryRow(ctx, s.db, "current-schema", nil, nil, &schema); err != nil {
			return "", fmt.Errorf("find the current schema: %w", s.dsn.scrub(err))
		}
	}
	return schema + "." + s.plan.Table, nil
}

// runnerAlive: a session of this database holds the advisory lock
// (pg_locks, which any user can read).
func (postgresDialect) runnerAlive(ctx context.Context, e *Engine, scope string, _ *LockHeldError, _ *time.Time) (bool, error) {
	var n int64
	err := e.queryRow(ctx, e.db, "runner-lock-held", nil, map[string]any{"lock": advisoryKey(scope)}, &n)
	return n > 0, err
}

// advisoryKey is the advisory lock key of a lock scope: 64 bits of FNV-1a
// of "shepherd:"+scope.
func advisoryKey(scope string) int64 {
	h := fnv.New64a()
	h.Write([]byte("shepherd:" + scope))
	return int64(h.Sum64())
}

func (postgresDialect) placeholder(n int) string { return templates.Dollar(n) }

// pgTypeFamilies groups the types PostgreSQL compares across in a foreign
// key: it needs an equality operator between the two types in the family
// of the referenced key's index (or an implicit cast), which these have.
var pgTypeFamilies = map[string]string{
	"smallint": "integer", "integer": "integer", "bigint": "integer",
	"real": "floating point", "double precision": "floating point",
	"text": "text", "character varying": "text", "character": "text", "citext": "text",
	"date": "date/time", "timestamp without time zone": "date/time", "timestamp with time zone": "date/time",
}

// pgBaseType is a type without its modifier: character varying(20) is
// character varying.
func pgBaseType(t string) string {
	if i := strings.IndexByte(t, '('); i >= 0 {
		j := strings.IndexByte(t[i:], ')')
		if j >= 0 {
			return strings.TrimSpace(t[:i] + t[i+j+1:])
		}
	}
	return t
}

func (postgresDialect) foreignKeyTypes(child, parent Column) string {
	a, b := pgBaseType(child.Type), pgBaseType(parent.Type)
	if a == b {
		return ""
	}
	if fa, ok := pgTypeFamilies[a]; ok && fa == pgTypeFamilies[b] {
		return ""
	}
	return "PostgreSQL has no equality between them for a foreign key; make the columns the same type first"
}

// pressure: n sessions wait for a lock on the table.
func (postgresDialect) pressure(n, _ int64) (bool, string) {
	if n == 1 {
		return true, "another session waits for a lock on the table (pg_locks)"
	}
	return n > 0, fmt.Sprintf("%d other sessions wait for a lock on the table (pg_locks)", n)
}

// valueProblem: a row value ((a, b), a whole row) is one value to
// PostgreSQL, and it converts to text as it is written (every type has an
// assignment cast to text): `username, '@example.com'` became
// "(alice,@example.com)" in every row. So a row's kind is refused unless the
// column is of that very type; then the value is written into a column of
// the type, without a row, with the assignment casts an UPDATE uses (text
// into integer is refused; '42' and 1.5 into integer are not).
func (d postgresDialect) valueProblem(ctx context.Context, q querier, set *templates.Set, data sqlData, v valueOf) (string, error) {
	st, err := set.Query("try-value-kind", data)
	if err != nil {
		return "", err
	}
	var kind, name string
	if err := q.QueryRowContext(ctx, st.SQL).Scan(&kind, &name); err != nil {
		return "", err
	}
	if (kind == "p" || kind == "c") && !strings.EqualFold(name, strings.TrimSpace(data.Type)) {
		return fmt.Sprintf("is not one value: it is a row of values (%s), which PostgreSQL would write into %s as its text, such as (alice,@example.com), in every row; give one expression, such as lower(username) || '@example.com'", name, v.Target.What), nil
	}
	if !v.Made {
		return "", nil
	}
	if st, err = set.Query("try-assign", data); err != nil {
		return "", err
	}
	if _, err := q.ExecContext(ctx, st.SQL); err != nil {
		if k := d.classify(err).kind; k == failLockTimeout || k == failConnection {
			return "", err
		}
		fix := v.Target.fix(fmt.Sprintf("CAST((…) AS %s)", v.Target.Type))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42804" { // datatype_mismatch: it names the probe's column
			return fmt.Sprintf("is %s, and %s is %s: PostgreSQL has no cast from %s to %s that it applies as it writes (SQLSTATE 42804), so every batch would fail; %s", name, v.Target.What, v.Target.Type, name, v.Target.Type, fix), nil
		}
		return fmt.Sprintf("is %s, and PostgreSQL does not write it into %s (%s): %v; %s", name, v.Target.What, v.Target.Type, err, fix), nil
	}
	return "", nil
}

// checkDefinitions: pg_get_constraintdef of the table's CHECK, and of the
// plan's added to an empty temporary copy of the table (try-check), in a
// transaction that is rolled back.
func (postgresDialect) checkDefinitions(ctx context.Context, conn *sql.Conn, set *templates.Set, d sqlData) (string, string, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", "", err
	}
	defer tx.Rollback() // always: the copy is never committed
	live, err := queryText(ctx, tx, set, "check-definition", d)
	if err != nil || live == "" {
		return "", "", err
	}
	script, err := set.Script("try-check", d)
	if err != nil {
		return "", "", err
	}
	if err := runConnSteps(ctx, tx, script); err != nil {
		return "", "", fmt.Errorf("add the plan's check to an empty temporary copy of %s: %w", d.Table, err)
	}
	tmp := d
	tmp.Schema = "pg_temp"
	plan, err := queryText(ctx, tx, set, "check-definition", tmp)
	return live, plan, err
}

// foreignKeyReference: from pg_constraint.
func (postgresDialect) foreignKeyReference(ctx context.Context, q querier, set *templates.Set, d sqlData) (string, []string, error) {
	return foreignKeyReference(ctx, q, set, d)
}
