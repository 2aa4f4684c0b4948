package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shepherd-db/shepherd/engine"
)

// MySQL's and MariaDB's refusals of an ALGORITHM or LOCK clause: the
// server cannot do the change that way (1845, 1846 with its reason), or
// does not know the algorithm (1800: INSTANT before MySQL 8.0 and
// MariaDB 10.3).
const (
	erAlterNotSupported       = 1845
	erAlterNotSupportedReason = 1846
	erUnknownAlterAlgorithm   = 1800
	erUnknownAlterLock        = 1801
)

// mysqlProbes are the forms a statement is tried in, most online first.
// MySQL DDL is not transactional: the first form the server accepts has
// changed the scratch table, and is the statement applied.
var mysqlProbes = []struct {
	alter, index string // the clause after an ALTER TABLE's, and after CREATE INDEX's columns
	online       bool
	lock, method string
	rewrite      bool
}{
	{", ALGORITHM=INSTANT", " ALGORITHM=INSTANT", true, "", "ALGORITHM=INSTANT", false},
	{", ALGORITHM=INPLACE, LOCK=NONE", " ALGORITHM=INPLACE LOCK=NONE", true, "", "ALGORITHM=INPLACE, LOCK=NONE", false},
	{", ALGORITHM=INPLACE, LOCK=SHARED", " ALGORITHM=INPLACE LOCK=SHARED", false, "LOCK=SHARED", "an in-place rebuild (ALGORITHM=INPLACE, LOCK=SHARED)", true},
	{", ALGORITHM=COPY, LOCK=SHARED", " ALGORITHM=COPY LOCK=SHARED", false, "LOCK=SHARED", "a table copy (ALGORITHM=COPY)", true},
}

// mysqlRehearser rehearses on a scratch database beside the target's,
// on one connection (its session settings hold for every statement).
type mysqlRehearser struct {
	target  *sql.DB
	scratch *sql.DB
	conn    *sql.Conn
	dsn     engine.DSN
	db      string // the target's database
	name    string
	opts    Options
}

func openMySQL(ctx context.Context, opts Options, dsn engine.DSN, rep *Report) (rehearser, error) {
	cfg := dsn.MySQLConfig()
	if cfg == nil {
		return nil, errors.New("review: the --db DSN cannot be read as MySQL's")
	}
	cfg.MultiStatements = false
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("review: %s", dsn.Scrub(err.Error()))
	}
	r := &mysqlRehearser{target: sql.OpenDB(connector), dsn: dsn, db: cfg.DBName, opts: opts}
	fail := func(err error) (rehearser, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		r.close(dctx)
		return nil, err
	}
	if err := r.target.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("review: connect to the target: %s", dsn.Scrub(err.Error())))
	}
	if rep.Leftovers, err = r.dropLeftovers(ctx); err != nil {
		return fail(err)
	}
	if r.name, err = scratchName(opts.Now()); err != nil {
		return fail(err)
	}
	if _, err := r.target.ExecContext(ctx, "CREATE DATABASE "+quoteMy(r.name)); err != nil {
		r.name = ""
		return fail(fmt.Errorf("review: create the scratch database: %w", err))
	}
	rep.Scratch = r.name
	scfg := cfg.Clone()
	scfg.DBName = r.name
	sconn, err := mysql.NewConnector(scfg)
	if err != nil {
		return fail(fmt.Errorf("review: %s", dsn.Scrub(err.Error())))
	}
	r.scratch = sql.OpenDB(sconn)
	if r.conn, err = r.scratch.Conn(ctx); err != nil {
		return fail(fmt.Errorf("review: connect to the scratch database: %s", dsn.Scrub(err.Error())))
	}
	secs := max(1, int(opts.LockTimeout/time.Second))
	if _, err := r.conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
		return fail(fmt.Errorf("review: set lock_wait_timeout: %w", err))
	}
	return r, nil
}

func (r *mysqlRehearser) close(ctx context.Context) {
	if r.conn != nil {
		r.conn.Close()
	}
	if r.scratch != nil {
		r.scratch.Close()
	}
	if r.name != "" {
		_, _ = r.target.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteMy(r.name))
	}
	r.target.Close()
}

func (r *mysqlRehearser) replay(ctx context.Context, sql string) error {
	_, err := r.conn.ExecContext(ctx, sql)
	return err
}

// key is the table's name: a database name before it is the target's
// (the scratch database holds its tables under another name).
func (r *mysqlRehearser) key(_, table string) string { return table }

func (r *mysqlRehearser) tables(ctx context.Context) (map[string]bool, error) {
	rows, err := r.conn.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'`)
	if err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("review: list the scratch tables: %w", err)
		}
		out[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	return out, nil
}

// rehearse tries an ALTER TABLE or CREATE INDEX on a table that exists in
// each of mysqlProbes' forms in turn, the first the server accepts being
// the one applied; when it refuses them all, it applies the statement as
// written, which then takes LOCK=EXCLUSIVE (reads wait too). Any other
// statement, and one that names its own ALGORITHM or LOCK, is applied as
// written.
func (r *mysqlRehearser) rehearse(ctx context.Context, stmt string, actions []Action) (Observed, error) {
	obs := newObserved()
	table, index := probeable(stmt, actions)
	if table == "" {
		_, err := r.conn.ExecContext(ctx, stmt)
		if err != nil {
			return obs, fmt.Errorf("apply on the scratch database: %w", err)
		}
		return obs, nil
	}
	var reason string
	for _, p := range mysqlProbes {
		form := stmt + p.alter
		if index {
			form = stmt + p.index
		}
		_, err := r.conn.ExecContext(ctx, form)
		if err == nil {
			obs.Online[table], obs.Locks[table], obs.Rewritten[table] = p.online, p.lock, p.rewrite
			obs.Method[table] = p.method
			if !p.online {
				obs.Reason[table] = reason
			}
			return obs, nil
		}
		var my *mysql.MySQLError
		if !errors.As(err, &my) {
			return obs, fmt.Errorf("rehearse on the scratch database: %w", err)
		}
		switch my.Number {
		case erAlterNotSupportedReason:
			reason = my.Message // the last: why the form nearest a copy was refused
			continue
		case erAlterNotSupported, erUnknownAlterAlgorithm, erUnknownAlterLock:
			continue
		}
		// Another error: the statement's own (the server says it again
		// as written), or one the server gives the clause added: then
		// how it runs is not known, and nothing is said of it.
		if _, err := r.conn.ExecContext(ctx, stmt); err != nil {
			return obs, fmt.Errorf("apply on the scratch database: %w", err)
		}
		return obs, nil
	}
	if _, err := r.conn.ExecContext(ctx, stmt); err != nil {
		return obs, fmt.Errorf("apply on the scratch database: %w", err)
	}
	obs.Locks[table], obs.Rewritten[table] = "LOCK=EXCLUSIVE", true
	obs.Method[table], obs.Reason[table] = "a table copy that blocks reads too (LOCK=EXCLUSIVE)", reason
	return obs, nil
}

// probeable is the table an ALTER TABLE or CREATE INDEX changes, and
// whether it is CREATE INDEX (whose options follow its columns, without
// commas); "" for a statement the probes do not apply to.
func probeable(stmt string, actions []Action) (string, bool) {
	toks := words(stmt)
	if len(toks) < 3 || len(actions) == 0 || actions[0].Table == "" {
		return "", false
	}
	for _, t := range toks {
		if is(t, "ALGORITHM") || is(t, "LOCK") {
			return "", false // the statement says how itself: the server refuses it if it cannot
		}
	}
	switch {
	case is(toks[0], "ALTER") && is(toks[1], "TABLE"):
		for _, a := range actions {
			if a.Kind == RenameTable {
				return "", false
			}
		}
		return actions[0].Table, false
	case is(toks[0], "CREATE") && actions[0].Kind == CreateIndex:
		return actions[0].Table, true
	}
	return "", false
}

func (r *mysqlRehearser) notNullChecked(context.Context, Action) bool { return false }

// rows is the target's estimate of a table's rows, from
// information_schema.TABLES (InnoDB's estimate: read-only, no scan).
func (r *mysqlRehearser) rows(ctx context.Context, table string) (int64, bool) {
	if table == "" {
		return 0, false
	}
	var n sql.NullInt64
	err := r.target.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, r.db, table).Scan(&n)
	if err != nil {
		return 0, false
	}
	if !n.Valid {
		return -1, true
	}
	return n.Int64, true
}

// explain gives MySQL's way for the findings whose PostgreSQL way it lacks.
func (r *mysqlRehearser) explain(f *Finding) {
	switch f.Check {
	case "add-column-not-null":
		f.Why = "the server adds it" + serverSaid(*f) + " and gives the rows it has the type's implicit default ('' or 0), a value no one chose; code running during the deploy does not write the column, and its inserts fail in strict mode (error 1364)"
		f.Safe = "add the column nullable or with a DEFAULT (ALGORITHM=INSTANT), deploy code that writes it, backfill in batches, then make it NOT NULL (shepherd's add-column playbook)"
	case "data-and-constraint":
		f.Safe = "clean the rows in batches as their own phase, then add the constraint in a later migration (shepherd's tighten-constraint playbook)"
	case "create-index":
		f.Safe = "an index build the server does online (ALGORITHM=INPLACE, LOCK=NONE); where it cannot, shepherd's add-index playbook or an online schema change tool (gh-ost, pt-online-schema-change)"
	case "add-constraint-validated":
		if f.action.Constraint == "FOREIGN KEY" {
			f.Safe = "clean the rows that break it, then add it with SET foreign_key_checks = 0, which the server does in place without a copy (ALGORITHM=INPLACE), as shepherd's tighten-constraint playbook does"
			return
		}
		f.Safe = "MySQL checks a new CHECK constraint by copying the table: enforce it in a later release with shepherd's tighten-constraint playbook, after cleaning the rows"
	case "add-constraint-index":
		f.Safe = "add the unique index with ALGORITHM=INPLACE, LOCK=NONE after cleaning the duplicates (shepherd's tighten-constraint playbook)"
	case "alter-column-type", "add-column-rewrite":
		f.Safe = "add a new column (ALGORITHM=INSTANT), keep it in step, backfill it in batches and switch to it (shepherd's " + f.Playbook + " playbook), or an online schema change tool (gh-ost, pt-online-schema-change)"
	}
}

// dropLeftovers drops the scratch databases of reviews that were killed
// before they could drop theirs: those older than opts.StaleAfter with no
// connection using them.
func (r *mysqlRehearser) dropLeftovers(ctx context.Context) ([]string, error) {
	rows, err := r.target.QueryContext(ctx, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME LIKE 'shepherd\_review\_%'`)
	if err != nil {
		return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
	}
	var dropped []string
	for _, n := range names {
		if !stale(n, r.opts) {
			continue
		}
		var conns int64
		if err := r.target.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = ?", n).Scan(&conns); err != nil {
			return dropped, fmt.Errorf("review: look for connections to %s: %w", n, err)
		}
		if conns > 0 {
			continue // a long review still under way
		}
		if _, err := r.target.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteMy(n)); err != nil {
			return dropped, fmt.Errorf("review: drop the leftover scratch database %s: %w", n, err)
		}
		dropped = append(dropped, n)
	}
	return dropped, nil
}

func quoteMy(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
