// Package engine runs plan phases against a live database: it applies DDL,
// backfills in batches, verifies on the real data, keeps state and the log in
// the database, and holds the runner lock. It reports what it does as Events
// and never prints.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/shepherd-db/shepherd/internal/version"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// Options tune a session. The zero value is the defaults.
type Options struct {
	// Operator is who runs the plan, for the log; default user@host.
	Operator string
	// LockTimeout bounds how long one DDL statement waits for its lock
	// before it gives up and is retried (default 500ms).
	LockTimeout time.Duration
	// BatchSize pins the backfill batch size; 0 sizes batches to BatchTime.
	BatchSize int
	// BatchTime is the target duration of one backfill batch (default 50ms).
	BatchTime time.Duration
	// BatchTimeout bounds how long one batch's statement runs before the
	// server cancels it (default: 100 × BatchTime, at least 10s; see
	// timeout.go). Every other statement of shepherd's runs without a
	// statement timeout, whatever the database sets.
	BatchTimeout time.Duration
	// MaxRate caps the backfill's rows per second; 0 means no cap.
	MaxRate float64
	// Workers splits the backfill's walk of a table with an integer key
	// among that many connections (workers.go); 0 and 1 walk it with one,
	// WorkersAuto lets the server's settings choose. SQLite walks with one.
	Workers int
	// InPlace fills add-column's new column in place where the backfill
	// would copy the table (MariaDB, shadow.go).
	InPlace bool
	// MaxReplicaLag holds a batched phase between batches while a replica
	// is further behind than this (replica.go); 0 means the default, 1s;
	// below 0 turns the check off.
	MaxReplicaLag time.Duration
	// Pause, when set, can hold a batched phase between two batches (see
	// Pauser); nil never pauses.
	Pause Pauser
	// Failpoint, when set, is called at every point where a crash must
	// leave the database and the recorded state consistent and the phase
	// retryable: before and after each statement, before each commit, after
	// each batch; and in Start, between reading the state and the schema.
	// The crash tests kill the process there.
	Failpoint func(point string)
	// AllowLock is the strongest lock a statement may take when the
	// database refuses its least-locking form for this table (MySQL:
	// LOCK=NONE on a table with a FULLTEXT index): "" (none: such a
	// statement stops with a *LockRequiredError), "shared" (writes wait)
	// or "exclusive" (reads and writes wait).
	AllowLock string
	// DropData lets add-column's rollback drop its column although it holds
	// values nothing can give back (what the application wrote there; on
	// rename-column, values the old column does not have): without it the
	// rollback refuses, naming the rows.
	DropData bool
	// Emit receives every event. It is called from the goroutine that runs
	// the session and must not block for long.
	Emit func(Event)
	// LeaseTTL is how long SQLite's runner lock (a lease row) lasts without
	// renewal; it is renewed four times as often (default 60s).
	LeaseTTL time.Duration
	// Version is which shepherd runs, recorded in every shepherd_log row
	// so that a report can be pinned to a build (default: this binary's,
	// from its build info).
	Version string
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 500 * time.Millisecond
	}
	if o.BatchTime <= 0 {
		o.BatchTime = 50 * time.Millisecond
	}
	if o.Operator == "" {
		o.Operator = defaultOperator()
	}
	if o.Emit == nil {
		o.Emit = func(Event) {}
	}
	if o.Failpoint == nil {
		o.Failpoint = func(string) {}
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = defaultLeaseTTL
	}
	if o.Version == "" {
		o.Version = version.Get().Short()
	}
	return o
}

func defaultOperator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// Engine is an open connection to one database.
type Engine struct {
	dsn DSN
	d   dialect
	db  *sql.DB
	sql *templates.Set
}

// Open connects to the database the DSN names and checks that it answers.
// Errors never carry the DSN's password.
func Open(ctx context.Context, dsn string) (*Engine, error) {
	parsed, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	d, err := dialectFor(parsed.Dialect)
	if err != nil {
		return nil, err
	}
	set, err := templates.Load(d.name(), d.quote, d.placeholder)
	if err != nil {
		return nil, err
	}
	db, err := d.open(ctx, parsed)
	if err != nil {
		return nil, &ConnectError{DSN: parsed.String(), Err: parsed.scrub(err)}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, &ConnectError{DSN: parsed.String(), Err: parsed.scrub(err)}
	}
	return &Engine{dsn: parsed, d: d, db: db, sql: set}, nil
}

// Close closes the connection pool.
func (e *Engine) Close() error { return e.db.Close() }

// Dialect names the database kind: postgres, mysql or sqlite.
func (e *Engine) Dialect() string { return e.d.name() }

// DSN is the connection string with its password masked.
func (e *Engine) DSN() string { return e.dsn.String() }

// Session is one plan, checked against the live schema and holding the
// runner lock for its table. Close releases the lock.
type Session struct {
	*Engine
	// emitMu serializes events: a phase may emit from a goroutine of its
	// own too (an index build's progress watcher, index_build.go).
	emitMu sync.Mutex
	plan   *phases.Plan
	pb     *phases.Playbook
	opts   Options
	// tunedReplicaLag is a live `shepherd tune --max-replica-lag`, over
	// opts' own (control_live.go); 0 when none.
	tunedReplicaLag time.Duration
	table           *Table
	key             string
	keys            []string // a composite key's columns; nil for a single-column key (compositekey.go)
	// rowid, when set, is what the batches walk instead of the key: SQLite's
	// rowid, under this name (rowidwalk.go).
	rowid string
	// refColumns are the referenced columns of a foreign key, resolved
	// against the live referenced table.
	refColumns []string
	// shadow is how add-column's backfill would run on the table as the
	// last check read it: by a copy, or in place and why (shadow.go).
	shadow shadowChoice
	state  map[string]*phaseState
	lock   runnerLock
	// batchTxDefault is set once the server refused the dialect's batch
	// isolation level: batches then begin as the driver does.
	batchTxDefault bool
	// touched marks gates confirmed in this session, for the
	// "too soon" warning before the point of no return.
	touched map[string]time.Time
	// warnings are what checking the plan against the table found that the
	// operator should know (a rename's dependents), said at the start.
	warnings []string
	// changed marks the phases whose changes committed in this session
	// since they last started (effect.go).
	changed map[string]bool
	// effectColumn is set once shepherd_state is known to have took_effect,
	// changedColumn once it has rows_changed; tablesComplete once every
	// table and column of shepherd's is known to be there (stateComplete).
	effectColumn, changedColumn, tablesComplete bool
	// runner is who runs the plan: this session once it holds the lock;
	// before, the holder of the plan's lock as read, if any.
	runner *Runner
	// watchBatch, set by tests only, sees what a batch reads from inside
	// its transaction: called there before its statements ("begin") and
	// after them, before the checkpoint's write ("end"); and, with no
	// transaction, at each search of a walk of duplicates or of NULL rows
	// ("search"; "search-past" for a search of NULL rows past a key).
	watchBatch func(ctx context.Context, tx *sql.Tx, at string, script templates.Script, args [][]any)
}

// Start checks the plan against the live schema and the recorded state,
// takes the runner lock for the plan's table and registers the plan. It
// changes nothing when the plan does not fit, and returns a *SchemaError,
// *PlanChangedError or *LockHeldError saying why.
func (e *Engine) Start(ctx context.Context, plan *phases.Plan, opts Options) (*Session, error) {
	s := e.newSession(plan, opts)
	// A live runner at work on the table refuses this one at once, before
	// anything waits behind its writes (SQLite's one writer).
	if held := s.heldByAnother(ctx); held != nil {
		return nil, held
	}
	// Where shepherd's tables are not all there yet, the read-only checks
	// come first: nothing is made before the plan is known to fit. Where
	// they are, the lock comes first and the checks run once, under it
	// (the lock's own row is gone when a check refuses the plan).
	complete, err := s.stateComplete(ctx)
	if err != nil {
		return nil, err
	}
	if !complete {
		if err := s.checkUnlocked(ctx); err != nil {
			return nil, err
		}
		if err := s.ensureStateTables(ctx); err != nil {
			return nil, err
		}
	}
	lock, err := e.d.lock(ctx, s)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	// Under the lock (and again, where the checks ran before it: another
	// runner may have moved on between those reads and the lock), the state
	// and the table are read and the plan checked against them.
	if err := s.check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.runner = s.ownRunner()
	if err := s.checkHash(ctx, true); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.register(ctx); err != nil {
		s.Close()
		return nil, err
	}
	for _, w := range s.warnings {
		s.warn("", "%s", w)
	}
	return s, nil
}

// checkUnlocked is check before the lock is taken. The checks read the
// state, then the schema, without the lock: a runner at work commits a phase
// in between, and they disagree (a column that the state says is not added
// yet). While that runner holds the lock, it is the answer: nothing
// touched, and no advice to undo its work. Once it is gone, its work is
// read whole.
func (s *Session) checkUnlocked(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		if held := s.heldByAnother(ctx); held != nil {
			return held
		}
		return s.check(ctx)
	}
	return nil
}

func (e *Engine) newSession(plan *phases.Plan, opts Options) *Session {
	return &Session{Engine: e, plan: plan.In(e.d.name()), pb: plan.PlaybookDef(), opts: opts.withDefaults(), touched: map[string]time.Time{}, changed: map[string]bool{}}
}

// check reads the plan's recorded state and checks the plan against it and
// the live schema, without writing anything: the first half of Start (and
// again under the lock), and all of Inspect.
func (s *Session) check(ctx context.Context) error {
	if s.plan.Schema != "" && !supportsSchema(s.d) {
		return s.schemaError(fmt.Sprintf("schema: %s has no schemas; remove schema: from the plan", s.d.name()))
	}
	if err := s.loadState(ctx); err != nil {
		return err
	}
	if err := s.checkHash(ctx, false); err != nil {
		return err
	}
	if s.lock == nil {
		s.runner = s.readRunner(ctx)
	}
	// Between the state and the schema another runner's phase may commit.
	s.opts.Failpoint("start:state-read")
	if err := s.refreshTable(ctx); err != nil {
		return err
	}
	s.warnings = nil // said once, from the last check
	if err := s.checkSchema(ctx, s.table, s.progress()); err != nil {
		return err
	}
	choice, err := s.chooseShadow(ctx)
	if err != nil {
		return err
	}
	s.shadow = choice
	var inUse *CopyInUseError
	if err := s.guardCopy(ctx, ""); errors.As(err, &inUse) {
		s.warnings = append(s.warnings, inUse.Refusal())
	} else if err != nil {
		return err
	}
	s.warnings = append(s.warnings, s.blockingWarnings()...)
	s.warnings = append(s.warnings, s.triggerWarnings()...)
	return nil
}

// Warnings are what the operator should know before running the plan on
// this table, as `plan --db` and the start of a run say them.
func (s *Session) Warnings() []string { return s.warnings }

// Server names the database server and its version, where the dialect
// knows it.
func (e *Engine) Server() string { return e.d.server() }

// Close releases the runner lock.
func (s *Session) Close() {
	if s.lock != nil {
		s.lock.release()
		s.lock = nil
	}
}

// Plan is the session's plan.
func (s *Session) Plan() *phases.Plan { return s.plan }

// Progress is every phase's status.
func (s *Session) Progress() phases.Progress { return s.progress() }

// PhaseInfo is one phase's recorded state, for screens.
type PhaseInfo struct {
	ID         string
	Status     phases.Status
	StartedAt  time.Time
	FinishedAt time.Time
	RunBy      string
	RowsDone   int64
	Checkpoint string
	Detail     string
	// TookEffect is whether the phase changed the database: a failure
	// that did not is not in force (phases.Effective).
	TookEffect bool
	// Runner, for a running phase, is who holds the plan's runner lock;
	// nil when nobody does. A running phase without a live runner is
	// stopped: a run resumes it.
	Runner *Runner
}

// Phases lists the recorded state of every phase, in playbook order.
func (s *Session) Phases() []PhaseInfo {
	out := make([]PhaseInfo, 0, len(s.pb.Phases))
	for _, ph := range s.pb.Phases {
		st := s.st(ph.ID)
		info := PhaseInfo{ID: ph.ID, Status: st.Status, RunBy: st.RunBy, RowsDone: st.RowsDone, Detail: st.Detail, TookEffect: st.TookEffect}
		if st.StartedAt != nil {
			info.StartedAt = *st.StartedAt
		}
		if st.FinishedAt != nil {
			info.FinishedAt = *st.FinishedAt
		}
		if st.Checkpoint != nil {
			info.Checkpoint = s.checkpointShown(*st.Checkpoint)
		}
		if st.Status == phases.Running && s.runner != nil {
			r := *s.runner
			info.Runner = &r
		}
		out = append(out, info)
	}
	return out
}

func (s *Session) refreshTable(ctx context.Context) error {
	t, err := s.d.introspect(ctx, s.db, s.sql, s.plan.Schema, s.plan.Table)
	if errors.Is(err, errNoTable) {
		tables, _ := s.listTables(ctx, s.plan.Schema)
		return s.schemaError(fmt.Sprintf("table: %s has no table %q (tables: %s)", where(s.plan.Schema), s.plan.Table, listOrNone(tables)))
	}
	if err != nil {
		return fmt.Errorf("read the schema of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	s.table = t
	return nil
}

// where names the place of a schema's tables, for messages.
func where(schema string) string {
	if schema != "" {
		return "schema " + schema
	}
	return "the database"
}

// listTables lists the tables of schema ("" for the connection's own).
func (s *Session) listTables(ctx context.Context, schema string) ([]string, error) {
	rows, err := s.query(ctx, s.db, "list-tables", sqlData{Schema: schema}, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, s.dsn.scrub(err)
		}
		names = append(names, n)
	}
	return names, s.dsn.scrub(rows.Err())
}

// errNoTable is what introspect returns for a table that does not exist.
var errNoTable = errors.New("no such table")
