package review

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/shepherd-db/shepherd/engine"
)

// sqliteWriteLock is how findings name the lock every SQLite write holds:
// one writer for the whole database, readers go on (in WAL mode).
const sqliteWriteLock = "SQLite's write lock"

// sqliteRehearser rehearses on a scratch file built by replaying the
// earlier migrations; the target file is only opened read-only, to count
// its tables' rows.
type sqliteRehearser struct {
	target  *sql.DB
	scratch *sql.DB
	path    string
	// roots is each table's b-tree root page as last seen: a table whose
	// name comes back on another root was rebuilt (copied and swapped in).
	roots map[string]int64
	// shapes is each table's columns and foreign keys as last seen, to
	// say what a rebuild changed.
	shapes map[string]tableShape
}

func openSQLite(ctx context.Context, opts Options, dsn engine.DSN, rep *Report) (rehearser, error) {
	if _, err := os.Stat(dsn.Path); err != nil {
		return nil, fmt.Errorf("review: sqlite database file %s: %w", dsn.Path, err)
	}
	target, err := sql.Open("sqlite", "file:"+dsn.Path+"?"+url.Values{"mode": {"ro"}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("review: open %s read-only: %w", dsn.Path, err)
	}
	r := &sqliteRehearser{target: target, roots: map[string]int64{}, shapes: map[string]tableShape{}}
	dir := opts.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	rep.Leftovers = dropLeftoverFiles(dir, opts)
	name, err := scratchName(opts.Now())
	if err != nil {
		r.close(ctx)
		return nil, err
	}
	r.path = filepath.Join(dir, name+".db")
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		r.path = ""
		r.close(ctx)
		return nil, fmt.Errorf("review: create the scratch file: %w", err)
	}
	f.Close()
	rep.Scratch = r.path
	if r.scratch, err = sql.Open("sqlite", "file:"+r.path); err != nil {
		r.close(ctx)
		return nil, fmt.Errorf("review: open the scratch file: %w", err)
	}
	r.scratch.SetMaxOpenConns(1) // PRAGMA foreign_keys=OFF and the like hold for the statements after
	return r, nil
}

// dropLeftoverFiles removes the scratch files of reviews that were killed
// before they could remove theirs.
func dropLeftoverFiles(dir string, opts Options) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, ScratchPrefix+"*.db"))
	var dropped []string
	for _, m := range matches {
		if !stale(strings.TrimSuffix(filepath.Base(m), ".db"), opts) {
			continue
		}
		if os.Remove(m) == nil {
			dropped = append(dropped, m)
		}
		for _, side := range []string{"-journal", "-wal", "-shm"} {
			_ = os.Remove(m + side)
		}
	}
	return dropped
}

func (r *sqliteRehearser) close(context.Context) {
	if r.scratch != nil {
		r.scratch.Close()
	}
	if r.path != "" {
		for _, side := range []string{"", "-journal", "-wal", "-shm"} {
			_ = os.Remove(r.path + side)
		}
	}
	r.target.Close()
}

func (r *sqliteRehearser) replay(ctx context.Context, sql string) error {
	_, err := r.scratch.ExecContext(ctx, sql)
	return err
}

func (r *sqliteRehearser) key(_, table string) string { return table }

// tables lists the scratch file's tables, and notes their root pages.
func (r *sqliteRehearser) tables(ctx context.Context) (map[string]bool, error) {
	roots, err := r.rootPages(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for t, root := range roots {
		out[t] = true
		r.roots[t] = root
		if r.shapes[t], err = r.shape(ctx, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *sqliteRehearser) rootPages(ctx context.Context) (map[string]int64, error) {
	rows, err := r.scratch.QueryContext(ctx, `SELECT name, rootpage FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var n string
		var root int64
		if err := rows.Scan(&n, &root); err != nil {
			return nil, fmt.Errorf("review: list the scratch tables: %w", err)
		}
		out[n] = root
	}
	return out, rows.Err()
}

// rehearse applies the statement and compares the tables' root pages
// with those last seen: a name on a new root page is a table rebuilt.
// Every SQLite statement that writes holds the database's write lock; an
// index build holds it while it reads the whole table, and is never online.
func (r *sqliteRehearser) rehearse(ctx context.Context, stmt string, actions []Action) (Observed, error) {
	obs := newObserved()
	if err := r.withRow(ctx, stmt, actions); err != nil {
		return obs, err
	}
	if _, err := r.scratch.ExecContext(ctx, stmt); err != nil {
		return obs, fmt.Errorf("apply on the scratch database: %w", err)
	}
	for _, a := range actions {
		if a.Table != "" && a.Kind != ChangeRows && a.Kind != OtherStatement {
			obs.Locks[a.Table] = sqliteWriteLock
		}
	}
	roots, err := r.rootPages(ctx)
	if err != nil {
		return obs, err
	}
	for t, root := range roots {
		if was, ok := r.roots[t]; ok && was != root {
			obs.Rewritten[t] = true
			obs.Locks[t] = sqliteWriteLock
			obs.Method[t] = "a rebuild (CREATE TABLE, INSERT … SELECT, DROP TABLE, RENAME)"
			now, err := r.shape(ctx, t)
			if err != nil {
				return obs, err
			}
			obs.Reason[t] = r.shapes[t].changes(now)
			r.shapes[t] = now
		}
		r.roots[t] = root
	}
	return obs, nil
}

// withRow runs an ALTER TABLE on a table that existed before the new
// migrations once more in a transaction it rolls back, with a row in the
// table: SQLite refuses some changes (a NOT NULL column without a
// default) only on a table that has rows, as the target's have. The row
// fills the NOT NULL columns without a default with their type's zero;
// where it cannot be written, the table is left empty.
func (r *sqliteRehearser) withRow(ctx context.Context, stmt string, actions []Action) error {
	toks := words(stmt)
	if len(toks) < 2 || !is(toks[0], "ALTER") || !is(toks[1], "TABLE") || len(actions) == 0 {
		return nil
	}
	table := actions[0].Table
	if _, ok := r.roots[table]; !ok {
		return nil
	}
	insert, err := r.seedRow(ctx, table)
	if err != nil {
		return err
	}
	tx, err := r.scratch.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin the rehearsal: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a rehearsal: always rolled back
	if _, err := tx.ExecContext(ctx, insert); err != nil {
		return nil // a row the table's constraints refuse: rehearse on the empty table
	}
	if _, err := tx.ExecContext(ctx, stmt); err != nil && knownToFail(actions) {
		return &refusedError{err}
	}
	return nil // refused for the made-up row's sake: the empty table says
}

// seedRow is an INSERT of one row into table that its NOT NULL columns
// accept.
func (r *sqliteRehearser) seedRow(ctx context.Context, table string) (string, error) {
	rows, err := r.scratch.QueryContext(ctx, "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?)", table)
	if err != nil {
		return "", fmt.Errorf("read %s's columns: %w", table, err)
	}
	defer rows.Close()
	var cols, vals []string
	for rows.Next() {
		var name, typ string
		var notNull, hasDefault bool
		var pk int
		if err := rows.Scan(&name, &typ, &notNull, &hasDefault, &pk); err != nil {
			return "", fmt.Errorf("read %s's columns: %w", table, err)
		}
		if !notNull || hasDefault || pk > 0 {
			continue
		}
		t := strings.ToUpper(typ)
		v := "''"
		switch {
		case strings.Contains(t, "INT"):
			v = "0"
		case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"), strings.Contains(t, "NUM"), strings.Contains(t, "DEC"):
			v = "0.0"
		case strings.Contains(t, "BLOB"):
			v = "x''"
		}
		cols, vals = append(cols, quoteLite(name)), append(vals, v)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read %s's columns: %w", table, err)
	}
	if len(cols) == 0 {
		return "INSERT INTO " + quoteLite(table) + " DEFAULT VALUES", nil
	}
	return "INSERT INTO " + quoteLite(table) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")", nil
}

func (r *sqliteRehearser) notNullChecked(context.Context, Action) bool { return false }

// rows counts the target's rows of a table (SQLite keeps no estimate
// outside ANALYZE's sqlite_stat1), on the read-only connection.
func (r *sqliteRehearser) rows(ctx context.Context, table string) (int64, bool) {
	if table == "" {
		return 0, false
	}
	var n int64
	if err := r.target.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteLite(table)).Scan(&n); err != nil {
		return 0, false
	}
	return n, true
}

// explain gives SQLite's way for the findings whose PostgreSQL way it lacks.
func (r *sqliteRehearser) explain(f *Finding) {
	switch f.Check {
	case "add-column-not-null":
		f.Safe = "add the column nullable or with a DEFAULT (a plain ADD COLUMN, no rebuild), deploy code that writes it, backfill in batches; NOT NULL then needs a rebuild, when writes can wait (shepherd's add-column playbook)"
	case "data-and-constraint":
		f.Safe = "clean the rows in batches as their own phase, then add the constraint in a later migration (shepherd's tighten-constraint playbook)"
	case "create-index":
		f.Why = "SQLite builds an index (it has no CONCURRENTLY) under its write lock while it reads every row: writes wait until the index is built"
		f.Safe = "SQLite builds every index under its write lock: build it when writes can wait for a scan of the table (shepherd's add-index playbook runs it as a phase of its own)"
	case "add-constraint-validated", "add-constraint-index":
		f.Safe = "SQLite adds such a constraint only by rebuilding the table: clean the rows first and rebuild it when writes can wait (shepherd's tighten-constraint playbook)"
	}
}

func quoteLite(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// tableShape is a table's columns (name → type, NOT NULL, default) in
// order, and its foreign keys.
type tableShape struct {
	names   []string
	columns map[string]string
	fks     []string
}

func (r *sqliteRehearser) shape(ctx context.Context, table string) (tableShape, error) {
	sh := tableShape{columns: map[string]string{}}
	rows, err := r.scratch.QueryContext(ctx, "SELECT name, type, \"notnull\", coalesce(dflt_value, '') FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return sh, fmt.Errorf("read %s's columns: %w", table, err)
	}
	for rows.Next() {
		var name, typ, def string
		var notNull bool
		if err := rows.Scan(&name, &typ, &notNull, &def); err != nil {
			rows.Close()
			return sh, fmt.Errorf("read %s's columns: %w", table, err)
		}
		d := strings.ToLower(typ)
		if notNull {
			d += " NOT NULL"
		}
		if def != "" {
			d += " DEFAULT " + def
		}
		sh.names = append(sh.names, name)
		sh.columns[name] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sh, fmt.Errorf("read %s's columns: %w", table, err)
	}
	rows, err = r.scratch.QueryContext(ctx, `SELECT "from", "table", coalesce("to", '') FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
	if err != nil {
		return sh, fmt.Errorf("read %s's foreign keys: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, ref, to string
		if err := rows.Scan(&from, &ref, &to); err != nil {
			return sh, fmt.Errorf("read %s's foreign keys: %w", table, err)
		}
		sh.fks = append(sh.fks, fmt.Sprintf("(%s) → %s(%s)", from, ref, to))
	}
	return sh, rows.Err()
}

// changes says what a rebuild changed, from the table's shape before it:
// "amount: integer → real NOT NULL; foreign key (user_id) → users(id) added".
func (old tableShape) changes(now tableShape) string {
	var out []string
	for _, c := range now.names {
		was, ok := old.columns[c]
		switch {
		case !ok:
			out = append(out, c+" added ("+now.columns[c]+")")
		case was != now.columns[c]:
			out = append(out, c+": "+was+" → "+now.columns[c])
		}
	}
	for _, c := range old.names {
		if _, ok := now.columns[c]; !ok {
			out = append(out, c+" dropped")
		}
	}
	for _, fk := range now.fks {
		if !slices.Contains(old.fks, fk) {
			out = append(out, "foreign key "+fk+" added")
		}
	}
	for _, fk := range old.fks {
		if !slices.Contains(now.fks, fk) {
			out = append(out, "foreign key "+fk+" dropped")
		}
	}
	if len(out) == 0 {
		return "the same columns, rebuilt"
	}
	return strings.Join(out, "; ")
}
