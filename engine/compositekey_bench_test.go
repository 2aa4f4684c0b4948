package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// BenchmarkBackfillCompositeKey measures the backfill's cost against the
// limit (one UPDATE of the whole table) on three layouts of the same rows,
// in the same run, with no application writer, so that the only
// difference is the key:
//
//   - single: PRIMARY KEY (id), the baseline;
//   - composite: PRIMARY KEY (tenant_id, id), rows stored in the key's order
//     (a table loaded tenant by tenant);
//   - scattered: PRIMARY KEY (tenant_id, id), rows stored out of the key's
//     order (tenant_id is id % 97 + 1, the order in which a multi-tenant
//     table's rows arrive).
//
// ratio-* is the limit's time over shepherd's for each layout (1 is the
// limit's speed); vs-single-* is that ratio over the single key's.
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench BackfillCompositeKey -benchtime 1x ./engine
func BenchmarkBackfillCompositeKey(b *testing.B) {
	rows := benchRows(b)
	layouts := []struct {
		name, key, load string
	}{
		{"single", "id", `SELECT id % 97 + 1, id, username FROM bench_users`},
		{"composite", "tenant_id, id", `SELECT id % 97 + 1, id, username FROM bench_users ORDER BY id % 97 + 1, id`},
		{"scattered", "tenant_id, id", `SELECT id % 97 + 1, id, username FROM bench_users`},
	}
	for _, dialect := range testdb.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			ratios := map[string]float64{}
			for _, l := range layouts {
				var single, backfill time.Duration
				var batches []time.Duration
				for range b.N {
					s, f, bs := benchCompositeOnce(b, dialect, rows, l.key, l.load)
					single, backfill, batches = single+s, backfill+f, append(batches, bs...)
				}
				n := float64(b.N)
				ratios[l.name] = single.Seconds() / backfill.Seconds()
				b.ReportMetric(ratios[l.name], "ratio-"+l.name)
				b.ReportMetric(backfill.Seconds()/n, "backfill-s-"+l.name)
				b.ReportMetric(single.Seconds()/n, "update-s-"+l.name)
				b.ReportMetric(p99ms(batches), "batch-p99-ms-"+l.name)
			}
			b.ReportMetric(ratios["composite"]/ratios["single"], "vs-single-composite")
			b.ReportMetric(ratios["scattered"]/ratios["single"], "vs-single-scattered")
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
func benchCompositeOnce(b *testing.B, dialect string, rows int, key, loadSQL string) (single, backfill time.Duration, batches []time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	db, q, eng := openBench(b, dialect)
	q.loadUsers(db, rows)
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
		db.Exec(`CREATE TABLE bench_members (tenant_id integer NOT NULL, id bigint NOT NULL, username varchar(64) NOT NULL, PRIMARY KEY (` + key + `))`)
		db.Exec(`INSERT INTO bench_members ` + loadSQL)
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
	if want := strings.ReplaceAll("("+key+")", "(id)", "id"); s.keyLabel() != want {
		b.Fatalf("the walk's key is %s, want %s", s.keyLabel(), want)
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
