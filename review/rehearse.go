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

	"github.com/shepherd-db/shepherd/engine"
)

// ScratchPrefix starts the name of every scratch database a review
// creates: shepherd_review_<unix seconds>_<random> (an SQLite review's
// scratch file is that name with .db, in the temporary directory).
const ScratchPrefix = "shepherd_review_"

// Options say where and how to rehearse.
type Options struct {
	// DSN is the target, in any form shepherd reads (postgres://, a libpq
	// key=value string, mysql://, go-sql-driver's, sqlite:path). Only its
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
	// TempDir is where an SQLite review makes its scratch file (default
	// os.TempDir()).
	TempDir string
}

// Report is what a review found.
type Report struct {
	// Dialect is the target's: postgres, mysql or sqlite.
	Dialect  string    `json:"dialect"`
	Findings []Finding `json:"findings"`
	// Files and Statements count the new migrations rehearsed.
	Files      int `json:"files"`
	Statements int `json:"statements"`
	// Scratch is the scratch database (SQLite: file) this review created
	// and dropped.
	Scratch string `json:"scratch_database"`
	// Leftovers are earlier reviews' scratch databases this one dropped.
	Leftovers []string `json:"dropped_leftovers,omitempty"`
}

// Observed is what one statement did on the scratch database, in terms
// every dialect's rehearser fills in its own way. Tables are keys: the
// name, schema-qualified outside PostgreSQL's public schema.
type Observed struct {
	Locks     map[string]string // table → strongest lock seen, in the server's words (ACCESS EXCLUSIVE, LOCK=SHARED)
	Rewritten map[string]bool   // tables rewritten, copied or rebuilt while writes wait
	// Online marks tables the server showed it changes with reads and
	// writes going on (MySQL accepted ALGORITHM=INSTANT or INPLACE with
	// LOCK=NONE).
	Online map[string]bool
	// Method says how the server does it where that is not a lock mode
	// (a table copy (ALGORITHM=COPY)); Reason is the server's own reason
	// for refusing the online forms.
	Method, Reason map[string]string
	NoTx           bool // not rehearsed in a transaction (CREATE INDEX CONCURRENTLY)
}

func newObserved() Observed {
	return Observed{Locks: map[string]string{}, Rewritten: map[string]bool{}, Online: map[string]bool{},
		Method: map[string]string{}, Reason: map[string]string{}}
}

// refusedError is a statement the scratch database refused: a finding
// when the statement is one known to fail (a NOT NULL column without a
// default on SQLite), else the review's error.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// rehearser is one dialect's rehearsal: a scratch database it made beside
// the target, which it drops in close.
type rehearser interface {
	// replay applies a statement of an earlier migration.
	replay(ctx context.Context, sql string) error
	// tables lists the scratch database's tables, by key.
	tables(ctx context.Context) (map[string]bool, error)
	// key is the table key an action's table resolves to.
	key(schema, table string) string
	// rehearse runs one new statement, says what it did, and leaves it
	// applied for the statements after it.
	rehearse(ctx context.Context, sql string, actions []Action) (Observed, error)
	// notNullChecked says whether a SET NOT NULL can skip its scan.
	notNullChecked(ctx context.Context, a Action) bool
	// rows is the target's estimate of a table's rows (-1: never counted)
	// and whether the target has the table.
	rows(ctx context.Context, table string) (int64, bool)
	// explain puts the dialect's words into a finding where the
	// dialect-free ones do not fit it (MySQL has no NOT VALID, SQLite no
	// CONCURRENTLY): its why and its safe sequence.
	explain(f *Finding)
	// close drops the scratch database and closes the connections.
	close(ctx context.Context)
}

// Rehearse replays files[:firstNew] onto a scratch database on the
// target's server (SQLite: a temporary file), rehearses every statement of
// files[firstNew:] there and classifies what each did. The dialect is the
// DSN's. The scratch database is always dropped; the target is only read
// (its tables' row estimates). On an error the report says what was done
// so far (its Scratch database is dropped all the same).
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
	dsn, err := engine.ParseDSN(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	rep := &Report{Dialect: dsn.Dialect}
	var r rehearser
	switch dsn.Dialect {
	case "postgres":
		r, err = openPostgres(ctx, opts, rep)
	case "mysql":
		r, err = openMySQL(ctx, opts, dsn, rep)
	case "sqlite":
		r, err = openSQLite(ctx, opts, dsn, rep)
	default:
		err = fmt.Errorf("review: no rehearsal for %s databases", dsn.Dialect)
	}
	if err != nil {
		return rep, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		r.close(dctx)
	}()
	for _, f := range files[:firstNew] {
		for _, s := range f.Statements {
			if txControl(s.SQL) {
				continue
			}
			if err := r.replay(ctx, s.SQL); err != nil {
				return rep, fmt.Errorf("review: replay %s line %d on the scratch database: %w", f.Name, s.Line, err)
			}
		}
	}
	existing, err := r.tables(ctx)
	if err != nil {
		return rep, err
	}
	for _, f := range files[firstNew:] {
		if err := rehearseFile(ctx, r, f, existing, rep); err != nil {
			return rep, err
		}
	}
	for i := range rep.Findings {
		fd := &rep.Findings[i]
		fd.Rows, fd.OnTarget = r.rows(ctx, fd.Table)
		fd.Problem = fd.cost()
		r.explain(fd)
	}
	return rep, nil
}

// rehearseFile rehearses one new migration's statements and adds its
// findings to rep.
func rehearseFile(ctx context.Context, r rehearser, f File, existing map[string]bool, rep *Report) error {
	rep.Files++
	var fileActions []located
	var drops []Finding
	rebuilt := map[string]bool{}
	for _, s := range f.Statements {
		if txControl(s.SQL) {
			continue // the file's own BEGIN/COMMIT: the rehearsal has its transactions
		}
		rep.Statements++
		actions := Classify(s.SQL)
		for i := range actions {
			actions[i].Table = r.key(actions[i].Schema, actions[i].Table)
			if actions[i].RefTable != "" {
				actions[i].RefTable = r.key(actions[i].RefSchema, actions[i].RefTable)
			}
		}
		obs, err := r.rehearse(ctx, s.SQL, actions)
		var refused *refusedError
		if errors.As(err, &refused) && knownToFail(actions) {
			obs, err = newObserved(), nil
			for i := range actions {
				actions[i].Refused = refused.Error()
			}
		}
		if err != nil {
			return fmt.Errorf("review: %s line %d: %w", f.Name, s.Line, err)
		}
		found := map[string]bool{}
		add := func(fd Finding) {
			fd.File, fd.Line, fd.Statement = f.Path, s.Line, s.SQL
			found[fd.Table] = true
			if fd.Check == "drop-table" {
				drops = append(drops, fd)
				return
			}
			rep.Findings = append(rep.Findings, fd)
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
			add(fd)
			if ref, ok := referenced(fd, obs, existing); ok {
				add(ref)
			}
		}
		for t, rewritten := range obs.Rewritten {
			if rewritten && existing[t] && !found[t] {
				rebuilt[t] = true
				add(rebuild(t, obs))
			}
		}
	}
	for _, d := range drops {
		if !rebuilt[d.Table] { // a drop that is a rebuild's step is the rebuild's finding
			rep.Findings = append(rep.Findings, d)
		}
	}
	if fd, ok := combined(fileActions, existing); ok {
		fd.File = f.Path
		rep.Findings = append(rep.Findings, fd)
	}
	return nil
}

// knownToFail says whether a refused statement is one the review reports
// rather than fails on: an ADD COLUMN NOT NULL without a default.
func knownToFail(actions []Action) bool {
	for _, a := range actions {
		if a.Kind == AddColumn && a.NotNull && !a.HasDefault {
			return true
		}
	}
	return false
}

type located struct {
	s Statement
	a Action
}

func scratchName(now time.Time) (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("review: name the scratch database: %w", err)
	}
	return fmt.Sprintf("%s%d_%s", ScratchPrefix, now.Unix(), hex.EncodeToString(b)), nil
}

// stale says whether a scratch name is another review's, made at least
// opts.StaleAfter ago (a killed review's).
func stale(name string, opts Options) bool {
	rest, ok := strings.CutPrefix(name, ScratchPrefix)
	if !ok {
		return false
	}
	secs, _, _ := strings.Cut(rest, "_")
	at, err := strconv.ParseInt(secs, 10, 64)
	return err == nil && opts.Now().Sub(time.Unix(at, 0)) >= opts.StaleAfter
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
