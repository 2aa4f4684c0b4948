package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// benchRows is how many rows a backfill benchmark loads:
// SHEPHERD_BENCH_ROWS, by default 1,000,000.
func benchRows(b *testing.B) int {
	v := os.Getenv("SHEPHERD_BENCH_ROWS")
	if v == "" {
		return 1_000_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("SHEPHERD_BENCH_ROWS=%q: want a positive number of rows", v)
	}
	return n
}

// BenchmarkBackfill measures shepherd's backfill against the limit: on the
// same freshly loaded table (SHEPHERD_BENCH_ROWS rows, default 1,000,000),
// one UPDATE of the whole table, then shepherd's backfill at its defaults,
// with an application writer (single-row inserts and updates, about 300 a
// second) timed before and during the backfill. One sub-benchmark per
// dialect; the servers come from the tests' SHEPHERD_TEST_* variables.
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench Backfill -benchtime 1x ./engine
//
// PostgreSQL test databases are made durable first (synchronous_commit
// back on): every batch pays its commit's flush, as in production.
func BenchmarkBackfill(b *testing.B) {
	rows := benchRows(b)
	// SHEPHERD_BENCH_BATCH_TIME runs the backfill with another
	// --batch-time, to see what a target costs and buys.
	var opts Options
	if v := os.Getenv("SHEPHERD_BENCH_BATCH_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("SHEPHERD_BENCH_BATCH_TIME=%q: want a duration such as 20ms", v)
		}
		opts.BatchTime = d
	}
	for _, dialect := range testdb.Dialects() {
		b.Run(dialect, func(b *testing.B) { benchBackfill(b, dialect, rows, opts) })
	}
}

// benchSQL is a dialect's SQL for the benchmark's table and writer.
type benchSQL struct {
	create  string
	load    func(rows int) []string // fills ids 1..rows
	addCol  string
	update  string // the limit: the whole table in one statement
	settle  []string
	insert  string // the writer: args id, username
	touch   string // the writer: arg id
	correct string // counts rows up to an id (%d) whose email is wrong
}

const benchTable = `CREATE TABLE bench_users (
	id bigint PRIMARY KEY,
	username varchar(64) NOT NULL,
	score integer NOT NULL,
	created_at timestamp NOT NULL,
	note varchar(100) NOT NULL
)`

func benchDialect(dialect string) benchSQL {
	switch dialect {
	case "postgres":
		return benchSQL{
			create: benchTable,
			load: func(rows int) []string {
				return []string{fmt.Sprintf(`INSERT INTO bench_users
SELECT g, 'user' || g, g %% 1000, timestamp '2026-01-01' + g * interval '1 second', 'a note of about thirty bytes ' || (g %% 97)
FROM generate_series(1, %d) AS g`, rows)}
			},
			addCol:  `ALTER TABLE bench_users ADD COLUMN email text`,
			update:  `UPDATE bench_users SET email = (lower(username) || '@example.com') WHERE email IS NULL`,
			settle:  []string{`VACUUM ANALYZE bench_users`, `CHECKPOINT`},
			insert:  `INSERT INTO bench_users (id, username, score, created_at, note) VALUES ($1, $2, 0, CURRENT_TIMESTAMP, 'written by the app')`,
			touch:   `UPDATE bench_users SET score = score + 1 WHERE id = $1`,
			correct: `SELECT count(*) FROM bench_users WHERE id <= %d AND email IS DISTINCT FROM lower(username) || '@example.com'`,
		}
	case "mysql":
		return benchSQL{
			create: benchTable + ` ENGINE=InnoDB`,
			load: func(rows int) []string {
				// 100,000 ids a statement, from a cross join of digits:
				// portable across MySQL and MariaDB, in key order.
				stmts := []string{`CREATE TABLE IF NOT EXISTS bench_digits (d int PRIMARY KEY)`,
					`INSERT IGNORE INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`}
				for lo := 0; lo < rows; lo += 100_000 {
					stmts = append(stmts, fmt.Sprintf(`INSERT INTO bench_users
SELECT n, CONCAT('user', n), n %% 1000, TIMESTAMP '2026-01-01 00:00:00' + INTERVAL n SECOND, CONCAT('a note of about thirty bytes ', n %% 97)
FROM (SELECT %d + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 1 AS n
      FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f) AS s
WHERE n <= %d ORDER BY n`, lo, rows))
				}
				return stmts
			},
			addCol:  `ALTER TABLE bench_users ADD COLUMN email varchar(255), ALGORITHM=INSTANT`,
			update:  `UPDATE bench_users SET email = (concat(lower(username), '@example.com')) WHERE email IS NULL`,
			settle:  []string{`ANALYZE TABLE bench_users`},
			insert:  `INSERT INTO bench_users (id, username, score, created_at, note) VALUES (?, ?, 0, CURRENT_TIMESTAMP, 'written by the app')`,
			touch:   `UPDATE bench_users SET score = score + 1 WHERE id = ?`,
			correct: `SELECT count(*) FROM bench_users WHERE id <= %d AND NOT (email <=> concat(lower(username), '@example.com'))`,
		}
	default:
		return benchSQL{
			create: benchTable,
			load: func(rows int) []string {
				return []string{fmt.Sprintf(`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d)
INSERT INTO bench_users
SELECT n, 'user' || n, n %% 1000, datetime('2026-01-01', '+' || n || ' seconds'), 'a note of about thirty bytes ' || (n %% 97) FROM s`, rows)}
			},
			addCol:  `ALTER TABLE bench_users ADD COLUMN email text`,
			update:  `UPDATE bench_users SET email = (lower(username) || '@example.com') WHERE email IS NULL`,
			settle:  []string{`ANALYZE`},
			insert:  `INSERT INTO bench_users (id, username, score, created_at, note) VALUES (?, ?, 0, CURRENT_TIMESTAMP, 'written by the app')`,
			touch:   `UPDATE bench_users SET score = score + 1 WHERE id = ?`,
			correct: `SELECT count(*) FROM bench_users WHERE id <= %d AND email IS NOT lower(username) || '@example.com'`,
		}
	}
}

const benchPlan = `name: bench-email
playbook: add-column
table: bench_users
column: email
type: {postgres: text, mysql: varchar(255), sqlite: text}
backfill:
  postgres: "lower(username) || '@example.com'"
  mysql: "concat(lower(username), '@example.com')"
  sqlite: "lower(username) || '@example.com'"
`

// benchFigures are one iteration's measurements.
type benchFigures struct {
	single, backfill time.Duration
	// walk is from the first batch's start to the last batch's end; the
	// rest of backfill is the phase's start and its verification.
	walk         time.Duration
	batches      []time.Duration
	writer, idle []time.Duration
	peakHeap     heapPeaks
	writerRate   float64 // writes a second the writer asks for
}

func benchBackfill(b *testing.B, dialect string, rows int, opts Options) {
	var all []benchFigures
	for range b.N {
		b.StopTimer()
		all = append(all, benchOnce(b, dialect, rows, opts))
	}
	var single, backfill, walk time.Duration
	var batches, writer, idle []time.Duration
	var heap heapPeaks
	for _, f := range all {
		single += f.single
		backfill += f.backfill
		walk += f.walk
		batches = append(batches, f.batches...)
		writer = append(writer, f.writer...)
		idle = append(idle, f.idle...)
		heap.objects = max(heap.objects, f.peakHeap.objects)
		heap.live = max(heap.live, f.peakHeap.live)
	}
	n := float64(len(all))
	b.ReportMetric(float64(rows)*n/backfill.Seconds(), "rows/s")
	b.ReportMetric(single.Seconds()/backfill.Seconds(), "ratio-to-single-update")
	b.ReportMetric(p99ms(batches), "batch-p99-ms")
	b.ReportMetric(p99ms(writer), "writer-p99-ms")
	b.ReportMetric(p99ms(idle), "writer-idle-p99-ms")
	b.ReportMetric(float64(heap.objects)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(heap.live)/(1<<20), "peak-live-heap-MB")
	b.ReportMetric(single.Seconds()/n, "single-update-s")
	b.ReportMetric(backfill.Seconds()/n, "backfill-s")
	b.ReportMetric(walk.Seconds()/n, "walk-s")
	var inBatches time.Duration
	for _, d := range batches {
		inBatches += d
	}
	b.ReportMetric(inBatches.Seconds()/walk.Seconds(), "in-batches-share")
	b.ReportMetric(float64(len(batches))/n, "batches")
	b.ReportMetric(float64(len(writer))/n, "writer-ops")
	rate := 0.0
	for _, f := range all {
		rate += f.writerRate
	}
	b.ReportMetric(rate/n, "writer-rate")
}

// openBench opens a fresh durable database of dialect for a benchmark,
// with its SQL and shepherd's engine on it (closed with the benchmark).
func openBench(b *testing.B, dialect string) (*testdb.DB, benchSQL, *Engine) {
	db := testdb.New(b, dialect)
	db.Durable()
	eng, err := Open(context.Background(), db.DSN)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { eng.Close() })
	return db, benchDialect(dialect), eng
}

// loadUsers makes bench_users again with rows rows.
func (q benchSQL) loadUsers(db *testdb.DB, rows int) {
	db.Exec("DROP TABLE IF EXISTS bench_users")
	db.Exec(q.create)
	for _, stmt := range q.load(rows) {
		db.Exec(stmt)
	}
}

// benchOnce loads the table twice, the same way: once for the single
// UPDATE, once for shepherd. The timer runs during shepherd's backfill only.
func benchOnce(b *testing.B, dialect string, rows int, opts Options) benchFigures {
	ctx := context.Background()
	db, q, eng := openBench(b, dialect)
	load := func() { q.loadUsers(db, rows) }
	settle := func() {
		for _, stmt := range q.settle {
			db.Exec(stmt)
		}
	}
	var f benchFigures

	// The limit: one statement, one transaction, through shepherd's own
	// connection settings.
	load()
	db.Exec(q.addCol)
	settle()
	start := time.Now()
	if _, err := eng.db.ExecContext(ctx, q.update); err != nil {
		b.Fatalf("single update: %v", err)
	}
	f.single = time.Since(start)

	// shepherd, on the same table loaded afresh.
	load()
	settle()
	var mu sync.Mutex
	var first, last time.Time
	emit := func(e Event) {
		if e.Event == EventProgress && e.Phase == "backfill" {
			mu.Lock()
			if e.BatchSize == 0 {
				first = time.Now() // the estimate, just before the first batch
			} else {
				f.batches = append(f.batches, time.Duration(e.BatchMS*float64(time.Millisecond)))
				last = time.Now()
			}
			mu.Unlock()
		}
	}
	opts.Emit = emit
	s, err := eng.Start(ctx, mustPlan(b, benchPlan), opts)
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	defer s.Close()
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		b.Fatalf("add-column: %v", err)
	}
	settle()

	w := &benchWriter{db: db.SQL, q: q, next: int64(rows), rows: int64(rows), interval: time.Second / 300}
	if dialect == "sqlite" {
		w.interval = writerPace(b, func() error {
			_, err := db.SQL.ExecContext(ctx, q.touch, 1+rand.Int64N(int64(rows)))
			return err
		})
	}
	f.writerRate = float64(time.Second) / float64(w.interval)
	f.idle = w.runFor(ctx, b, 3*time.Second)

	runtime.GC()
	heapCtx, stopHeap := context.WithCancel(ctx)
	peak := make(chan heapPeaks)
	go func() { peak <- samplePeakHeap(heapCtx) }()
	writerCtx, stopWriter := context.WithCancel(ctx)
	during := make(chan []time.Duration)
	go func() { during <- w.runFor(writerCtx, b, 0) }()

	b.StartTimer()
	start = time.Now()
	_, err = s.Run(ctx, "backfill", map[string]bool{"deploy-readers": true})
	f.backfill = time.Since(start)
	b.StopTimer()
	f.walk = last.Sub(first)
	stopWriter()
	f.writer = <-during
	stopHeap()
	f.peakHeap = <-peak
	if err != nil {
		b.Fatalf("backfill: %v", err)
	}

	// It is only a result if every row is right.
	if wrong := db.One(fmt.Sprintf(q.correct, rows)); wrong != "0" {
		b.Fatalf("%s rows of 1..%d have a wrong email after the backfill", wrong, rows)
	}
	if len(f.batches) == 0 || len(f.writer) == 0 {
		b.Fatalf("measured %d batches and %d writes: nothing to report", len(f.batches), len(f.writer))
	}
	return f
}

// benchWriter is the application: single-row inserts (new ids past the
// table's end, as old code writes them: no email) and updates of random
// existing rows, about 300 a second (on SQLite: paced to the disk, see
// writerPace), each timed. An error is an application error, which fails
// the benchmark.
type benchWriter struct {
	db   *sql.DB
	q    benchSQL
	next int64 // last id inserted
	rows int64 // ids 1..rows exist
	// interval is the writer's pace: 1/300 s, or on SQLite what
	// writerPace gives.
	interval time.Duration
}

// writerPace is the interval between an SQLite writer's writes: a third
// of what the database takes back to back (measured for a second with
// write), at most 300 a second. SQLite has one write lock and no queue:
// a writer that asks for more commits than the disk gives (each commit of
// the rollback journal is two or three fsyncs) holds the lock nearly all
// the time, and the backfill, polling for it, starves for as long as the
// disk is slow. With 300 writes a second asked on this shared disk the
// same code measured backfills of 3, 8 and 49 s (ratio 0.42, 0.29, 0.035):
// the benchmark measured the disk, not shepherd. Paced to the disk, the
// writer takes a third of the lock, whatever the disk's mood.
func writerPace(b *testing.B, write func() error) time.Duration {
	n := 0
	start := time.Now()
	for time.Since(start) < time.Second {
		if err := write(); err != nil {
			b.Fatalf("the writer's pace: %v", err)
		}
		n++
	}
	perSecond := float64(n) / time.Since(start).Seconds()
	return max(time.Second/300, time.Duration(3*float64(time.Second)/perSecond))
}

// runFor writes until ctx ends, or for d when d > 0, and returns each
// write's latency.
func (w *benchWriter) runFor(ctx context.Context, b *testing.B, d time.Duration) []time.Duration {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	var lat []time.Duration
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return lat
		case <-tick.C:
		}
		start := time.Now()
		var err error
		if i%2 == 0 {
			w.next++
			_, err = w.db.Exec(w.q.insert, w.next, fmt.Sprintf("app%d", w.next))
		} else {
			_, err = w.db.Exec(w.q.touch, 1+rand.Int64N(w.rows))
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			b.Errorf("application write failed: %v", err)
			return lat
		}
		lat = append(lat, time.Since(start))
	}
}

// heapPeaks are the largest heap sizes seen during the backfill: all of
// the heap's objects (live ones and garbage not yet collected, which is
// what the process holds), and the live heap as the last GC measured it
// (what the backfill keeps; garbage comes and goes with the GC's pace, so
// its peak grows with how long one samples).
type heapPeaks struct{ objects, live uint64 }

// samplePeakHeap reads the heap every few milliseconds until ctx ends.
// runtime/metrics does not stop the world, unlike ReadMemStats.
func samplePeakHeap(ctx context.Context) heapPeaks {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var peak heapPeaks
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(sample)
		peak.objects = max(peak.objects, sample[0].Value.Uint64())
		peak.live = max(peak.live, sample[1].Value.Uint64())
		select {
		case <-ctx.Done():
			return peak
		case <-t.C:
		}
	}
}

// p99ms is the 99th percentile, in milliseconds.
func p99ms(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*99+99)/100-1)
	return float64(s[i].Microseconds()) / 1000
}

// BenchmarkUniqueClean measures a UNIQUE clean against the limit: on the
// same freshly loaded table (SHEPHERD_BENCH_ROWS rows, default 1,000,000,
// with an email column of which 1% repeats the row before's), one UPDATE
// that finds the duplicates and sets their email to NULL in one statement,
// then shepherd's clean phase (clean: {set: {email: "NULL"}}, at its
// defaults): the search for duplicates, the batches, and the look from the
// start, which is its verification. One sub-benchmark per dialect.
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench UniqueClean -benchtime 1x ./engine
func BenchmarkUniqueClean(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("SHEPHERD_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("SHEPHERD_BENCH_ROWS=%q: want at least 100 rows", v)
		}
		rows = n
	}
	for _, dialect := range testdb.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			var single, clean time.Duration
			var batches []time.Duration
			searches := 0
			for range b.N {
				f := benchCleanOnce(b, dialect, rows)
				single += f.single
				clean += f.clean
				batches = append(batches, f.batches...)
				searches += f.searches
			}
			n := float64(b.N)
			b.ReportMetric(float64(rows)*n/clean.Seconds(), "rows/s")
			b.ReportMetric(float64(rows/100)*n/clean.Seconds(), "duplicates/s")
			b.ReportMetric(single.Seconds()/clean.Seconds(), "ratio-to-single-update")
			b.ReportMetric(p99ms(batches), "batch-p99-ms")
			b.ReportMetric(single.Seconds()/n, "single-update-s")
			b.ReportMetric(clean.Seconds()/n, "clean-s")
			b.ReportMetric(float64(len(batches))/n, "batches")
			b.ReportMetric(float64(searches)/n, "searches")
		})
	}
}

// benchDuplicates is the dialect's SQL for the clean benchmark: the email
// column, its values (every hundredth row repeats the row before's), and
// the limit, one UPDATE of the duplicates found by the same window as
// shepherd's search.
func benchDuplicates(dialect string) (addCol, fill, update string) {
	addCol = `ALTER TABLE bench_users ADD COLUMN email varchar(255)`
	fill = `UPDATE bench_users SET email = 'user' || (CASE WHEN id % 100 = 0 THEN id - 1 ELSE id END) || '@example.com'`
	update = `UPDATE bench_users SET email = NULL WHERE id IN (SELECT w.k FROM (SELECT id AS k, first_value(id) OVER (PARTITION BY email ORDER BY id) AS f FROM bench_users WHERE email IS NOT NULL) AS w WHERE w.k <> w.f)`
	if dialect == "mysql" {
		fill = `UPDATE bench_users SET email = CONCAT('user', CASE WHEN id % 100 = 0 THEN id - 1 ELSE id END, '@example.com')`
		// A join: MariaDB runs IN (subquery) as a lookup for every row of
		// the table, five times as long.
		update = `UPDATE bench_users JOIN (SELECT w.k FROM (SELECT id AS k, first_value(id) OVER (PARTITION BY email ORDER BY id) AS f FROM bench_users WHERE email IS NOT NULL) AS w WHERE w.k <> w.f) AS d ON d.k = bench_users.id SET email = NULL`
	}
	return addCol, fill, update
}

const benchCleanPlan = `name: bench-email-unique
playbook: tighten-constraint
table: bench_users
constraint: {name: bench_users_email_key, unique: [email]}
clean: {set: {email: "NULL"}}
`

type cleanFigures struct {
	single, clean time.Duration
	batches       []time.Duration
	searches      int
}

// benchCleanOnce loads the table twice: once for the single UPDATE, once
// for shepherd. The timer runs during shepherd's clean only.
func benchCleanOnce(b *testing.B, dialect string, rows int) cleanFigures {
	b.StopTimer()
	ctx := context.Background()
	db := testdb.New(b, dialect)
	db.Durable()
	q := benchDialect(dialect)
	addCol, fill, update := benchDuplicates(dialect)
	eng, err := Open(ctx, db.DSN)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	defer eng.Close()
	load := func() {
		db.Exec("DROP TABLE IF EXISTS bench_users")
		db.Exec(q.create)
		for _, stmt := range q.load(rows) {
			db.Exec(stmt)
		}
		db.Exec(addCol)
		db.Exec(fill)
		for _, stmt := range q.settle {
			db.Exec(stmt)
		}
	}
	var f cleanFigures
	check := func(what string) {
		if got, want := db.One(`SELECT count(*) FROM bench_users WHERE email IS NULL`), strconv.Itoa(rows/100); got != want {
			b.Fatalf("%s left %s rows without an email, want the %s duplicates", what, got, want)
		}
		if got := db.One(`SELECT count(*) FROM bench_users WHERE id % 100 = 99 AND email IS NULL`); got != "0" {
			b.Fatalf("%s cleaned %s rows whose value the duplicate repeats", what, got)
		}
	}

	load()
	start := time.Now()
	if _, err := eng.db.ExecContext(ctx, update); err != nil {
		b.Fatalf("single update: %v", err)
	}
	f.single = time.Since(start)
	check("the single update")

	load()
	var mu sync.Mutex
	opts := Options{Emit: func(e Event) {
		if e.Event == EventProgress && e.Phase == "clean" && e.BatchSize > 0 {
			mu.Lock()
			f.batches = append(f.batches, time.Duration(e.BatchMS*float64(time.Millisecond)))
			mu.Unlock()
		}
	}}
	s, err := eng.Start(ctx, mustPlan(b, benchCleanPlan), opts)
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	defer s.Close()
	s.watchBatch = func(_ context.Context, _ *sql.Tx, at string, _ templates.Script, _ [][]any) {
		if at == "search" {
			f.searches++
		}
	}
	if err := s.RunPhase(ctx, "validate-in-app"); err != nil {
		b.Fatalf("validate-in-app: %v", err)
	}
	b.StartTimer()
	start = time.Now()
	err = s.RunPhase(ctx, "clean")
	f.clean = time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("clean: %v", err)
	}
	check("shepherd's clean")
	return f
}
