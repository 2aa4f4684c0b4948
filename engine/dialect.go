package engine

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// dialect is what every database shepherd runs on does its own way, apart
// from SQL text, which lives in templates/. Each dialect is a file or a few:
// sqlite*.go, postgres*.go, mysql*.go, and its driver's driver_*.go.
//
// The core below is what all of them have, grouped by job. What only some
// databases have is an optional interface further down (plan DDL,
// batches, ...): a dialect that lacks it does not implement it, and callers
// ask through the helper of the same name (uncheckedForeignKey(s.d)),
// which gives the answer of a database that lacks it.
type dialect interface {
	connector
	introspector
	classifier
	runnerLocker
}

// connector connects to the server and speaks its SQL.
type connector interface {
	name() string
	// server names the database server, with its version where known.
	server() string
	// open returns a pool for the DSN; it need not connect yet.
	open(ctx context.Context, dsn DSN) (*sql.DB, error)
	// connSetup is what a connection that runs DDL sets first (lock
	// timeouts).
	connSetup(opts Options) []string
	// quote quotes one identifier.
	quote(ident string) string
	// placeholder writes the nth bound parameter's placeholder.
	placeholder(n int) string
	// timeValue converts a time for a state column.
	timeValue(t *time.Time) any
}

// introspector reads the live schema.
type introspector interface {
	// introspect reads one table's columns, keys, indexes and constraints;
	// errNoTable when it does not exist.
	introspect(ctx context.Context, q querier, sql *templates.Set, schema, table string) (*Table, error)
	// foreignKeyReference reads what the table's foreign key named d.Name
	// references: its table and columns (none when the database does not
	// say: SQLite's REFERENCES t without columns).
	foreignKeyReference(ctx context.Context, q querier, set *templates.Set, d sqlData) (table string, cols []string, err error)
	// checkDefinitions reads, on conn (discarded afterwards: it may hold
	// a temporary copy of the table), the condition of the table's CHECK
	// named d.Name as the database keeps it ("" when there is none), and
	// the plan's check d.Check as the database would keep it, in the same
	// form, so that two ways of writing one check compare equal.
	checkDefinitions(ctx context.Context, conn *sql.Conn, set *templates.Set, d sqlData) (live, plan string, err error)
}

// classifier reads the database's errors.
type classifier interface {
	// classify says what kind of failure a database error is.
	classify(err error) failure
	// describe is an error of this dialect's driver as shepherd shows it:
	// without the row values it quotes, nor codes that are noise to an
	// operator; ok is false for any other error (driver_*.go).
	describe(err error) (text string, ok bool)
}

// runnerLocker holds the runner lock.
type runnerLocker interface {
	// lock takes the runner lock for the session's table, or returns a
	// *LockHeldError naming the holder.
	lock(ctx context.Context, s *Session) (runnerLock, error)
	// lockScope names what the session's runner lock covers: its row's
	// scope in shepherd_lock.
	lockScope(ctx context.Context, s *Session) (string, error)
	// runnerAlive says whether the holder h of scope's runner lock, as its
	// row records it (expires: a lease's end), still holds it: the database
	// holds the lock for a live session (PostgreSQL, MySQL), or the lease
	// is renewed (SQLite). A holder on this host whose process is gone is
	// dead before this is asked.
	runnerAlive(ctx context.Context, e *Engine, scope string, h *LockHeldError, expires *time.Time) (bool, error)
}

// ---------- optional: connecting ----------

// dsnReader checks that the driver reads a URL DSN as Go's URL reader did,
// and returns the passwords the driver would use beyond the URL's own
// (driver_*.go).
type dsnReader interface {
	readDSN(dsn DSN) ([]string, error)
}

// readDSN: a dialect without a dsnReader builds its driver's configuration
// from the URL as Go reads it (or takes a path): nothing to add.
func readDSN(d dialect, dsn DSN) ([]string, error) {
	if r, ok := d.(dsnReader); ok {
		return r.readDSN(dsn)
	}
	return nil, nil
}

// schemaHolder is a database whose tables live in schemas a plan can name
// (PostgreSQL's schemas, MySQL's databases).
type schemaHolder interface {
	supportsSchema() bool
}

func supportsSchema(d dialect) bool {
	h, ok := d.(schemaHolder)
	return ok && h.supportsSchema()
}

// ---------- optional: planning DDL ----------

// preparer fills in dialect data a script needs from the live table
// (SQLite: the rebuilt table's definition). live is nil when previewing
// without a database.
type preparer interface {
	prepare(op string, d *sqlData, live *Table) error
}

func prepare(dl dialect, op string, d *sqlData, live *Table) error {
	if p, ok := dl.(preparer); ok {
		return p.prepare(op, d, live)
	}
	return nil
}

// formExpecter says what this database is expected to do with op's
// statement on the live table when that is not its first form (MySQL: a
// table that allows no INSTANT, or no LOCK=NONE), for previews; "" when
// nothing is to be said.
type formExpecter interface {
	expect(op string, live *Table) string
}

func expect(d dialect, op string, live *Table) string {
	if e, ok := d.(formExpecter); ok {
		return e.expect(op, live)
	}
	return ""
}

// columnRestater says whether op's statement restates the whole column
// definition (MySQL's MODIFY), which, for a column the plan adds, the plan
// itself gives: export can render it without a database.
type columnRestater interface {
	restatesColumn(op string) bool
}

func restatesColumn(d dialect, op string) bool {
	r, ok := d.(columnRestater)
	return ok && r.restatesColumn(op)
}

// copyEstimator estimates how long a statement that copies the table
// blocks the application, from the table's size ("" where shepherd cannot
// say).
type copyEstimator interface {
	blockedFor(t *Table) string
}

func blockedFor(d dialect, t *Table) string {
	if e, ok := d.(copyEstimator); ok {
		return e.blockedFor(t)
	}
	return ""
}

// foreignKeyTyper says why the database would refuse a foreign key from
// column child to column parent, or "" when their types fit.
type foreignKeyTyper interface {
	foreignKeyTypes(child, parent Column) string
}

func foreignKeyTypes(d dialect, child, parent Column) string {
	if t, ok := d.(foreignKeyTyper); ok {
		return t.foreignKeyTypes(child, parent)
	}
	return ""
}

// foreignKeyUnchecker says that add-foreign-key adds the constraint
// without checking the rows already there (MySQL's in-place form), so
// shepherd must count the rows without a parent after it.
type foreignKeyUnchecker interface {
	uncheckedForeignKey() bool
}

func uncheckedForeignKey(d dialect) bool {
	u, ok := d.(foreignKeyUnchecker)
	return ok && u.uncheckedForeignKey()
}

// foreignKeyNoter is what the operator must know about foreign keys on
// this database beyond the constraint itself.
type foreignKeyNoter interface {
	foreignKeyNote() string
}

func foreignKeyNote(d dialect) string {
	if n, ok := d.(foreignKeyNoter); ok {
		return n.foreignKeyNote()
	}
	return ""
}

// typeWarner is what the operator should know about typ as the type of a
// column the plan adds, which the database takes: "" when nothing.
type typeWarner interface {
	typeWarning(typ string) string
}

func typeWarning(d dialect, typ string) string {
	if w, ok := d.(typeWarner); ok {
		return w.typeWarning(typ)
	}
	return ""
}

// valueChecker says why the expression of d cannot be written into
// v.Target (of type d.Type) on this database, once checkValue has found it
// to be one value per row: "" when it can. The text follows the quoted
// expression (`"x" is …`).
type valueChecker interface {
	valueProblem(ctx context.Context, q querier, set *templates.Set, d sqlData, v valueOf) (string, error)
}

func valueProblem(ctx context.Context, dl dialect, q querier, set *templates.Set, d sqlData, v valueOf) (string, error) {
	if c, ok := dl.(valueChecker); ok {
		return c.valueProblem(ctx, q, set, d, v)
	}
	return "", nil
}

// notNullSelfChecker is a database whose NOT NULL DDL (set-not-null) is
// one statement or transaction that reads every row, refuses the table if
// one is NULL, and then leaves nothing changed: MySQL's ALTER … MODIFY in
// strict mode, SQLite's rebuild. enforce need not count the NULLs first.
type notNullSelfChecker interface {
	notNullDDLChecksRows() bool
}

func notNullDDLChecksRows(d dialect) bool {
	c, ok := d.(notNullSelfChecker)
	return ok && c.notNullDDLChecksRows()
}

// ---------- optional: batches ----------

// batchTxer is how a batch's transaction begins (nil: the driver's
// default).
type batchTxer interface {
	batchTx() *sql.TxOptions
}

func batchTx(d dialect) *sql.TxOptions {
	if b, ok := d.(batchTxer); ok {
		return b.batchTx()
	}
	return nil
}

// batchGapper is how long the batch loop leaves the table to the
// application after a batch that held its locks for took.
type batchGapper interface {
	batchGap(took time.Duration) time.Duration
}

func batchGap(d dialect, took time.Duration) time.Duration {
	if g, ok := d.(batchGapper); ok {
		return g.batchGap(took)
	}
	return 0
}

// statementBounder is a server that can cancel a statement after a time.
type statementBounder interface {
	// timeoutSetting is the server's name for a statement timeout
	// (statement_timeout, max_statement_time), "" where it has none. Every
	// connection of the pool sets it to none as it connects (timeout.go).
	timeoutSetting() string
	// batchBound is how a batch's statements are bounded to d: a statement
	// run first in the batch's transaction, or a prefix of each of them;
	// both "" where the server cannot bound an UPDATE.
	batchBound(d time.Duration) (setup, prefix string)
}

func timeoutSetting(d dialect) string {
	if b, ok := d.(statementBounder); ok {
		return b.timeoutSetting()
	}
	return ""
}

func batchBound(dl dialect, d time.Duration) (setup, prefix string) {
	if b, ok := dl.(statementBounder); ok {
		return b.batchBound(d)
	}
	return "", ""
}

// pressureReader reads the "pressure" template's number (baseline: its
// value when the walk began): whether batches should hold, and why.
type pressureReader interface {
	pressure(n, baseline int64) (busy bool, what string)
}

func pressure(d dialect, n, baseline int64) (busy bool, what string) {
	if p, ok := d.(pressureReader); ok {
		return p.pressure(n, baseline)
	}
	return false, ""
}

// failure classifies database errors.
type failure struct {
	kind       failureKind
	constraint string // the constraint a violation names, where the database says
	// failRefusedForm: what the database refused (LOCK=NONE), its reason,
	// the clause it suggests instead (LOCK=SHARED), and the lock level
	// (templates.Level…) that suggestion needs. failIsolationRefused: the
	// reason, for the operator.
	refused, reason, suggest, need string
	// failCancelled: why the server cancelled the statement.
	cancel cancelCause
}

type failureKind int

const (
	failOther failureKind = iota
	failLockTimeout
	failNotNull
	failCheck
	failUnique
	failForeignKey
	failPermission
	failConnection
	failDiskFull
	// failRefusedForm is a statement whose form (MySQL's ALGORITHM or LOCK
	// clause) the database refuses for this table, before changing
	// anything: a step's next -- else form may run instead.
	failRefusedForm
	// failIsolationRefused is a batch whose isolation level the server
	// cannot log (MySQL with binlog_format=STATEMENT and READ COMMITTED):
	// nothing ran; it runs again at the default level.
	failIsolationRefused
	// failCancelled is a statement the server cancelled: its statement
	// timeout fired, or a cancel request came (failure.cancel says which
	// where the server does). It was rolled back: nothing is wrong with
	// the rows.
	failCancelled
)

// dialectFor is the dialect of a name (phases.Dialects): the one place that
// gives each name its type.
func dialectFor(name string) (dialect, error) {
	switch name {
	case "sqlite":
		return sqliteDialect{}, nil
	case "mysql":
		return &mysqlDialect{}, nil
	case "postgres":
		return postgresDialect{}, nil
	}
	return nil, &UsageError{Msg: fmt.Sprintf("unknown dialect %q: use postgres, mysql or sqlite", name)}
}

// dialects are every dialect, new (not open), in phases.Dialects' order.
func dialects() []dialect {
	var out []dialect
	for _, name := range phases.Dialects() {
		if d, err := dialectFor(name); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// sqlData is what templates are rendered with. Fields a template does not use
// stay empty.
type sqlData struct {
	Schema string
	Table  string
	Key    string
	HasLo  bool // the batch has a lower bound (every batch but the first)
	// FromLo makes a batch's lower bound its own first row (key >= lo), not
	// the last row before it (key > lo): switch-writes' catch-up starts
	// each batch at the first NULL row it found, not where the last one
	// ended (nullwalk.go). Only the template range reads it.
	FromLo bool
	IntKey bool // the key is an integer (estimate-rows may read its range)
	// Rowid, when set, is what batches walk instead of the key: SQLite's
	// rowid under that name (rowidwalk.go). Only the walk's templates
	// (range, upper-bound, last-key, estimate-rows, a bounded cond) read it.
	Rowid string
	// Keys are a composite key's columns, in order (Key then only names
	// them for people); nil for a single-column key.
	Keys []string

	Column string
	To     string
	Type   string
	Expr   string

	// KeyTypes are a composite key's columns' types, in order, for the
	// archive drop-column keeps values in (its shepherd_key_N columns).
	KeyTypes []string
	// Where and Using are add-index's predicate and PostgreSQL's index
	// method (Name and Columns are the index's).
	Where string
	Using string

	Kind    string // constraint kind: check, not_null, unique, foreign_key
	Unique  bool   // suggest-index: a unique one
	Name    string // constraint name
	Check   string
	Columns []string
	// Cols are the table's columns, for a copy of it (SQLite's try-check).
	Cols []Column
	// RefSchema, RefTable and RefColumns are what a foreign key references;
	// SelfRef is set when that is the table itself.
	RefSchema  string
	RefTable   string
	RefColumns []string
	SelfRef    bool
	Set        []setExpr
	Cond       string // null, unfilled, null-expr, diff, lost, new-only, unreproduced, violates: which rows count-where counts
	Bounded    bool   // count-where counts only up to the key {{param "hi"}}
	// Text is set when what a diff compares holds text: then it compares
	// every character (MySQL's default collations call 'b' and 'B' equal,
	// and a rollback must not miss a write that changed only the case).
	Text bool
	// Dups are one batch of a UNIQUE clean's duplicates (clean-duplicates):
	// the parameter names of each row's key and of its group's first key;
	// Firsts are the distinct names of the latter (dupwalk.go).
	Dups   []dupParam
	Firsts []string

	// DropIndexes are the indexes a drop-column drops with the column, where
	// the dialect does not drop them whole by itself (MySQL, SQLite).
	DropIndexes []string
	// DropChecks are the CHECK constraints that name the column, for a
	// drop-column that must drop them first (MySQL refuses to drop a column
	// a CHECK uses; rename's drop-old-column checked the new column has
	// the same).
	DropChecks []string

	// Shadow names add-column's copy of the table and its triggers
	// (shadow.go).
	Shadow *shadowNames
	// Next is the table's next AUTO_INCREMENT value, for its copy's
	// counter (shadow-counter-raise).
	Next int64

	// CheckName is PostgreSQL's temporary NOT NULL check.
	CheckName string
	// Rebuild is SQLite's table rebuild.
	Rebuild *rebuild
	// MySQL is what MySQL's templates know of the server, and MODIFY's
	// column definition.
	MySQL *mysqlDDL

	// Offline is set by prepare when the statement stands in for what only
	// the live table gives (previewing without a database): what it needs.
	Offline string

	// RowsChanged is set when shepherd_state has rows_changed (state-load).
	RowsChanged bool
	// LogVersion is set when shepherd_log has version (log-list).
	LogVersion bool
	// Keep are the columns a batch's UPDATE assigns to themselves, so that
	// the database does not rewrite them (MySQL's ON UPDATE columns).
	Keep []string
	// Partitions are a UNIQUE's indexes on the partitions of a PostgreSQL
	// partitioned table, one each (add-unique-partitioned, partition.go).
	Partitions []partitionIndex
	// Sync is what the triggers of sync: database need (sync_triggers.go).
	Sync *syncData
	// SyncOff marks a batch whose writes keep the plan's two columns in
	// step by themselves: the sync triggers skip them (PostgreSQL's
	// sync-off; elsewhere the triggers' own conditions find nothing to do).
	SyncOff bool
}

type setExpr struct{ Column, Expr string }

// sqlForm is a template's data with the statement it renders (.Op) and the
// form it starts from (.First): MySQL's templates render an ALTER's -- else
// forms from it.
type sqlForm struct {
	sqlData
	Op, First string
}

// With is the data for rendering op's forms after first.
func (d sqlData) With(op, first string) sqlForm { return sqlForm{d, op, first} }
