package review

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shepherd-db/shepherd/templates"
)

// postgres rehearses on a scratch database beside the target: each
// statement in a transaction, reading pg_locks and the tables' relfilenode
// before rolling it back and applying it.
type postgres struct {
	tm              *templates.Set
	target, scratch *pgx.Conn
	opts            Options
	name            string
}

func openPostgres(ctx context.Context, opts Options, rep *Report) (rehearser, error) {
	tm, err := templates.Load("postgres", quoteIdent, templates.Dollar)
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	cfg, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		return nil, errors.New("review: the --db DSN cannot be read as PostgreSQL's")
	}
	target, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("review: connect to the target: %w", err)
	}
	r := &postgres{tm: tm, target: target, opts: opts}
	fail := func(err error) (rehearser, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		r.close(dctx)
		return nil, err
	}
	if rep.Leftovers, err = r.dropLeftovers(ctx); err != nil {
		return fail(err)
	}
	if r.name, err = scratchName(opts.Now()); err != nil {
		return fail(err)
	}
	if _, err := target.Exec(ctx, "CREATE DATABASE "+quoteIdent(r.name)); err != nil {
		r.name = ""
		return fail(fmt.Errorf("review: create the scratch database: %w", err))
	}
	rep.Scratch = r.name
	scfg := cfg.Copy()
	scfg.Database = r.name
	if r.scratch, err = pgx.ConnectConfig(ctx, scfg); err != nil {
		return fail(fmt.Errorf("review: connect to the scratch database: %w", err))
	}
	return r, nil
}

func (r *postgres) close(ctx context.Context) {
	if r.scratch != nil {
		r.scratch.Close(ctx)
	}
	if r.name != "" {
		if _, err := r.target.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(r.name)+" WITH (FORCE)"); err != nil {
			// PostgreSQL before 13 has no FORCE.
			_, _ = r.target.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(r.name))
		}
	}
	r.target.Close(ctx)
}

func (r *postgres) replay(ctx context.Context, sql string) error {
	_, err := r.scratch.Exec(ctx, sql)
	return err
}

// key is the table's name, schema-qualified outside public (where an
// unqualified name resolves).
func (r *postgres) key(schema, table string) string {
	if schema == "" || schema == "public" || table == "" {
		return table
	}
	return schema + "." + table
}

// qualified quotes a table key for to_regclass.
func qualified(key string) string {
	if schema, table, ok := strings.Cut(key, "."); ok {
		return quoteIdent(schema) + "." + quoteIdent(table)
	}
	return quoteIdent(key)
}

// rehearse runs one statement in a transaction on the scratch database,
// reads the locks it holds and the tables it rewrote, rolls it back, then
// applies it for the statements after it.
func (r *postgres) rehearse(ctx context.Context, sql string, actions []Action) (Observed, error) {
	obs := newObserved()
	obs.NoTx = noTransaction(sql)
	if !obs.NoTx {
		before := map[string]int64{}
		for _, a := range actions {
			if a.Table != "" {
				n, err := r.relfilenode(ctx, r.scratch, a.Table)
				if err != nil {
					return obs, err
				}
				before[a.Table] = n
			}
		}
		tx, err := r.scratch.Begin(ctx)
		if err != nil {
			return obs, fmt.Errorf("begin the rehearsal: %w", err)
		}
		err = r.observe(ctx, tx, sql, before, &obs)
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); err == nil && rerr != nil {
			err = fmt.Errorf("roll the rehearsal back: %w", rerr)
		}
		if err != nil {
			return obs, err
		}
	}
	if _, err := r.scratch.Exec(ctx, sql); err != nil {
		return obs, fmt.Errorf("apply on the scratch database: %w", err)
	}
	return obs, nil
}

func (r *postgres) observe(ctx context.Context, tx pgx.Tx, sql string, before map[string]int64, obs *Observed) error {
	ms := r.opts.LockTimeout.Milliseconds()
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = "+strconv.FormatInt(ms, 10)); err != nil {
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("rehearse on the scratch database: %w", err)
	}
	q, err := r.tm.Query("review-locks", nil)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, q.SQL)
	if err != nil {
		return fmt.Errorf("read pg_locks: %w", err)
	}
	for rows.Next() {
		var schema, rel, mode string
		if err := rows.Scan(&schema, &rel, &mode); err != nil {
			rows.Close()
			return fmt.Errorf("read pg_locks: %w", err)
		}
		mode, rel = lockName(mode), r.key(schema, rel)
		if lockRank(mode) > lockRank(obs.Locks[rel]) {
			obs.Locks[rel] = mode
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pg_locks: %w", err)
	}
	for t, n := range before {
		after, err := r.relfilenode(ctx, tx, t)
		if err != nil {
			return err
		}
		if n != 0 && after != 0 && after != n {
			obs.Rewritten[t] = true
		}
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (r *postgres) one(ctx context.Context, db querier, name string, data any, dest any) error {
	q, err := r.tm.Query(name, data)
	if err != nil {
		return err
	}
	args, err := q.Args(nil)
	if err != nil {
		return err
	}
	return db.QueryRow(ctx, q.SQL, args...).Scan(dest)
}

func (r *postgres) relfilenode(ctx context.Context, db querier, table string) (int64, error) {
	var n int64
	if err := r.one(ctx, db, "review-relfilenode", map[string]any{"Table": qualified(table)}, &n); err != nil {
		return 0, fmt.Errorf("read %s's relfilenode: %w", table, err)
	}
	return n, nil
}

// notNullChecked says whether a SET NOT NULL can skip its scan: a
// validated CHECK (col IS NOT NULL) is already on the scratch table.
func (r *postgres) notNullChecked(ctx context.Context, a Action) bool {
	if a.Kind != SetNotNull {
		return false
	}
	var n int64
	err := r.one(ctx, r.scratch, "review-notnull-check", map[string]any{"Table": qualified(a.Table), "Column": a.Column}, &n)
	return err == nil && n > 0
}

// rows is the target's estimate of a table's rows (-1: never analyzed)
// and whether the target has the table.
func (r *postgres) rows(ctx context.Context, table string) (int64, bool) {
	if table == "" {
		return 0, false
	}
	var n *float64
	if err := r.one(ctx, r.target, "review-rows", map[string]any{"Table": qualified(table)}, &n); err != nil || n == nil {
		return 0, false
	}
	return int64(*n), true
}

// explain leaves the findings' words, which are PostgreSQL's.
func (r *postgres) explain(*Finding) {}

func (r *postgres) tables(ctx context.Context) (map[string]bool, error) {
	q, err := r.tm.Query("review-tables", nil)
	if err != nil {
		return nil, err
	}
	rows, err := r.scratch.Query(ctx, q.SQL)
	if err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	out := map[string]bool{}
	var schema, name string
	_, err = pgx.ForEachRow(rows, []any{&schema, &name}, func() error {
		out[r.key(schema, name)] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	return out, nil
}

// dropLeftovers drops the scratch databases of reviews that were killed
// before they could drop theirs: those older than opts.StaleAfter.
func (r *postgres) dropLeftovers(ctx context.Context) ([]string, error) {
	q, err := r.tm.Query("review-scratch-list", nil)
	if err != nil {
		return nil, err
	}
	rows, err := r.target.Query(ctx, q.SQL)
	if err != nil {
		return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
	}
	var dropped []string
	for _, n := range names {
		if !stale(n, r.opts) {
			continue // not named by a review, or a review still under way
		}
		// A review still under way (a long one) holds a connection to its
		// scratch database: left be. Without FORCE, a connection that comes
		// between the look and the drop fails the drop, not the review.
		var conns int64
		if err := r.one(ctx, r.target, "review-scratch-in-use", map[string]any{"Name": n}, &conns); err != nil {
			return dropped, fmt.Errorf("review: look for connections to %s: %w", n, err)
		}
		if conns > 0 {
			continue
		}
		if _, err := r.target.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(n)); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55006" { // object_in_use
				continue
			}
			return dropped, fmt.Errorf("review: drop the leftover scratch database %s: %w", n, err)
		}
		dropped = append(dropped, n)
	}
	return dropped, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// lockName turns pg_locks' AccessExclusiveLock into ACCESS EXCLUSIVE.
func lockName(mode string) string {
	mode = strings.TrimSuffix(mode, "Lock")
	var b strings.Builder
	for i, r := range mode {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// lockRank orders PostgreSQL's table lock modes, weakest first (0: none).
func lockRank(mode string) int {
	order := [...]string{"ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE",
		"SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}
	for i, m := range order {
		if m == mode {
			return i + 1
		}
	}
	return 0
}

// noTransaction says whether PostgreSQL refuses to run the statement in a
// transaction: CREATE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE only:
// reads and writes go on), DROP INDEX and REINDEX CONCURRENTLY, VACUUM. It
// is applied to the scratch database without being observed.
func noTransaction(sql string) bool {
	toks := words(sql)
	if len(toks) > 0 && is(toks[0], "VACUUM") {
		return true
	}
	for i, t := range toks {
		if i < 4 && is(t, "CONCURRENTLY") {
			return true
		}
	}
	return false
}
