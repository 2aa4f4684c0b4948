package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shepherd-db/shepherd/templates"
)

// sqliteDialect runs on SQLite through modernc.org/sqlite (pure Go). SQLite
// has one writer at a time, transactional DDL, and no ALTER TABLE for
// constraints: NOT NULL and CHECK go through a table rebuild.
//
// What it lacks of the optional interfaces (dialect.go), and why: a
// schemaHolder, a formExpecter, a columnRestater, a dsnReader (an sqlite:
// DSN is a path, with no password), a statementBounder (SQLite has no
// statement timeout: a writer waits for the write lock its busy timeout,
// and a statement runs until it is done), a copyEstimator (the rebuild
// holds the database's write lock, which busy_timeout makes the
// application wait for; no estimate), a foreignKeyTyper (SQLite compares a
// child value with its parent after applying the parent column's affinity;
// any declared types fit), a foreignKeyUnchecker (the rebuild checks every
// row before it commits), a valueChecker (SQLite stores any value in any
// column, its type only giving the column an affinity, a preference it
// converts to where it can: no expression is refused for its type;
// checkValue still has it compiled as one value per row), a batchTxer (the
// default: a write transaction locks the database anyway) and a
// pressureReader (SQLite has no reading: no "pressure" template).
type sqliteDialect struct{}

// What it has beyond the core.
var (
	_ dialect         = sqliteDialect{}
	_ preparer        = sqliteDialect{}
	_ foreignKeyNoter = sqliteDialect{}
	_ typeWarner      = sqliteDialect{}
	_ batchGapper     = sqliteDialect{}
)

func (sqliteDialect) name() string { return "sqlite" }

// syncAfterWrite: SQLite's triggers cannot change the row being written,
// so the sync triggers set the other column after it (sync_triggers.go).
func (sqliteDialect) syncAfterWrite() bool { return true }
func (sqliteDialect) server() string       { return "SQLite" }

// quote uses backticks, not double quotes: SQLite reads a double-quoted
// name that matches no column as a string literal (its "DQS" misfeature),
// so a dropped or misspelled column would compare as text instead of
// failing. A backticked name never does.
func (sqliteDialect) quote(ident string) string {
	return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
}

func (sqliteDialect) open(ctx context.Context, dsn DSN) (*sql.DB, error) {
	if _, err := os.Stat(dsn.Path); err != nil {
		return nil, fmt.Errorf("sqlite database file %s: %w (shepherd changes existing databases; it does not create them)", dsn.Path, errors.Unwrap(err))
	}
	return openSQLiteFile(dsn.Path)
}

// openSQLiteFile opens an SQLite file with shepherd's connection settings.
func openSQLiteFile(path string) (*sql.DB, error) {
	q := url.Values{}
	// A writer waits this long for others before it reports SQLITE_BUSY
	// (SQLite has no lock queue: under heavy writes a waiter can starve);
	// DDL connections lower it to --lock-timeout and retry.
	q.Add("_pragma", "busy_timeout(10000)")
	// Write transactions take the write lock at BEGIN, so two writers
	// queue on busy_timeout instead of deadlocking on a lock upgrade.
	q.Set("_txlock", "immediate")
	return sql.Open("sqlite", "file:"+path+"?"+q.Encode())
}

func (sqliteDialect) connSetup(opts Options) []string {
	return []string{fmt.Sprintf("PRAGMA busy_timeout = %d", opts.LockTimeout.Milliseconds())}
}

func (sqliteDialect) timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (sqliteDialect) classify(err error) failure {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return failure{kind: failOther}
	}
	msg := se.Error()
	code := se.Code()
	switch {
	case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED:
		return failure{kind: failLockTimeout}
	case code&0xff == sqlite3.SQLITE_FULL:
		return failure{kind: failDiskFull}
	case code&0xff != sqlite3.SQLITE_CONSTRAINT:
		return failure{kind: failOther}
	// modernc reports the primary code unless extended codes are on: the
	// message says which constraint.
	case code == sqlite3.SQLITE_CONSTRAINT_NOTNULL || strings.Contains(msg, "NOT NULL constraint failed"):
		return failure{kind: failNotNull, constraint: after(msg, "NOT NULL constraint failed: ")}
	case code == sqlite3.SQLITE_CONSTRAINT_CHECK || strings.Contains(msg, "CHECK constraint failed"):
		return failure{kind: failCheck, constraint: after(msg, "CHECK constraint failed: ")}
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || strings.Contains(msg, "UNIQUE constraint failed"):
		return failure{kind: failUnique, constraint: after(msg, "UNIQUE constraint failed: ")}
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return failure{kind: failForeignKey} // SQLite does not say which
	}
	return failure{kind: failOther}
}

// after returns what follows marker in msg, without the " (275)" code
// modernc appends, or "".
func after(msg, marker string) string {
	i := strings.Index(msg, marker)
	if i < 0 {
		return ""
	}
	rest := msg[i+len(marker):]
	if j := strings.Index(rest, " ("); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}

func (d sqliteDialect) introspect(ctx context.Context, q querier, set *templates.Set, schema, table string) (*Table, error) {
	data := sqlData{Table: table}
	t := &Table{Name: table}
	run := func(name string, scan func(*sql.Rows) error) error {
		return eachRow(ctx, q, set, name, data, scan)
	}
	// The table's own row first: a view or a missing name stops here.
	err := run("table-objects", func(r *sql.Rows) error {
		var o SchemaObject
		var sqlText sql.NullString
		if err := r.Scan(&o.Type, &o.Name, &sqlText); err != nil {
			return err
		}
		o.SQL = sqlText.String
		switch {
		case o.Type == "table" && o.Name == table:
			t.CreateSQL = o.SQL
		case o.SQL != "" && (o.Type == "index" || o.Type == "trigger"):
			t.Objects = append(t.Objects, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.CreateSQL == "" {
		return nil, errNoTable
	}
	for _, o := range t.Objects {
		if tr, ok := sqliteUpdateTrigger(o); ok {
			t.UpdateTriggers = append(t.UpdateTriggers, tr)
		}
	}
	ct, err := parseCreateTable(t.CreateSQL)
	if err != nil {
		return nil, fmt.Errorf("read the definition of %s: %w", table, err)
	}
	t.Constraints = ct.constraints()
	t.WithoutRowid = strings.Contains(strings.ToUpper(ct.tail), "WITHOUT")

	var pk []struct {
		pos  int
		name string
	}
	err = run("table-columns", func(r *sql.Rows) error {
		var c Column
		var notNull, pkPos, hidden int
		var dflt sql.NullString
		if err := r.Scan(&c.Name, &c.Type, &notNull, &dflt, &pkPos, &hidden); err != nil {
			return err
		}
		c.NotNull = notNull == 1
		if dflt.Valid {
			c.Default = &dflt.String
		}
		c.Generated = hidden == 2 || hidden == 3
		if hidden == 1 {
			return nil
		}
		if pkPos > 0 {
			pk = append(pk, struct {
				pos  int
				name string
			}{pkPos, c.Name})
		}
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.PrimaryKey = make([]string, len(pk))
	for _, p := range pk {
		t.PrimaryKey[p.pos-1] = p.name
	}
	// An INTEGER PRIMARY KEY is the rowid: never NULL, whatever table_info says.
	if len(t.PrimaryKey) == 1 {
		for i, c := range t.Columns {
			if c.Name == t.PrimaryKey[0] && strings.EqualFold(c.Type, "INTEGER") && !t.WithoutRowid {
				t.Columns[i].NotNull = true
				t.Columns[i].Auto = true // an insert without it gets the next rowid
			}
		}
	}
	err = run("table-indexes", func(r *sql.Rows) error {
		var name, origin string
		var unique, partial int
		var col sql.NullString
		if err := r.Scan(&name, &unique, &origin, &partial, &col); err != nil {
			return err
		}
		if n := len(t.Indexes); n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, Index{Name: name, Unique: unique == 1, Partial: partial == 1, Valid: true})
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
	if t.ForeignKeysOn, err = foreignKeysOn(ctx, q, set); err != nil {
		return nil, err
	}
	var hasSeq int
	if err := q.QueryRowContext(ctx, mustSQL(set, "has-sequence")).Scan(&hasSeq); err != nil {
		return nil, fmt.Errorf("has-sequence: %w", err)
	}
	if hasSeq > 0 {
		var n, seq int64
		if err := run("table-sequence", func(r *sql.Rows) error { return r.Scan(&n, &seq) }); err != nil {
			return nil, err
		}
		if n > 0 {
			t.Sequence = &seq
		}
	}
	return t, nil
}

// mustSQL renders a template without parameters.
func mustSQL(set *templates.Set, name string) string {
	st, err := set.Query(name, sqlData{})
	if err != nil {
		return "-- " + err.Error()
	}
	return st.SQL
}

// sqliteExtras is what a rebuild needs beyond the table's definition, read
// on the connection that runs it.
func (d sqliteDialect) prepare(op string, data *sqlData, live *Table) error {
	switch op {
	case "set-not-null", "drop-not-null", "add-check", "drop-check", "add-foreign-key", "drop-foreign-key":
	case "drop-column":
		// SQLite refuses to drop an indexed column: the indexes on it
		// (rename's drop-old-column checked that the new column has its
		// own) are dropped first, in the same transaction. One that a
		// UNIQUE constraint of the table made cannot be.
		data.DropIndexes = indexesOn(live, data.Column, func(ix Index) bool { return !strings.HasPrefix(ix.Name, "sqlite_autoindex_") })
		return nil
	default:
		return nil
	}
	rb := &rebuild{New: "_shepherd_new_" + data.Table, ForeignKeys: "OFF"}
	if live == nil {
		rb.ForeignKeys = "/* ON or OFF, as it was */ OFF"
	}
	data.Rebuild = rb
	if live == nil {
		// Previewing without a database: say what the live text will be.
		var change string
		switch op {
		case "set-not-null":
			change = "with NOT NULL added to " + data.Column
		case "drop-not-null":
			change = "with NOT NULL removed from " + data.Column
		case "add-check":
			change = fmt.Sprintf("with CONSTRAINT %s CHECK (%s) added", d.quote(data.Name), data.Check)
		case "add-foreign-key":
			change = "with " + sqliteForeignKey(d, data) + " added"
		case "drop-check", "drop-foreign-key":
			change = "without CONSTRAINT " + d.quote(data.Name)
		}
		rb.Definition = fmt.Sprintf("(/* the columns and constraints of %s as sqlite_schema holds them, %s */)", data.Table, change)
		rb.ColumnList = "/* every stored column */"
		rb.Objects = []string{fmt.Sprintf("/* each CREATE INDEX and CREATE TRIGGER of %s, as sqlite_schema holds it */", data.Table)}
		data.Offline = fmt.Sprintf("SQLite cannot change a column's NOT NULL, a CHECK or a foreign key in place: it rebuilds %s from its live definition (CREATE TABLE text, indexes, triggers, AUTOINCREMENT counter), which only the database holds", data.Table)
		return nil
	}
	ct, err := parseCreateTable(live.CreateSQL)
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", data.Table, err)
	}
	switch op {
	case "set-not-null":
		err = ct.setNotNull(data.Column)
	case "drop-not-null":
		err = ct.dropNotNull(data.Column)
	case "add-check":
		ct.addCheck(data.Name, data.Check, d.quote(data.Name))
	case "add-foreign-key":
		ct.items = append(ct.items, lexSQL(sqliteForeignKey(d, data)))
	case "drop-check", "drop-foreign-key":
		if !ct.dropConstraint(data.Name) {
			err = fmt.Errorf("constraint %q not found in the definition of %s", data.Name, data.Table)
		}
	}
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", data.Table, err)
	}
	rb.Definition = ct.definition()
	var cols []string
	hasRowidAlias := false
	for _, c := range live.Columns {
		if c.Generated {
			continue
		}
		cols = append(cols, d.quote(c.Name))
		if len(live.PrimaryKey) == 1 && c.Name == live.PrimaryKey[0] && strings.EqualFold(c.Type, "INTEGER") {
			hasRowidAlias = true
		}
	}
	rb.ColumnList = strings.Join(cols, ", ")
	rb.Rowid = !live.WithoutRowid && !hasRowidAlias
	for _, o := range live.Objects {
		rb.Objects = append(rb.Objects, o.SQL)
	}
	rb.Sequence, rb.SequenceValue = live.Sequence != nil, derefInt(live.Sequence)
	if live.ForeignKeysOn {
		rb.ForeignKeys = "ON"
	}
	return nil
}

// sqliteForeignKey is the table constraint a rebuild adds. The referenced
// table is named without a schema: SQLite's foreign keys stay in one
// database.
func sqliteForeignKey(d sqliteDialect, data *sqlData) string {
	q := func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = d.quote(n)
		}
		return strings.Join(out, ", ")
	}
	return fmt.Sprintf("CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)", d.quote(data.Name), q(data.Columns), d.quote(data.RefTable), q(data.RefColumns))
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// rebuild is what the SQLite rebuild template needs.
type rebuild struct {
	New           string   // the new table's name while it is built
	Definition    string   // column list and table options of the new table
	ColumnList    string   // quoted columns copied (generated columns are not)
	Rowid         bool     // copy rowids too: the table has no INTEGER PRIMARY KEY
	Objects       []string // CREATE INDEX and CREATE TRIGGER statements to recreate
	Sequence      bool     // the table uses AUTOINCREMENT
	SequenceValue int64
	ForeignKeys   string // what PRAGMA foreign_keys was: restored at the end
}

func (d sqliteDialect) lock(ctx context.Context, s *Session) (runnerLock, error) {
	return s.acquireLease(ctx)
}

// rowidWalk: a rowid table walked by a composite key walks its rowid,
// under the first of its names that no column of the table takes.
func (sqliteDialect) rowidWalk(t *Table, keys []string) string {
	if t.WithoutRowid || len(keys) < 2 {
		return ""
	}
	for _, name := range []string{"rowid", "_rowid_", "oid"} {
		if !slices.ContainsFunc(t.ColumnNames(), func(c string) bool { return strings.EqualFold(c, name) }) {
			return name
		}
	}
	return ""
}

func (sqliteDialect) lockScope(_ context.Context, s *Session) (string, error) {
	return s.lockScope(), nil
}

// runnerAlive: a holder on this host lives while its process does, whatever
// its lease says (a renewal can wait behind its own long rebuild); one
// elsewhere while its lease is renewed.
func (sqliteDialect) runnerAlive(_ context.Context, _ *Engine, _ string, h *LockHeldError, expires *time.Time) (bool, error) {
	if me, _ := os.Hostname(); h.Host == me {
		return true, nil
	}
	return expires != nil && expires.After(time.Now()), nil
}

func (sqliteDialect) placeholder(n int) string { return templates.Question(n) }

func (sqliteDialect) foreignKeyNote() string {
	return "SQLite enforces foreign keys only on connections that turn them on: shepherd's proof does (PRAGMA foreign_keys = ON), and every connection of the application must too (PRAGMA foreign_keys = ON, or _pragma=foreign_keys(1) in its DSN), or its writes are not checked"
}

// batchGap: SQLite has one write lock and no queue for it. A writer that
// finds it taken sleeps in its busy handler (1, 2, 5 … 25, 50, 100 ms) and
// tries again; a batch loop that begins its next batch the moment the last
// one commits takes the lock back before that writer wakes, again and
// again, and the application's writes starve for the whole backfill (the
// benchmark measured a writer's p99 at 0.7 to 1.3 s without a gap). A gap
// of half the batch lets in the writers that waited through it: p99 near
// one batch, for about a third of the backfill's speed.
func (sqliteDialect) batchGap(took time.Duration) time.Duration {
	return took / 2
}

// typeWarning: SQLite takes any type name and derives the column's
// affinity from words in it (datatype3.html, 3.1): INT gives INTEGER;
// CHAR, CLOB or TEXT give TEXT; BLOB (or no type) BLOB; REAL, FLOA or DOUB
// REAL; anything else NUMERIC. A misspelt type (txet) or one from another
// database (string, uuid) thus becomes NUMERIC, which stores a text that
// looks like a number as a number ('007' becomes 7): the operator is told,
// except for the usual NUMERIC types.
func (sqliteDialect) typeWarning(typ string) string {
	upper := strings.ToUpper(typ)
	for _, w := range []string{"INT", "CHAR", "CLOB", "TEXT", "BLOB", "REAL", "FLOA", "DOUB"} {
		if strings.Contains(upper, w) {
			return ""
		}
	}
	name, _, _ := strings.Cut(strings.TrimSpace(upper), "(")
	switch strings.TrimSpace(name) {
	case "NUMERIC", "DECIMAL", "BOOLEAN", "BOOL", "DATE", "DATETIME", "TIMESTAMP", "TIME":
		return ""
	}
	return fmt.Sprintf("type: SQLite gives %q NUMERIC affinity: it takes any type name, and this one has none of the words INT, CHAR, CLOB, TEXT, BLOB, REAL, FLOA, DOUB, so a text that looks like a number is stored as a number ('007' becomes 7); if the column holds text, write type: text", typ)
}

// checkDefinitions: SQLite keeps a CHECK as it was written, in the table's
// CREATE TABLE text; the plan's is compared as written.
func (sqliteDialect) checkDefinitions(ctx context.Context, conn *sql.Conn, set *templates.Set, d sqlData) (string, string, error) {
	create, err := queryText(ctx, conn, set, "table-definition", d)
	if err != nil {
		return "", "", err
	}
	live, ok := checkClause(create, d.Name)
	if !ok {
		return "", "", nil
	}
	return live, d.Check, nil
}

// foreignKeyReference: SQLite names no foreign key in its catalog; the
// table's CREATE TABLE text does.
func (sqliteDialect) foreignKeyReference(ctx context.Context, q querier, set *templates.Set, d sqlData) (string, []string, error) {
	create, err := queryText(ctx, q, set, "table-definition", d)
	if err != nil {
		return "", nil, err
	}
	table, cols, _ := referenceClause(create, d.Name)
	return table, cols, nil
}
