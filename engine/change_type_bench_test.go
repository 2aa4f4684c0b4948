package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// BenchmarkBackfillChangeType measures change-column-type's backfill
// (bench_users.score, integer, converted to bigint into its shadow column)
// against its limit, one UPDATE of the whole table setting the shadow
// column to the same conversion with the sync triggers in place (as
// add-shadow leaves the table: doing the change safely by hand needs them
// there during the copy too), and sets it beside add-column's backfill and
// its limit, measured in the same run on the same table loaded afresh,
// with no application writer: vs-add is the change's ratio over
// add-column's (1: the conversion walks as cheaply as a fill). The same
// UPDATE into a column with no trigger on the table is reported beside
// it (untriggered-update-s), and what the triggers cost that UPDATE
// (triggers-cost-to-update: with ÷ without).
//
// It also measures what the sync triggers cost a writer: the same
// single-row updates of score, one after another, before add-shadow (no
// trigger) and after it (the triggers fire on every one).
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench BackfillChangeType -benchtime 1x ./engine
func BenchmarkBackfillChangeType(b *testing.B) {
	rows := benchRows(b)
	for _, dialect := range testdb.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			if d, err := dialectFor(dialect); err != nil || swapperFor(d) == nil {
				b.Skipf("change-column-type's swap is not built for %s", dialect)
			}
			var addLimit, addFill, limit, fill, bare time.Duration
			var plain, triggered []time.Duration
			for range b.N {
				f := benchChangeTypeOnce(b, dialect, rows)
				addLimit, addFill, limit, fill = addLimit+f.addLimit, addFill+f.addFill, limit+f.limit, fill+f.fill
				bare += f.bare
				plain, triggered = append(plain, f.plain...), append(triggered, f.triggered...)
			}
			n := float64(b.N)
			ratioAdd, ratio := addLimit.Seconds()/addFill.Seconds(), limit.Seconds()/fill.Seconds()
			b.ReportMetric(ratio, "ratio-to-single-update")
			b.ReportMetric(ratioAdd, "add-column-ratio")
			b.ReportMetric(ratio/ratioAdd, "vs-add")
			b.ReportMetric(fill.Seconds()/n, "backfill-s")
			b.ReportMetric(limit.Seconds()/n, "single-update-s")
			b.ReportMetric(bare.Seconds()/n, "untriggered-update-s")
			b.ReportMetric(bare.Seconds()/fill.Seconds(), "ratio-to-untriggered-update")
			b.ReportMetric(limit.Seconds()/bare.Seconds(), "triggers-cost-to-update")
			b.ReportMetric(p99ms(plain), "writer-p99-ms-no-triggers")
			b.ReportMetric(p99ms(triggered), "writer-p99-ms-triggers")
			b.ReportMetric(meanMS(triggered)/meanMS(plain), "writer-mean-with-triggers")
		})
	}
}

// changeTypeFigures are one iteration's measurements.
type changeTypeFigures struct {
	addLimit, addFill, limit, fill time.Duration
	bare                           time.Duration // the limit's UPDATE with no trigger on the table
	plain, triggered               []time.Duration
}

const benchChangeTypePlan = `name: bench-score-bigint
playbook: change-column-type
table: bench_users
column: score
type: {postgres: bigint, mysql: bigint, sqlite: bigint}
`

// writerOps is how many single-row updates measure a writer's latency:
// enough for a p99 of its own, few enough to leave the table as it was.
const writerOps = 2000

func benchChangeTypeOnce(b *testing.B, dialect string, rows int) changeTypeFigures {
	b.StopTimer()
	defer b.StartTimer()
	ctx := context.Background()
	db, q, eng := openBench(b, dialect)
	load := func() {
		q.loadUsers(db, rows)
		for _, stmt := range q.settle {
			db.Exec(stmt)
		}
	}
	timed := func(stmt string) time.Duration {
		start := time.Now()
		if _, err := eng.db.ExecContext(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
		return time.Since(start)
	}
	phase := func(s *Session, id string, confirm ...string) time.Duration {
		confirms := map[string]bool{}
		for _, c := range confirm {
			confirms[c] = true
		}
		start := time.Now()
		if out, err := s.Run(ctx, id, confirms); err != nil || out != Reached {
			b.Fatalf("%s: %v, %v", id, out, err)
		}
		return time.Since(start)
	}
	writer := func() []time.Duration {
		touch := eng.d.placeholder(1)
		out := make([]time.Duration, 0, writerOps)
		for i := range writerOps {
			start := time.Now()
			if _, err := eng.db.ExecContext(ctx, `UPDATE bench_users SET score = score + 1 WHERE id = `+touch, int64(i*(rows/writerOps)+1)); err != nil {
				b.Fatalf("writer: %v", err)
			}
			out = append(out, time.Since(start))
		}
		return out
	}
	var f changeTypeFigures

	// add-column: its limit, then its backfill.
	load()
	db.Exec(q.addCol)
	f.addLimit = timed(q.update)
	load()
	s, err := eng.Start(ctx, mustPlan(b, benchPlan), Options{})
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	phase(s, "add-column")
	f.addFill = phase(s, "backfill", "deploy-readers")
	s.Close()

	// change-column-type: its limit (the same conversion, into a column
	// added for it), then add-shadow and the backfill, with the writer
	// timed before and after the triggers.
	bigint := "bigint"
	load()
	db.Exec(fmt.Sprintf("ALTER TABLE bench_users ADD COLUMN score_wide %s", bigint))
	conv, err := eng.sql.Query("convert-value", sqlData{Expr: "score", Type: bigint})
	if err != nil {
		b.Fatal(err)
	}
	f.bare = timed("UPDATE bench_users SET score_wide = " + conv.SQL)
	// The limit proper: the same UPDATE on the table as add-shadow leaves
	// it, its sync triggers in place, as anyone doing the change safely by
	// hand would run it (GitLab's procedure installs the trigger before
	// the copy; without it, writes during the copy are lost). It writes
	// the shadow as the backfill does, with the triggers' skip set.
	load()
	s, err = eng.Start(ctx, mustPlan(b, strings.Replace(benchChangeTypePlan, "name: bench-score-bigint", "name: bench-score-bigint-limit", 1)), Options{})
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	phase(s, "add-shadow")
	s.Close()
	f.limit = timedSyncOff(ctx, b, eng, "UPDATE bench_users SET score_shepherd_new = "+conv.SQL)
	// The writer before the triggers, on a table of its own: its updates
	// leave dead rows the backfill would then walk, where add-column's and
	// the limit walk a table as loaded.
	load()
	f.plain = writer()
	load()
	s, err = eng.Start(ctx, mustPlan(b, benchChangeTypePlan), Options{})
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	defer s.Close()
	phase(s, "add-shadow")
	f.fill = phase(s, "backfill")
	f.triggered = writer()
	if got := db.One("SELECT count(*) FROM bench_users WHERE score_shepherd_new IS NULL OR score_shepherd_new <> score"); got != "0" { // the writer's updates too, through the triggers
		b.Fatalf("%s rows have a wrong shadow after the backfill", got)
	}
	return f
}

// timedSyncOff runs stmt in one transaction on a connection of its own
// whose writes the sync triggers skip (the dialect's sync-off, as the
// backfill's batches set it) and returns how long it took, commit
// included.
func timedSyncOff(ctx context.Context, b *testing.B, eng *Engine, stmt string) time.Duration {
	var off templates.Script // SQLite has none: its triggers' conditions skip the write
	if eng.sql.Has("sync-off") {
		var err error
		if off, err = eng.sql.Script("sync-off", sqlData{}); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := eng.db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for _, step := range off {
		if step.SQL == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, step.SQL); err != nil {
			b.Fatalf("%s: %v", step.SQL, err)
		}
	}
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		b.Fatalf("%s: %v", stmt, err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// meanMS is the mean of durations, in milliseconds.
func meanMS(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return float64(sum.Microseconds()) / 1000 / float64(len(ds))
}
