package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shepherd-db/shepherd/templates"
)

// mysqlDialect runs on MySQL and MariaDB through go-sql-driver/mysql. DDL
// is not transactional there: every ALTER commits by itself, so each one is
// a step of its own with a probe on information_schema, and a rerun after a
// crash skips what already took effect. ALTERs name the least-locking
// algorithm the server has, so that the server refuses rather than take a
// stronger lock than `shepherd plan` showed.
//
// It is a pointer: open reads the server's version once, and the templates
// render what that server can do.
//
// What it lacks of the optional interfaces (dialect.go), and why: a
// dsnReader (shepherd builds the driver's configuration from the URL as
// Go's URL reader reads it, the user, the password, the host, the
// database: see open; so the driver uses the password the URL shows, and
// an @ in the password is read as every MySQL URL reader reads it, ending
// the user and password at the last @), a typeWarner (MySQL refuses a type
// it does not know: try-type), a foreignKeyNoter, and a batchGapper (InnoDB
// queues a write that meets a row of the batch and grants it the row at the
// batch's commit).
type mysqlDialect struct {
	srv *mysqlServer // nil until open: previewing without a server
	// lockWait is the innodb_lock_wait_timeout (seconds) of every pooled
	// connection, so that a backfill batch waiting on rows the application
	// holds gives up soon and is retried.
	lockWait atomic.Int64
	// timeout is the server's statement timeout, known once open has
	// asked (mysql_timeout.go).
	timeout atomic.Pointer[mysqlTimeout]
}

// What it has beyond the core.
var (
	_ dialect             = (*mysqlDialect)(nil)
	_ schemaHolder        = (*mysqlDialect)(nil)
	_ preparer            = (*mysqlDialect)(nil)
	_ formExpecter        = (*mysqlDialect)(nil)
	_ columnRestater      = (*mysqlDialect)(nil)
	_ copyEstimator       = (*mysqlDialect)(nil)
	_ foreignKeyTyper     = (*mysqlDialect)(nil)
	_ foreignKeyUnchecker = (*mysqlDialect)(nil)
	_ valueChecker        = (*mysqlDialect)(nil)
	_ batchTxer           = (*mysqlDialect)(nil)
	_ statementBounder    = (*mysqlDialect)(nil)
	_ pressureReader      = (*mysqlDialect)(nil)
)

func (*mysqlDialect) name() string { return "mysql" }

func (d *mysqlDialect) server() string {
	if d.srv == nil {
		return "MySQL or MariaDB"
	}
	return d.srv.name()
}
func (*mysqlDialect) supportsSchema() bool { return true } // a schema is a database

func (*mysqlDialect) quote(ident string) string {
	return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
}

// mysqlServer is what SELECT VERSION() says.
type mysqlServer struct {
	version             string
	mariadb             bool
	major, minor, patch int
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

func parseMySQLVersion(v string) *mysqlServer {
	s := &mysqlServer{version: v, mariadb: strings.Contains(strings.ToLower(v), "mariadb")}
	// MariaDB's replication-compatible prefix: 5.5.5-10.11.6-MariaDB.
	num := strings.TrimPrefix(v, "5.5.5-")
	if m := versionRE.FindStringSubmatch(num); m != nil {
		s.major, _ = strconv.Atoi(m[1])
		s.minor, _ = strconv.Atoi(m[2])
		s.patch, _ = strconv.Atoi(m[3])
	}
	return s
}

func (s *mysqlServer) atLeast(major, minor, patch int) bool {
	if s.major != major {
		return s.major > major
	}
	if s.minor != minor {
		return s.minor > minor
	}
	return s.patch >= patch
}

func (s *mysqlServer) name() string {
	if s.mariadb {
		return fmt.Sprintf("MariaDB %d.%d.%d", s.major, s.minor, s.patch)
	}
	return fmt.Sprintf("MySQL %d.%d.%d", s.major, s.minor, s.patch)
}

// instantAdd: ADD COLUMN with ALGORITHM=INSTANT (MariaDB 10.3, MySQL 8.0.12).
func (s *mysqlServer) instantAdd() bool {
	if s.mariadb {
		return s.atLeast(10, 3, 0)
	}
	return s.atLeast(8, 0, 12)
}

// instantDrop: DROP COLUMN with ALGORITHM=INSTANT (MariaDB 10.4, MySQL 8.0.29).
func (s *mysqlServer) instantDrop() bool {
	if s.mariadb {
		return s.atLeast(10, 4, 0)
	}
	return s.atLeast(8, 0, 29)
}

// checks: the server enforces CHECK constraints (MariaDB 10.2.1, MySQL
// 8.0.16; older servers parse and ignore them).
func (s *mysqlServer) checks() bool {
	if s.mariadb {
		return s.atLeast(10, 2, 1)
	}
	return s.atLeast(8, 0, 16)
}

// mysqlDDL is what the MySQL templates know about the server, and for
// MODIFY the column's whole definition (sqlData.MySQL).
type mysqlDDL struct {
	MariaDB    bool
	CheckLevel bool // information_schema.check_constraints.level (MariaDB 10.5.10)
	Checks     bool // information_schema.check_constraints exists: the server enforces CHECK
	Enforced   bool // information_schema.table_constraints.enforced (MySQL 8.0.16)

	AddColumn, AddColumnLock   string // ALTER's algorithm clause and what it locks
	DropColumn, DropColumnLock string
	// Online is the clause of ALTERs that have no INSTANT form (MODIFY,
	// ADD UNIQUE, DROP INDEX): INPLACE, LOCK=NONE.
	Online string
	// DropCheck is DROP CONSTRAINT (MariaDB, MySQL 8.0.19) or DROP CHECK
	// (MySQL 8.0.16), with an algorithm clause where the server has one.
	DropCheck, DropCheckAlgorithm, DropCheckLock string

	// Definition is the column as MODIFY restates it: type, character set,
	// collation, nullability, default, ON UPDATE, visibility, comment and
	// column-level CHECK.
	Definition string
}

const (
	lockInstant = "ALGORITHM=INSTANT: a brief exclusive metadata lock while only the table's metadata changes; no row is rewritten and reads and writes go on; the lock waits at most lock_wait_timeout for transactions open on the table, then is retried"
	lockInplace = "ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place while reads and writes go on, under brief exclusive metadata locks at the start and the end, each waiting at most lock_wait_timeout, then retried"
	lockEither  = "INSTANT where the server allows it, else INPLACE, LOCK=NONE: a brief exclusive metadata lock (at most lock_wait_timeout, then retried); INSTANT changes only the table's metadata, INPLACE rebuilds the table while reads and writes go on"
	// online is the form of ALTERs that have no INSTANT: in place, with
	// reads and writes going on.
	online = "ALGORITHM=INPLACE, LOCK=NONE"
)

// mysqlForm is one ALGORITHM/LOCK clause an ALTER can end with. A server
// refuses a form a table does not allow (error 1845 for the algorithm, 1846
// for the lock), before it changes anything; shepherd then tries the next
// form, and stops before a form that blocks writes (Level shared) or reads
// and writes (exclusive) unless the operator allows that lock.
type mysqlForm struct {
	Clause, Lock, Level string
}

// mysqlForms are the forms in the order shepherd tries them: least locking
// first.
var mysqlForms = []mysqlForm{
	{"ALGORITHM=INSTANT", lockInstant, templates.LevelNone},
	{online, lockInplace, templates.LevelNone},
	{"ALGORITHM=INPLACE, LOCK=SHARED", "ALGORITHM=INPLACE, LOCK=SHARED: writes to the table wait (reads go on) until the server has changed it in place, for a time in proportion to its size; only with --allow-lock shared", templates.LevelShared},
	{"ALGORITHM=COPY, LOCK=SHARED", "ALGORITHM=COPY, LOCK=SHARED: writes to the table wait (reads go on) while the server copies every row into a new table; only with --allow-lock shared", templates.LevelShared},
	{"ALGORITHM=INPLACE, LOCK=EXCLUSIVE", "ALGORITHM=INPLACE, LOCK=EXCLUSIVE: reads and writes to the table wait until the server has changed it in place; only with --allow-lock exclusive", templates.LevelExclusive},
	{"ALGORITHM=COPY, LOCK=EXCLUSIVE", "ALGORITHM=COPY, LOCK=EXCLUSIVE: reads and writes to the table wait while the server copies every row into a new table; only with --allow-lock exclusive", templates.LevelExclusive},
}

// Else lists the forms to try after first, in order: what the templates
// render as a step's -- else forms.
func (*mysqlDDL) Else(first string) []mysqlForm {
	for i, f := range mysqlForms {
		if f.Clause == first {
			return mysqlForms[i+1:]
		}
	}
	return nil
}

// ddl is the server's template data.
func (d *mysqlDialect) ddl() *mysqlDDL {
	m := &mysqlDDL{
		Online:    online,
		AddColumn: "ALGORITHM=INSTANT", AddColumnLock: lockEither + " (MySQL 8.0.12+, MariaDB 10.3+ have INSTANT)",
		DropColumn: "ALGORITHM=INSTANT", DropColumnLock: lockEither + " (MySQL 8.0.29+, MariaDB 10.4+ have INSTANT)",
		DropCheck:     "DROP CONSTRAINT",
		DropCheckLock: "only metadata changes, under a brief exclusive metadata lock; no row is read (on MySQL before 8.0.19 the statement is DROP CHECK)",
	}
	s := d.srv
	if s == nil {
		return m
	}
	m.MariaDB = s.mariadb
	m.CheckLevel = s.mariadb && s.atLeast(10, 5, 10)
	m.Checks = s.checks()
	m.Enforced = !s.mariadb && s.atLeast(8, 0, 16)
	m.AddColumn, m.AddColumnLock = "ALGORITHM=INSTANT", lockInstant
	if !s.instantAdd() {
		m.AddColumn, m.AddColumnLock = "ALGORITHM=INPLACE, LOCK=NONE", lockInplace+" ("+s.name()+" has no INSTANT ADD COLUMN)"
	}
	m.DropColumn, m.DropColumnLock = "ALGORITHM=INSTANT", lockInstant
	if !s.instantDrop() {
		m.DropColumn, m.DropColumnLock = "ALGORITHM=INPLACE, LOCK=NONE", lockInplace+" ("+s.name()+" has no INSTANT DROP COLUMN)"
	}
	if s.mariadb {
		m.DropCheckAlgorithm = ", ALGORITHM=INSTANT"
		m.DropCheckLock = "ALGORITHM=INSTANT: only metadata changes, under a brief exclusive metadata lock; no row is read"
	} else {
		// MySQL picks the least-locking algorithm itself: the check's
		// metadata only.
		m.DropCheck = "DROP CHECK"
		m.DropCheckLock = "only metadata changes, under a brief exclusive metadata lock; no row is read"
	}
	return m
}

// lockWaitSeconds is --lock-timeout in whole seconds, as MySQL's
// lock_wait_timeout and innodb_lock_wait_timeout take it: rounded up, at
// least 1.
func lockWaitSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

func (d *mysqlDialect) open(ctx context.Context, dsn DSN) (*sql.DB, error) {
	// The driver's configuration, as ParseDSN read it from either form
	// (dsn_mysql.go).
	cfg := dsn.mysqlConfig()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	cfg.MultiStatements = false // one statement per call, always
	cfg.ParseTime = false       // state times are read as text (parseTime)
	cfg.Logger = &mysql.NopLogger{}
	// An UPDATE reports the rows it matched, as on PostgreSQL and SQLite,
	// not only those whose value changed.
	cfg.ClientFoundRows = true
	// Strict mode on shepherd's own connections: a value that does not fit
	// fails the statement instead of being truncated with a warning, and
	// MODIFY … NOT NULL can run in place. NO_AUTO_VALUE_ON_ZERO: a key of
	// 0 that add-column's copy (or a trigger of its, which keeps the mode
	// it was made with) writes stays 0, not a new AUTO_INCREMENT value.
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "CONCAT(@@SESSION.sql_mode, ',STRICT_TRANS_TABLES,NO_AUTO_VALUE_ON_ZERO')"
	if d.lockWait.Load() == 0 {
		d.lockWait.Store(1) // the default --lock-timeout, 500ms, rounded up
	}
	err := cfg.Apply(mysql.BeforeConnect(func(_ context.Context, c *mysql.Config) error {
		c.Params["innodb_lock_wait_timeout"] = strconv.FormatInt(d.lockWait.Load(), 10)
		d.timeoutParams(c.Params)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	vctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// The first connection asks what the server is, and sets its
	// statement timeout to none: those the pool opens later set it as they
	// connect.
	var version string
	conn, err := db.Conn(vctx)
	if err == nil {
		err = conn.QueryRowContext(vctx, "SELECT VERSION()").Scan(&version)
		if err == nil {
			d.srv = parseMySQLVersion(version)
			err = d.readTimeout(vctx, conn)
		}
		conn.Close()
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (d *mysqlDialect) connSetup(opts Options) []string {
	n := lockWaitSeconds(opts.LockTimeout)
	return []string{
		fmt.Sprintf("SET SESSION lock_wait_timeout = %d", n),
		fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", n),
	}
}

func (*mysqlDialect) timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

var (
	quotedName  = regexp.MustCompile("['`]([^'`]+)['`]")
	fkName      = regexp.MustCompile("CONSTRAINT `([^`]+)`")
	dupKeyName  = regexp.MustCompile(`for key '([^']*)'`)
	errConnLost = map[uint16]bool{
		1053: true, // server shutdown in progress
		1927: true, // MariaDB: connection was killed
		2006: true, // server has gone away
		2013: true, // lost connection during query
	}
)

func (*mysqlDialect) classify(err error) failure {
	if err == nil {
		return failure{kind: failOther}
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		name := ""
		if m := quotedName.FindStringSubmatch(me.Message); m != nil {
			name = m[1]
		}
		switch me.Number {
		case 1665: // binlog_format=STATEMENT cannot log a READ COMMITTED write
			return failure{kind: failIsolationRefused, reason: "the server cannot log batches at READ COMMITTED (binlog_format=STATEMENT)"}
		case 1845, 1846: // ALGORITHM=… or LOCK=… is not supported: Try …
			return refusedForm(me.Message)
		case 1205, 1213, 3572: // lock wait timeout, deadlock, NOWAIT
			return failure{kind: failLockTimeout}
		case 1969, 3024: // MariaDB's max_statement_time, MySQL's max_execution_time exceeded
			return failure{kind: failCancelled, cancel: cancelTimeout}
		case 1317: // query execution was interrupted: KILL QUERY
			return failure{kind: failCancelled, cancel: cancelRequest}
		case 1048, 1364, 1138: // column cannot be null, no default, invalid use of NULL
			return failure{kind: failNotNull, constraint: name}
		case 3819, 4025: // MySQL: Check constraint 'x' is violated; MariaDB: CONSTRAINT `x` failed
			return failure{kind: failCheck, constraint: name}
		case 1452, 1216, 1451, 1217: // a child row without its parent; a parent row with children
			c := ""
			if m := fkName.FindStringSubmatch(me.Message); m != nil {
				c = m[1]
			}
			return failure{kind: failForeignKey, constraint: c}
		case 1044, 1142, 1227, 1419: // access denied to the database, to a table, to an operation; a trigger without SUPER while binary logging is on
			return failure{kind: failPermission}
		case 1114, 1021: // the table is full, the disk is full
			return failure{kind: failDiskFull}
		case 1062, 1586: // duplicate entry … for key 'table.name' (MySQL 8) or 'name'
			key := ""
			if m := dupKeyName.FindStringSubmatch(me.Message); m != nil {
				key = m[1]
				if i := strings.LastIndexByte(key, '.'); i >= 0 {
					key = key[i+1:]
				}
			}
			return failure{kind: failUnique, constraint: key}
		}
		if errConnLost[me.Number] {
			return failure{kind: failConnection}
		}
		return failure{kind: failOther}
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.As(err, &ne) {
		return failure{kind: failConnection}
	}
	return failure{kind: failOther}
}

var (
	tryLockRE   = regexp.MustCompile(`Try LOCK=(\w+)`)
	tryAlgoRE   = regexp.MustCompile(`Try ALGORITHM=(\w+)`)
	reasonRE    = regexp.MustCompile(`Reason: (.*?)\.? Try `)
	refusedWhat = regexp.MustCompile(`^(ALGORITHM=\w+|LOCK=\w+)`)
)

// refusedForm reads a refusal of an ALTER's form (errors 1845 and 1846):
// what was refused, the server's reason, and the lock level the server's
// suggestion needs: "Try LOCK=SHARED" needs shared; "Try ALGORITHM=COPY"
// too, as a copy never lets writes go on; "Try ALGORITHM=INPLACE" needs
// nothing more.
func refusedForm(msg string) failure {
	f := failure{kind: failRefusedForm, need: templates.LevelNone}
	if m := refusedWhat.FindStringSubmatch(msg); m != nil {
		f.refused = m[1]
	}
	if m := reasonRE.FindStringSubmatch(msg); m != nil {
		f.reason = m[1]
	}
	if m := tryLockRE.FindStringSubmatch(msg); m != nil {
		f.suggest = "LOCK=" + strings.ToUpper(m[1])
		switch strings.ToUpper(m[1]) {
		case "SHARED":
			f.need = templates.LevelShared
		case "EXCLUSIVE":
			f.need = templates.LevelExclusive
		}
	}
	if m := tryAlgoRE.FindStringSubmatch(msg); m != nil {
		f.suggest = "ALGORITHM=" + strings.ToUpper(m[1])
		if strings.EqualFold(m[1], "COPY") {
			f.need = templates.LevelShared
		}
	}
	return f
}

// ---------- the runner lock ----------

// mysqlLockName is the GET_LOCK name for a scope. GET_LOCK names are server-wide
// and at most 64 characters: the scope is qualified by its database, and a
// long one is hashed.
func mysqlLockName(scope string) string {
	name := "shepherd:" + scope
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(scope))
		name = "shepherd:" + hex.EncodeToString(sum[:16])
	}
	return name
}

// lock takes GET_LOCK on a connection held for the session: the lock lasts
// exactly as long as that connection, so a runner that dies frees it. The
// row in shepherd_lock only says who holds it.
func (d *mysqlDialect) lock(ctx context.Context, s *Session) (runnerLock, error) {
	// Every connection from here on waits for row locks at most
	// --lock-timeout; idle ones opened before are dropped.
	if wait := lockWaitSeconds(s.opts.LockTimeout); d.lockWait.Swap(wait) != wait {
		s.db.SetMaxIdleConns(0)
		s.db.SetMaxIdleConns(2) // database/sql's default
	}
	scope, _ := d.lockScope(ctx, s)
	return s.takeSessionLock(ctx, scope, mysqlLockName(scope))
}

// lockScope is the table's name in its database.
func (*mysqlDialect) lockScope(_ context.Context, s *Session) (string, error) {
	db := s.plan.Schema
	if db == "" {
		db = s.dsn.database()
	}
	return db + "." + s.plan.Table, nil
}

// runnerAlive: a session holds GET_LOCK's lock (IS_USED_LOCK names it).
func (*mysqlDialect) runnerAlive(ctx context.Context, e *Engine, scope string, _ *LockHeldError, _ *time.Time) (bool, error) {
	var conn sql.NullInt64
	err := e.queryRow(ctx, e.db, "runner-lock-holder", nil, map[string]any{"lock": mysqlLockName(scope)}, &conn)
	return conn.Valid, err
}

func (*mysqlDialect) placeholder(n int) string { return templates.Question(n) }

func (*mysqlDialect) restatesColumn(op string) bool {
	return op == "set-not-null" || op == "drop-not-null"
}

// mysqlType splits a column type as the engine reads it ("int(11)
// unsigned", "varchar(20) CHARACTER SET utf8mb4 COLLATE …") into its base
// name, its arguments, whether it is unsigned, and its character set and
// collation.
func mysqlType(t string) (base, args string, unsigned bool, charset string) {
	lower := strings.ToLower(t)
	if i := strings.Index(lower, " character set "); i >= 0 {
		charset = lower[i+1:]
		lower = lower[:i]
	}
	base = lower
	if i := strings.IndexAny(base, "( "); i >= 0 {
		base = lower[:i]
		if j := strings.IndexByte(lower, ')'); lower[i] == '(' && j > i {
			args = lower[i+1 : j]
		}
	}
	unsigned = strings.Contains(lower, "unsigned")
	return base, args, unsigned, charset
}

// foreignKeyTypes: InnoDB wants integers of the same size and sign, string
// columns of the same character set and collation (any length), and
// otherwise the same type.
func (*mysqlDialect) foreignKeyTypes(child, parent Column) string {
	ab, aa, au, ac := mysqlType(child.Type)
	bb, ba, bu, bc := mysqlType(parent.Type)
	ints := map[string]bool{"tinyint": true, "smallint": true, "mediumint": true, "int": true, "integer": true, "bigint": true}
	strs := map[string]bool{"char": true, "varchar": true}
	bins := map[string]bool{"binary": true, "varbinary": true}
	if ab == "integer" {
		ab = "int"
	}
	if bb == "integer" {
		bb = "int"
	}
	switch {
	case ints[ab] && ints[bb]:
		if ab != bb || au != bu {
			return "MySQL and MariaDB need integer columns of the same size and sign for a foreign key; make the columns the same type first"
		}
	case strs[ab] && strs[bb], bins[ab] && bins[bb]:
		if ac != bc {
			return "MySQL and MariaDB need the same character set and collation on both sides of a foreign key; make them the same first"
		}
	default:
		if ab != bb || aa != ba || au != bu || ac != bc {
			return "MySQL and MariaDB need the same type on both sides of a foreign key; make the columns the same type first"
		}
	}
	return ""
}

// uncheckedForeignKey: the in-place ALTER runs with foreign_key_checks = 0,
// so it does not check the rows already there.
func (*mysqlDialect) uncheckedForeignKey() bool { return true }

// notNullDDLChecksRows: MODIFY … NOT NULL rebuilds the table and, in the
// strict sql_mode every connection sets, fails on the first NULL row
// ("Data truncated"), changing nothing.
func (*mysqlDialect) notNullDDLChecksRows() bool { return true }

// shadowCopies: MariaDB 10.6 and later copy the table for add-column's
// backfill (shadow.go): RENAME … NOWAIT is there from 10.3, and a RENAME
// of two tables is atomic, a crash leaving both names or neither, from
// 10.6. MySQL's RENAME has no NOWAIT: there the fill is in place.
func (d *mysqlDialect) shadowCopies() bool {
	return d.srv != nil && d.srv.mariadb && d.srv.atLeast(10, 6, 0)
}

// batchTx: READ COMMITTED. At InnoDB's default, REPEATABLE READ, an UPDATE
// takes shared locks on every row its subqueries read (a UNIQUE clean's
// search for duplicates reads the whole table; a foreign key's search for
// parents, the parent table) and gap locks around its range, so the
// application's writes anywhere in the table waited for every batch. At
// READ COMMITTED the subqueries read a snapshot and only the batch's own
// rows are locked.
func (*mysqlDialect) batchTx() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

// pressure: n is Threads_running; the limit is pt-online-schema-change's
// default, 25, or a fifth over the level when the walk began if that was
// higher already.
func (*mysqlDialect) pressure(n, baseline int64) (bool, string) {
	limit := max(25, baseline*6/5)
	return n > limit, fmt.Sprintf("Threads_running is %d, over %d", n, limit)
}
