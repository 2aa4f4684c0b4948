package engine

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// BenchmarkPlaybook measures the whole add-column playbook against the
// limit, end to end, on a realistic row: users(id bigint pk, username,
// created_at, payload of 100 bytes), SHEPHERD_BENCH_ROWS rows (default
// 1,000,000; 5,000,000 to see how it scales), email added, filled from
// lower(username) || '@example.com', then NOT NULL.
//
//   - shepherd: every phase, gates confirmed as an operator would
//     (add-column; deploy-readers and backfill; switch-writes with its
//     catch-up; enforce), each through Session.Run, at default settings
//     (or the Options playbookOptions gives).
//   - the limit: ADD COLUMN; one UPDATE of the whole table; SET NOT NULL
//     (MariaDB: MODIFY … NOT NULL; SQLite, which cannot add NOT NULL in
//     place: the table rebuilt, copied in one transaction, as shepherd's
//     enforce does), through shepherd's own connection settings.
//
// Each side runs on the table loaded afresh, in alternating order from one
// iteration to the next (-benchtime 2x runs both orders). An application
// writer runs throughout both sides: single-row inserts and updates, about
// 300 a second (SQLite: paced to its disk, see writerPace), inserting
// old-code rows (no email) until its deploy writes email (shepherd: at
// switch-writes; the limit: before its UPDATE, which could not catch up
// with rows inserted behind it), each timed; a failed write is counted,
// not fatal. writer-p99-ms is each write's own time;
// writer-p99-due-ms also counts the writes a stalled one held back, timed
// from when they were due (the writer sends one at a time: a write blocked
// for 10 s is one slow write, where an application would have had 3,000).
//
// Metrics: ratio-to-limit (limit time ÷ shepherd time: 1 is as fast as
// the limit), each phase's seconds and share of shepherd's time, each
// side's writer p50/p99/max and failed writes, the peak heap during
// shepherd, and what each side read and wrote, from the server's counters:
// PostgreSQL's pg_stat_user_tables for the table (seq-scans, seq-tup-read
// and idx-tup-fetch, per row of the table) and the WAL written; MariaDB's
// SHOW GLOBAL STATUS (Handler_read_rnd_next, full-scan reads, and
// Handler_read_next, index-range reads, per row; the redo written, from
// Innodb_lsn_current). MariaDB's counters
// are the whole server's: other sessions on a shared server add to them
// (the test server here writes about 100 MB of redo a second for other
// tests), so SHEPHERD_BENCH_MARIADB=private runs the MariaDB sides on a
// server of the benchmark's own (mariadbd must be installed).
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench Playbook -benchtime 1x -timeout 60m ./engine
//	SHEPHERD_BENCH_ROWS=5000000 … (the same, 5M rows)
//	SHEPHERD_BENCH_MARIADB=private … -bench 'Playbook/mysql' (MariaDB on a server of its own)
//	SHEPHERD_BENCH_BATCH_TIME=100ms … (shepherd at another --batch-time)
//	SHEPHERD_BENCH_IN_PLACE=1 … (MariaDB's backfill in place, not by a copy)
//	TMPDIR=/dev/shm … -bench Playbook/sqlite (the SQLite file on tmpfs: no disk noise)
//
// BenchmarkPlaybook/mysql-pt-osc measures pt-online-schema-change (from
// percona-toolkit) making the same change beside the same limit, and skips
// when pt-online-schema-change is not on PATH.
func BenchmarkPlaybook(b *testing.B) {
	rows := benchRows(b)
	opts := playbookOptions(b)
	for _, dialect := range testdb.Dialects() {
		b.Run(dialect, func(b *testing.B) { benchPlaybook(b, dialect, rows, opts, shepherdSide()) })
	}
	b.Run("mysql-pt-osc", func(b *testing.B) { benchPlaybook(b, "mysql", rows, opts, ptoscSide(b)) }) // skips without pt-online-schema-change
}

// playbookOptions are the Options shepherd's side runs with: the
// defaults, unless a variable asks otherwise (SHEPHERD_BENCH_BATCH_TIME,
// as for BenchmarkBackfill; SHEPHERD_BENCH_WORKERS).
func playbookOptions(b *testing.B) Options {
	var opts Options
	if v := os.Getenv("SHEPHERD_BENCH_BATCH_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("SHEPHERD_BENCH_BATCH_TIME=%q: want a duration such as 20ms", v)
		}
		opts.BatchTime = d
	}
	// SHEPHERD_BENCH_WORKERS: the backfill's --workers, measured against
	// the same limit in the same run.
	if v := os.Getenv("SHEPHERD_BENCH_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SHEPHERD_BENCH_WORKERS=%q: want a positive number of workers", v)
		}
		opts.Workers = n
	}
	// SHEPHERD_BENCH_IN_PLACE=1: MariaDB's backfill fills the table in
	// place (--in-place) instead of copying it, for the difference.
	opts.InPlace = os.Getenv("SHEPHERD_BENCH_IN_PLACE") == "1"
	return opts
}

// playbookSQL is a dialect's SQL for the end-to-end benchmark.
type playbookSQL struct {
	dialect string
	create  string
	load    func(rows int) []string
	settle  []string
	limit   []string // ADD COLUMN, the UPDATE, SET NOT NULL (SQLite: the rebuild, one transaction)
	// the writer: old-code insert (id, username, payload), new-code
	// insert (id, username, payload, email), update (payload, id)
	insertOld, insertNew, touch string
	wrong                       string // counts rows whose email is not lower(username)@example.com
	notNull                     string // 1 when email is NOT NULL
	plan                        string
}

const playbookTable = `CREATE TABLE users (
	id bigint PRIMARY KEY,
	username varchar(64) NOT NULL,
	created_at timestamp NOT NULL,
	payload varchar(200) NOT NULL
)`

// playbookPlan is the change, the same on every side.
const playbookPlan = `name: e2e-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(255), sqlite: text}
backfill:
  postgres: "lower(username) || '@example.com'"
  mysql: "concat(lower(username), '@example.com')"
  sqlite: "lower(username) || '@example.com'"
`

func playbookDialect(dialect string) playbookSQL {
	switch dialect {
	case "postgres":
		return playbookSQL{
			dialect: dialect, create: playbookTable, plan: playbookPlan,
			load: func(rows int) []string {
				return []string{fmt.Sprintf(`INSERT INTO users
SELECT g, 'User' || g, timestamp '2026-01-01' + g * interval '1 second', rpad('payload of row ' || g || ' ', 100, 'x')
FROM generate_series(1, %d) AS g`, rows)}
			},
			settle: []string{`VACUUM ANALYZE users`, `CHECKPOINT`},
			limit: []string{`ALTER TABLE users ADD COLUMN email text`,
				`UPDATE users SET email = lower(username) || '@example.com' WHERE email IS NULL`,
				`ALTER TABLE users ALTER COLUMN email SET NOT NULL`},
			insertOld: `INSERT INTO users (id, username, created_at, payload) VALUES ($1, $2, CURRENT_TIMESTAMP, $3)`,
			insertNew: `INSERT INTO users (id, username, created_at, payload, email) VALUES ($1, $2, CURRENT_TIMESTAMP, $3, $4)`,
			touch:     `UPDATE users SET payload = $1 WHERE id = $2`,
			wrong:     `SELECT count(*) FROM users WHERE email IS DISTINCT FROM lower(username) || '@example.com'`,
			notNull:   `SELECT CASE WHEN attnotnull THEN 1 ELSE 0 END FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`,
		}
	case "mysql":
		return playbookSQL{
			dialect: dialect, create: playbookTable + ` ENGINE=InnoDB`, plan: playbookPlan,
			load: func(rows int) []string {
				stmts := []string{`CREATE TABLE IF NOT EXISTS bench_digits (d int PRIMARY KEY)`,
					`INSERT IGNORE INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`}
				for lo := 0; lo < rows; lo += 100_000 {
					stmts = append(stmts, fmt.Sprintf(`INSERT INTO users
SELECT n, CONCAT('User', n), TIMESTAMP '2026-01-01 00:00:00' + INTERVAL n SECOND, RPAD(CONCAT('payload of row ', n, ' '), 100, 'x')
FROM (SELECT %d + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 1 AS n
      FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f) AS s
WHERE n <= %d ORDER BY n`, lo, rows))
				}
				return stmts
			},
			settle: []string{`ANALYZE TABLE users`},
			limit: []string{`ALTER TABLE users ADD COLUMN email varchar(255), ALGORITHM=INSTANT`,
				`UPDATE users SET email = concat(lower(username), '@example.com') WHERE email IS NULL`,
				`ALTER TABLE users MODIFY email varchar(255) NOT NULL`},
			insertOld: `INSERT INTO users (id, username, created_at, payload) VALUES (?, ?, CURRENT_TIMESTAMP, ?)`,
			insertNew: `INSERT INTO users (id, username, created_at, payload, email) VALUES (?, ?, CURRENT_TIMESTAMP, ?, ?)`,
			touch:     `UPDATE users SET payload = ? WHERE id = ?`,
			wrong:     `SELECT count(*) FROM users WHERE NOT (email <=> concat(lower(username), '@example.com'))`,
			notNull:   `SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email' AND is_nullable = 'NO'`,
		}
	default:
		return playbookSQL{
			dialect: dialect, create: playbookTable, plan: playbookPlan,
			load: func(rows int) []string {
				return []string{fmt.Sprintf(`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d)
INSERT INTO users
SELECT n, 'User' || n, datetime('2026-01-01', '+' || n || ' seconds'), substr('payload of row ' || n || ' ' || '%s', 1, 100) FROM s`, rows, strings.Repeat("x", 100))}
			},
			settle: []string{`ANALYZE`},
			limit: []string{`ALTER TABLE users ADD COLUMN email text`,
				`UPDATE users SET email = lower(username) || '@example.com' WHERE email IS NULL`,
				`CREATE TABLE users_limit (
	id bigint PRIMARY KEY,
	username varchar(64) NOT NULL,
	created_at timestamp NOT NULL,
	payload varchar(200) NOT NULL,
	email text NOT NULL
);
INSERT INTO users_limit SELECT id, username, created_at, payload, email FROM users;
DROP TABLE users;
ALTER TABLE users_limit RENAME TO users`},
			insertOld: `INSERT INTO users (id, username, created_at, payload) VALUES (?, ?, CURRENT_TIMESTAMP, ?)`,
			insertNew: `INSERT INTO users (id, username, created_at, payload, email) VALUES (?, ?, CURRENT_TIMESTAMP, ?, ?)`,
			touch:     `UPDATE users SET payload = ? WHERE id = ?`,
			wrong:     `SELECT count(*) FROM users WHERE email IS NOT lower(username) || '@example.com'`,
			notNull:   `SELECT "notnull" FROM pragma_table_info('users') WHERE name = 'email'`,
		}
	}
}

// sideFigures are one side's measurements in one iteration.
type sideFigures struct {
	total  time.Duration
	phases []phaseTime // in order
	// batches per phase, from the progress events
	batches  map[string]int
	writer   writerFigures
	counters map[string]float64 // the server's counters' deltas
	peakHeap heapPeaks
}

type phaseTime struct {
	id string
	d  time.Duration
}

// side runs one side (the limit, shepherd, pt-osc) on a freshly loaded
// table, with the writer running, and returns its figures (the writer's
// and the counters are filled in by benchPlaybook).
type side struct {
	name string
	run  func(ctx context.Context, b *testing.B, env *playbookEnv, w *playbookWriter) sideFigures
}

// playbookEnv is one iteration's database.
type playbookEnv struct {
	db   *testdb.DB
	q    playbookSQL
	rows int
	opts Options
}

func limitSide() side { return side{name: "limit", run: runLimit} }

func shepherdSide() side { return side{name: "shepherd", run: runShepherd} }

func benchPlaybook(b *testing.B, dialect string, rows int, opts Options, contender side) {
	newDB := func() *testdb.DB { return testdb.New(b, dialect) }
	if dialect == "mysql" && os.Getenv("SHEPHERD_BENCH_MARIADB") == "private" {
		newDB = benchMariaDBServer(b)
	}
	var limits, others []sideFigures
	for i := range b.N {
		b.StopTimer()
		env := &playbookEnv{db: newDB(), q: playbookDialect(dialect), rows: rows, opts: opts}
		env.db.Durable()
		// Every connection of the test's pool ends after its statement:
		// PostgreSQL counts a backend's reads into pg_stat_user_tables
		// only when it flushes them, at the latest when it exits.
		env.db.SQL.SetMaxIdleConns(0)
		order := []side{limitSide(), contender}
		if i%2 == 1 {
			order = []side{contender, limitSide()}
		}
		for _, s := range order {
			f := runSide(b, env, s)
			if s.name == "limit" {
				limits = append(limits, f)
			} else {
				others = append(others, f)
			}
		}
	}
	reportPlaybook(b, rows, contender.name, limits, others)
}

// benchMariaDBServer starts a MariaDB server of the benchmark's own, with the
// InnoDB sizes of Debian's default server (a 128 MB buffer pool, a 96 MB
// redo log), and returns what makes a fresh database on it. Its counters
// (the redo written above all) are the benchmark's alone: on the shared
// server other sessions' writes swamp them.
func benchMariaDBServer(b *testing.B) func() *testdb.DB {
	server, install := mariaDBPrograms(b, "SHEPHERD_BENCH_MARIADB=private starts a MariaDB server of its own")
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	installMariaDB(b, install, dir, data)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	root := runMariaDB(b, server, dir, data, "bench-mariadb", port,
		"--innodb-buffer-pool-size=128M", "--innodb-log-file-size=96M")
	n := 0
	return func() *testdb.DB {
		n++
		name := fmt.Sprintf("shepherd_bench_%d", n)
		if _, err := root.Exec("CREATE DATABASE " + name); err != nil {
			b.Fatal(err)
		}
		return testdb.Attach(b, "mysql", fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", port, name))
	}
}

// runSide loads the table, starts the writer, runs the side, stops the
// writer and reads the counters, and checks the result: every email
// right, NOT NULL in force.
func runSide(b *testing.B, env *playbookEnv, s side) sideFigures {
	ctx := context.Background()
	db, q := env.db, env.q
	db.Exec("DROP TABLE IF EXISTS users")
	db.Exec(q.create)
	for _, stmt := range q.load(env.rows) {
		db.Exec(stmt)
	}
	for _, stmt := range q.settle {
		db.Exec(stmt)
	}
	before := readCounters(b, db)
	w := newPlaybookWriter(b, db, q, env.rows)
	writerCtx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() { w.run(writerCtx); close(writerDone) }()

	runtime.GC()
	heapCtx, stopHeap := context.WithCancel(ctx)
	peak := make(chan heapPeaks)
	go func() { peak <- samplePeakHeap(heapCtx) }()
	if s.name != limitSide().name {
		b.StartTimer() // ns/op is the contender's time: shepherd's, or pt-osc's
	}
	f := s.run(ctx, b, env, w)
	b.StopTimer()
	stopHeap()
	f.peakHeap = <-peak
	stopWriter()
	<-writerDone
	w.db.Close()
	f.writer = w.figures()
	if n := f.writer.failed; n > 0 {
		b.Logf("%s: %d application writes failed, the first: %v", s.name, n, w.firstErr)
	}
	f.counters = deltas(before, readCounters(b, db))

	if wrong := db.One(q.wrong); wrong != "0" {
		b.Fatalf("%s: %s rows have a wrong email", s.name, wrong)
	}
	if nn := db.One(q.notNull); nn != "1" {
		b.Fatalf("%s: email is not NOT NULL (%q)", s.name, nn)
	}
	return f
}

// runLimit is ADD COLUMN; UPDATE; SET NOT NULL through a connection with
// shepherd's settings, the writer switched to new code before the UPDATE.
func runLimit(ctx context.Context, b *testing.B, env *playbookEnv, w *playbookWriter) sideFigures {
	eng, err := Open(ctx, env.db.DSN)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	defer eng.Close()
	names := []string{"add-column", "update", "not-null"}
	var f sideFigures
	start := time.Now()
	for i, stmt := range env.q.limit {
		if i == 1 {
			w.deploy()
		}
		t := time.Now()
		if err := execAll(ctx, eng.db, stmt); err != nil {
			b.Fatalf("the limit's %s: %v", names[i], err)
		}
		f.phases = append(f.phases, phaseTime{names[i], time.Since(t)})
	}
	f.total = time.Since(start)
	return f
}

// execAll runs statements separated by ";\n" in one transaction.
func execAll(ctx context.Context, db *sql.DB, stmts string) error {
	parts := strings.Split(stmts, ";\n")
	if len(parts) == 1 {
		_, err := db.ExecContext(ctx, stmts)
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range parts {
		if _, err := tx.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// runShepherd runs the playbook's phases one Session.Run at a time, as an
// operator confirming each gate would.
func runShepherd(ctx context.Context, b *testing.B, env *playbookEnv, w *playbookWriter) sideFigures {
	eng, err := Open(ctx, env.db.DSN)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	defer eng.Close()
	f := sideFigures{batches: map[string]int{}}
	var mu sync.Mutex
	opts := env.opts
	opts.Emit = func(e Event) {
		if e.Event == EventProgress && e.BatchSize > 0 {
			mu.Lock()
			f.batches[e.Phase]++
			mu.Unlock()
		}
	}
	s, err := eng.Start(ctx, mustPlan(b, env.q.plan), opts)
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	defer s.Close()
	steps := []struct {
		phase   string
		confirm []string
		deploy  bool // the writer's code writes email from here on
	}{
		{"add-column", nil, false},
		{"backfill", []string{"deploy-readers"}, false},
		{"switch-writes", []string{"switch-writes"}, true},
		{"enforce", nil, false},
	}
	start := time.Now()
	for _, st := range steps {
		if st.deploy {
			w.deploy()
		}
		confirms := map[string]bool{}
		for _, c := range st.confirm {
			confirms[c] = true
		}
		t := time.Now()
		out, err := s.Run(ctx, st.phase, confirms)
		if err != nil || out != Reached {
			b.Fatalf("%s: %v, %v", st.phase, out, err)
		}
		f.phases = append(f.phases, phaseTime{st.phase, time.Since(t)})
	}
	f.total = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	f.batches = maps.Clone(f.batches)
	return f
}

// playbookWriter is the application: about 300 single-row writes a
// second, alternating an insert past the table's end (old code: no email;
// new code, once newCode is set: with it) and an update of a random
// existing row's payload. Each write is timed; a failed one is counted.
type playbookWriter struct {
	db      *sql.DB
	q       playbookSQL
	next    int64
	rows    int64
	newCode atomic.Bool
	// interval is the pace: 1/300 s, on SQLite what writerPace gives.
	interval time.Duration
	// inFlight is held for each write: deploy waits out the write an
	// old-code check may have started.
	inFlight sync.Mutex
	off      bool // SHEPHERD_BENCH_WRITES=0: no application writes

	lat      []time.Duration // each write's own time
	sched    []time.Duration // and the writes a stall held back, from when they were due
	failed   int
	firstErr error
}

func newPlaybookWriter(b *testing.B, db *testdb.DB, q playbookSQL, rows int) *playbookWriter {
	var pool *sql.DB
	if q.dialect == "sqlite" {
		var err error
		pool, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(db.DSN, "sqlite:")+"?_pragma=busy_timeout(5000)")
		if err != nil {
			b.Fatal(err)
		}
	} else {
		pool = testdb.Attach(b, q.dialect, db.DSN).SQL
	}
	pool.SetMaxOpenConns(1)
	w := &playbookWriter{db: pool, q: q, next: int64(rows) + 1_000_000_000, rows: int64(rows), interval: time.Second / 300}
	// SHEPHERD_BENCH_WRITES=0 measures both sides with no application
	// writing: what the server can do with all its cores (--workers).
	if v := os.Getenv("SHEPHERD_BENCH_WRITES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.Fatalf("SHEPHERD_BENCH_WRITES=%q: want the application's writes a second (0: none)", v)
		}
		if n == 0 {
			w.off = true
			return w
		}
		w.interval = time.Second / time.Duration(n)
	}
	if q.dialect == "sqlite" {
		w.interval = writerPace(b, func() error {
			_, err := pool.Exec(q.touch, "paced", 1+rand.Int64N(int64(rows)))
			return err
		})
	}
	return w
}

func (w *playbookWriter) run(ctx context.Context) {
	if w.off {
		return
	}
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.inFlight.Lock()
		start := time.Now()
		var err error
		if i%2 == 0 {
			w.next++
			name := fmt.Sprintf("App%d", w.next)
			if w.newCode.Load() {
				_, err = w.db.ExecContext(ctx, w.q.insertNew, w.next, name, "written by the app", strings.ToLower(name)+"@example.com")
			} else {
				_, err = w.db.ExecContext(ctx, w.q.insertOld, w.next, name, "written by the app")
			}
		} else {
			_, err = w.db.ExecContext(ctx, w.q.touch, fmt.Sprintf("touched at %d", i), 1+rand.Int64N(w.rows))
		}
		w.inFlight.Unlock()
		d := time.Since(start)
		if ctx.Err() != nil {
			// The end of the run cut the write short: it counts with the
			// time it had waited (a write still blocked by the limit's last
			// statement, say), never as a failure.
			w.record(d)
			return
		}
		if err != nil {
			w.failed++
			if w.firstErr == nil {
				w.firstErr = err
			}
			continue
		}
		w.record(d)
	}
}

// record keeps a write's time, and the writes it held back.
func (w *playbookWriter) record(d time.Duration) {
	w.lat = append(w.lat, d)
	// The writes a stalled one held back: the application would have sent
	// one every interval, and each would have waited the rest of the
	// stall (the ticker drops the ticks it missed).
	w.sched = append(w.sched, d)
	for held := d - w.interval; held > w.interval; held -= w.interval {
		w.sched = append(w.sched, held)
	}
}

// deploy switches the writer to new code: once it returns, every insert
// writes email (the write in flight, if any, has ended).
func (w *playbookWriter) deploy() {
	w.newCode.Store(true)
	w.inFlight.Lock()
	//lint:ignore SA2001 the empty critical section waits out the write in flight
	w.inFlight.Unlock()
}

type writerFigures struct {
	lat, sched []time.Duration
	failed     int
}

func (w *playbookWriter) figures() writerFigures { return writerFigures{w.lat, w.sched, w.failed} }

// readCounters reads the server's counters: for PostgreSQL, the table's
// scans and the WAL position; for MariaDB/MySQL, the server's handler
// reads and its redo position (the whole server's); none for SQLite.
func readCounters(b *testing.B, db *testdb.DB) map[string]float64 {
	out := map[string]float64{}
	var rows [][]string
	switch db.Dialect {
	case "postgres":
		// A backend reports its reads when it goes idle (at most every
		// second or so) or exits: the sides close their connections
		// before this, and a moment lets the last exits land.
		time.Sleep(1500 * time.Millisecond)
		r := db.Query(`SELECT coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), coalesce(idx_tup_fetch, 0), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')
FROM pg_stat_user_tables WHERE relname = 'users' AND schemaname = current_schema()`)
		if len(r) != 1 {
			b.Fatalf("pg_stat_user_tables has %d rows for users", len(r))
		}
		for i, k := range []string{"seq-scans", "seq-tup-read", "idx-tup-fetch", "wal"} {
			rows = append(rows, []string{k, r[0][i]})
		}
	case "mysql":
		rows = db.Query(`SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_rnd_next', 'Handler_read_next', 'Handler_update', 'Innodb_lsn_current')`)
	}
	for _, r := range rows {
		var v float64
		if _, err := fmt.Sscan(r[1], &v); err != nil {
			b.Fatalf("counter %s: %q: %v", r[0], r[1], err)
		}
		out[r[0]] = v
	}
	return out
}

func deltas(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		out[k] = v - before[k]
	}
	return out
}

// reportPlaybook reports the means over the iterations.
func reportPlaybook(b *testing.B, rows int, name string, limits, others []sideFigures) {
	n := float64(len(limits))
	if n == 0 || len(others) == 0 {
		return
	}
	sum := func(fs []sideFigures, pick func(sideFigures) float64) float64 {
		s := 0.0
		for _, f := range fs {
			s += pick(f)
		}
		return s
	}
	limit := sum(limits, func(f sideFigures) float64 { return f.total.Seconds() })
	other := sum(others, func(f sideFigures) float64 { return f.total.Seconds() })
	b.ReportMetric(limit/other, "ratio-to-limit")
	b.ReportMetric(limit/n, "limit-s")
	b.ReportMetric(other/n, name+"-s")
	for _, side := range []struct {
		name string
		fs   []sideFigures
	}{{"limit", limits}, {name, others}} {
		total := sum(side.fs, func(f sideFigures) float64 { return f.total.Seconds() })
		for i, p := range side.fs[0].phases {
			s := sum(side.fs, func(f sideFigures) float64 { return f.phases[i].d.Seconds() })
			b.ReportMetric(s/n, side.name+"-"+p.id+"-s")
			b.ReportMetric(s/total, side.name+"-"+p.id+"-share")
		}
		if side.name == "shepherd" {
			for _, p := range side.fs[0].phases {
				if bs := sum(side.fs, func(f sideFigures) float64 { return float64(f.batches[p.id]) }); bs > 0 {
					b.ReportMetric(bs/n, side.name+"-"+p.id+"-batches")
				}
			}
		}
		var lat, sched []time.Duration
		failed := 0
		for _, f := range side.fs {
			lat = append(lat, f.writer.lat...)
			sched = append(sched, f.writer.sched...)
			failed += f.writer.failed
		}
		b.ReportMetric(percentileMS(lat, 50), side.name+"-writer-p50-ms")
		b.ReportMetric(percentileMS(lat, 99), side.name+"-writer-p99-ms")
		b.ReportMetric(percentileMS(lat, 100), side.name+"-writer-max-ms")
		// p99 counting the writes a stall held back (coordinated
		// omission): a writer blocked 10 s holds back 3,000 writes, and
		// their latencies are what the application's users see.
		b.ReportMetric(percentileMS(sched, 99), side.name+"-writer-p99-due-ms")
		b.ReportMetric(float64(failed)/n, side.name+"-failed-writes")
		perRow := func(k string) float64 {
			return sum(side.fs, func(f sideFigures) float64 { return f.counters[k] }) / n / float64(rows)
		}
		mb := func(k string) float64 {
			return sum(side.fs, func(f sideFigures) float64 { return f.counters[k] }) / n / (1 << 20)
		}
		if _, ok := side.fs[0].counters["seq-scans"]; ok {
			b.ReportMetric(sum(side.fs, func(f sideFigures) float64 { return f.counters["seq-scans"] })/n, side.name+"-seq-scans")
			b.ReportMetric(perRow("seq-tup-read"), side.name+"-seq-tup-read-per-row")
			b.ReportMetric(perRow("idx-tup-fetch"), side.name+"-idx-tup-fetch-per-row")
			b.ReportMetric(mb("wal"), side.name+"-wal-MB")
		}
		if _, ok := side.fs[0].counters["Innodb_lsn_current"]; ok {
			b.ReportMetric(perRow("Handler_read_rnd_next"), side.name+"-rnd-next-per-row")
			b.ReportMetric(perRow("Handler_read_next"), side.name+"-read-next-per-row")
			b.ReportMetric(perRow("Handler_update"), side.name+"-updates-per-row")
			b.ReportMetric(mb("Innodb_lsn_current"), side.name+"-redo-MB")
		}
	}
	var heap heapPeaks
	for _, f := range others {
		heap.objects = max(heap.objects, f.peakHeap.objects)
		heap.live = max(heap.live, f.peakHeap.live)
	}
	b.ReportMetric(float64(heap.objects)/(1<<20), name+"-peak-heap-MB")
	b.ReportMetric(float64(heap.live)/(1<<20), name+"-peak-live-heap-MB")
}

// percentileMS is the p-th percentile (100: the maximum), in milliseconds.
func percentileMS(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, max(0, (len(s)*p+99)/100-1))
	return float64(s[i].Microseconds()) / 1000
}
