package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// BenchmarkBackfillCompositeKey is BenchmarkBackfill's limit on a table
// whose primary key is (tenant_id, id), written out of the key's order
// (tenant_id is id % 97 + 1): one UPDATE of the whole table, then
// shepherd's backfill at its defaults, walking the key's tuple, on the same
// table loaded afresh. No application writer: the figure is the walk's own
// cost against the single statement's.
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench BackfillCompositeKey -benchtime 1x ./engine
func BenchmarkBackfillCompositeKey(b *testing.B) {
	rows := benchRows(b)
	for _, dialect := range testdb.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			var single, backfill time.Duration
			var batches []time.Duration
			for range b.N {
				s, f, bs := benchCompositeOnce(b, dialect, rows)
				single, backfill, batches = single+s, backfill+f, append(batches, bs...)
			}
			n := float64(b.N)
			b.ReportMetric(float64(rows)*n/backfill.Seconds(), "rows/s")
			b.ReportMetric(single.Seconds()/backfill.Seconds(), "ratio-to-single-update")
			b.ReportMetric(p99ms(batches), "batch-p99-ms")
			b.ReportMetric(single.Seconds()/n, "single-update-s")
			b.ReportMetric(backfill.Seconds()/n, "backfill-s")
			b.ReportMetric(float64(len(batches))/n, "batches")
		})
	}
}

const benchCompositePlan = `name: bench-members-email
playbook: add-column
table: bench_members
column: email
type: {postgres: text, mysql: varchar(255), sqlite: text}
backfill:
  postgres: "lower(username) || '@example.com'"
  mysql: "concat(lower(username), '@example.com')"
  sqlite: "lower(username) || '@example.com'"
`

// benchCompositeOnce loads bench_members twice, the same way, from
// BenchmarkBackfill's bench_users: once for the single UPDATE, once for
// shepherd. The timer runs during shepherd's backfill only.
func benchCompositeOnce(b *testing.B, dialect string, rows int) (single, backfill time.Duration, batches []time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	db := testdb.New(b, dialect)
	db.Durable()
	q := benchDialect(dialect)
	eng, err := Open(ctx, db.DSN)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	defer eng.Close()
	db.Exec(q.create)
	for _, stmt := range q.load(rows) {
		db.Exec(stmt)
	}
	addCol, update, wrong := `ALTER TABLE bench_members ADD COLUMN email text`,
		`UPDATE bench_members SET email = (lower(username) || '@example.com') WHERE email IS NULL`,
		`SELECT count(*) FROM bench_members WHERE email IS NULL OR email <> lower(username) || '@example.com'`
	settle := q.settle
	switch dialect {
	case "mysql":
		addCol = `ALTER TABLE bench_members ADD COLUMN email varchar(255), ALGORITHM=INSTANT`
		update = `UPDATE bench_members SET email = (concat(lower(username), '@example.com')) WHERE email IS NULL`
		wrong = `SELECT count(*) FROM bench_members WHERE NOT (email <=> concat(lower(username), '@example.com'))`
		settle = []string{`ANALYZE TABLE bench_members`}
	case "postgres":
		settle = []string{`VACUUM ANALYZE bench_members`, `CHECKPOINT`}
	}
	load := func() {
		db.Exec(`DROP TABLE IF EXISTS bench_members`)
		db.Exec(`CREATE TABLE bench_members (tenant_id integer NOT NULL, id bigint NOT NULL, username varchar(64) NOT NULL, PRIMARY KEY (tenant_id, id))`)
		db.Exec(`INSERT INTO bench_members SELECT id % 97 + 1, id, username FROM bench_users`)
	}
	doSettle := func() {
		for _, stmt := range settle {
			db.Exec(stmt)
		}
	}

	load()
	db.Exec(addCol)
	doSettle()
	start := time.Now()
	if _, err := eng.db.ExecContext(ctx, update); err != nil {
		b.Fatalf("single update: %v", err)
	}
	single = time.Since(start)

	load()
	var mu sync.Mutex
	s, err := eng.Start(ctx, mustPlan(b, benchCompositePlan), Options{Emit: func(e Event) {
		if e.Event == EventProgress && e.Phase == "backfill" && e.BatchSize > 0 {
			mu.Lock()
			batches = append(batches, time.Duration(e.BatchMS*float64(time.Millisecond)))
			mu.Unlock()
		}
	}})
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	defer s.Close()
	if s.keyLabel() != "(tenant_id, id)" {
		b.Fatalf("the walk's key is %s, want (tenant_id, id)", s.keyLabel())
	}
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		b.Fatalf("add-column: %v", err)
	}
	doSettle()
	b.StartTimer()
	start = time.Now()
	_, err = s.Run(ctx, "backfill", map[string]bool{"deploy-readers": true})
	backfill = time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("backfill: %v", err)
	}
	if got := db.One(wrong); got != "0" {
		b.Fatalf("%s rows have a wrong email after the backfill", got)
	}
	if len(batches) == 0 {
		b.Fatal("no batch measured")
	}
	return single, backfill, batches
}
