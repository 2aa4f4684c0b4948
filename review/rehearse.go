package review

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shepherd-db/shepherd/templates"
)

// ScratchPrefix starts the name of every scratch database a review
// creates: shepherd_review_<unix seconds>_<random>.
const ScratchPrefix = "shepherd_review_"

// Options say where and how to rehearse.
type Options struct {
	// DSN is the target: a PostgreSQL URL or key=value string. Only its
	// table sizes are read; the scratch database is created beside it.
	DSN string
	// LockTimeout bounds each rehearsed statement's wait for a lock
	// (default 5s).
	LockTimeout time.Duration
	// StaleAfter is the age from which another review's scratch database
	// counts as left behind by a killed review (default 5 minutes).
	StaleAfter time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Report is what a review found.
type Report struct {
	Findings []Finding `json:"findings"`
	// Files and Statements count the new migrations rehearsed.
	Files      int `json:"files"`
	Statements int `json:"statements"`
	// Scratch is the scratch database this review created and dropped.
	Scratch string `json:"scratch_database"`
	// Leftovers are earlier reviews' scratch databases this one dropped.
	Leftovers []string `json:"dropped_leftovers,omitempty"`
}

// Observed is what one statement did on the scratch database.
type Observed struct {
	Locks     map[string]string // table → strongest lock mode, as ACCESS EXCLUSIVE
	Rewritten map[string]bool   // tables given a new storage file
	NoTx      bool              // not rehearsed in a transaction (CREATE INDEX CONCURRENTLY)
}

// Rehearse replays files[:firstNew] onto a scratch database on the
// target's server, rehearses every statement of files[firstNew:] there and
// classifies what each did. The scratch database is always dropped; the
// target is only read (pg_class's row estimates). On an error the report
// says what was done so far (its Scratch database is dropped all the same).
func Rehearse(ctx context.Context, opts Options, files []File, firstNew int) (*Report, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 5 * time.Second
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
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
	defer target.Close(context.WithoutCancel(ctx))
	rep := &Report{}
	if rep.Leftovers, err = dropLeftovers(ctx, tm, target, opts); err != nil {
		return rep, err
	}
	scratchName, err := scratchName(opts.Now())
	if err != nil {
		return rep, err
	}
	rep.Scratch = scratchName
	if _, err := target.Exec(ctx, "CREATE DATABASE "+quoteIdent(scratchName)); err != nil {
		return rep, fmt.Errorf("review: create the scratch database: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = dropDatabase(dctx, target, scratchName)
	}()
	scfg := cfg.Copy()
	scfg.Database = scratchName
	scratch, err := pgx.ConnectConfig(ctx, scfg)
	if err != nil {
		return rep, fmt.Errorf("review: connect to the scratch database: %w", err)
	}
	defer scratch.Close(context.WithoutCancel(ctx))
	r := &rehearsal{tm: tm, target: target, scratch: scratch, opts: opts}
	for _, f := range files[:firstNew] {
		for _, s := range f.Statements {
			if txControl(s.SQL) {
				continue
			}
			if _, err := scratch.Exec(ctx, s.SQL); err != nil {
				return rep, fmt.Errorf("review: replay %s line %d on the scratch database: %w", f.Name, s.Line, err)
			}
		}
	}
	existing, err := r.tables(ctx)
	if err != nil {
		return rep, err
	}
	for _, f := range files[firstNew:] {
		rep.Files++
		var fileActions []located
		for _, s := range f.Statements {
			if txControl(s.SQL) {
				continue // the file's own BEGIN/COMMIT: the rehearsal has its transactions
			}
			rep.Statements++
			actions := Classify(s.SQL)
			obs, err := r.rehearse(ctx, s.SQL, actions)
			if err != nil {
				return rep, fmt.Errorf("review: %s line %d: %w", f.Name, s.Line, err)
			}
			for _, a := range actions {
				fileActions = append(fileActions, located{s, a})
				if !existing[a.Table] {
					continue // a table the new migrations create: empty, no code reads it yet
				}
				fd, ok := judge(a, obs, r.notNullChecked(ctx, a))
				if !ok {
					continue
				}
				fd.File, fd.Line, fd.Statement = f.Path, s.Line, s.SQL
				rep.Findings = append(rep.Findings, fd)
			}
		}
		if fd, ok := combined(fileActions, existing); ok {
			fd.File = f.Path
			rep.Findings = append(rep.Findings, fd)
		}
	}
	for i := range rep.Findings {
		fd := &rep.Findings[i]
		fd.Rows, fd.OnTarget = r.rows(ctx, fd.Table)
		fd.Problem = fd.cost()
	}
	return rep, nil
}

type located struct {
	s Statement
	a Action
}

type rehearsal struct {
	tm              *templates.Set
	target, scratch *pgx.Conn
	opts            Options
}

// rehearse runs one statement in a transaction on the scratch database,
// reads the locks it holds and the tables it rewrote, rolls it back, then
// applies it for the statements after it.
func (r *rehearsal) rehearse(ctx context.Context, sql string, actions []Action) (Observed, error) {
	obs := Observed{Locks: map[string]string{}, Rewritten: map[string]bool{}}
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

func (r *rehearsal) observe(ctx context.Context, tx pgx.Tx, sql string, before map[string]int64, obs *Observed) error {
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
		var rel, mode string
		if err := rows.Scan(&rel, &mode); err != nil {
			rows.Close()
			return fmt.Errorf("read pg_locks: %w", err)
		}
		mode = lockName(mode)
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

func (r *rehearsal) one(ctx context.Context, db querier, name string, data any, dest any) error {
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

func (r *rehearsal) relfilenode(ctx context.Context, db querier, table string) (int64, error) {
	var n int64
	if err := r.one(ctx, db, "review-relfilenode", map[string]any{"Table": quoteIdent(table)}, &n); err != nil {
		return 0, fmt.Errorf("read %s's relfilenode: %w", table, err)
	}
	return n, nil
}

// notNullChecked says whether a SET NOT NULL can skip its scan: a
// validated CHECK (col IS NOT NULL) is already on the scratch table.
func (r *rehearsal) notNullChecked(ctx context.Context, a Action) bool {
	if a.Kind != SetNotNull {
		return false
	}
	var n int64
	err := r.one(ctx, r.scratch, "review-notnull-check", map[string]any{"Table": quoteIdent(a.Table), "Column": a.Column}, &n)
	return err == nil && n > 0
}

// rows is the target's estimate of a table's rows (-1: never analyzed)
// and whether the target has the table.
func (r *rehearsal) rows(ctx context.Context, table string) (int64, bool) {
	if table == "" {
		return 0, false
	}
	var n *float64
	if err := r.one(ctx, r.target, "review-rows", map[string]any{"Table": quoteIdent(table)}, &n); err != nil || n == nil {
		return 0, false
	}
	return int64(*n), true
}

func (r *rehearsal) tables(ctx context.Context) (map[string]bool, error) {
	q, err := r.tm.Query("review-tables", nil)
	if err != nil {
		return nil, err
	}
	rows, err := r.scratch.Query(ctx, q.SQL)
	if err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("review: list the scratch tables: %w", err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// dropLeftovers drops the scratch databases of reviews that were killed
// before they could drop theirs: those older than opts.StaleAfter.
func dropLeftovers(ctx context.Context, tm *templates.Set, target *pgx.Conn, opts Options) ([]string, error) {
	q, err := tm.Query("review-scratch-list", nil)
	if err != nil {
		return nil, err
	}
	rows, err := target.Query(ctx, q.SQL)
	if err != nil {
		return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("review: list earlier scratch databases: %w", err)
	}
	var dropped []string
	for _, n := range names {
		secs, _, _ := strings.Cut(strings.TrimPrefix(n, ScratchPrefix), "_")
		at, err := strconv.ParseInt(secs, 10, 64)
		if err != nil || opts.Now().Sub(time.Unix(at, 0)) < opts.StaleAfter {
			continue // not named by a review, or a review still under way
		}
		// A review still under way (a long one) holds a connection to its
		// scratch database: left be. Without FORCE, a connection that comes
		// between the look and the drop fails the drop, not the review.
		inUse, err := tm.Query("review-scratch-in-use", map[string]any{"Name": n})
		if err != nil {
			return dropped, err
		}
		args, err := inUse.Args(nil)
		if err != nil {
			return dropped, err
		}
		var conns int64
		if err := target.QueryRow(ctx, inUse.SQL, args...).Scan(&conns); err != nil {
			return dropped, fmt.Errorf("review: look for connections to %s: %w", n, err)
		}
		if conns > 0 {
			continue
		}
		if _, err := target.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(n)); err != nil {
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

func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
		// PostgreSQL before 13 has no FORCE.
		if _, err2 := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)); err2 != nil {
			return err2
		}
	}
	return nil
}

func scratchName(now time.Time) (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("review: name the scratch database: %w", err)
	}
	return fmt.Sprintf("%s%d_%s", ScratchPrefix, now.Unix(), hex.EncodeToString(b)), nil
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

// txControl says whether the statement is BEGIN, START TRANSACTION,
// COMMIT, END or ROLLBACK.
func txControl(sql string) bool {
	toks := words(sql)
	if len(toks) == 0 {
		return false
	}
	for _, kw := range []string{"BEGIN", "START", "COMMIT", "END", "ROLLBACK"} {
		if is(toks[0], kw) {
			return true
		}
	}
	return false
}
