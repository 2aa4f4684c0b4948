package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// unbounded is d with batches that run without shepherd's bound: the
// baseline of BenchmarkBatchBound. It embeds the dialect's own type, not
// the dialect interface, so that it keeps every optional interface d has
// (MySQL's batchTx, prepare, ...) and overrides only batchBound.
func unbounded(d dialect) dialect {
	switch d := d.(type) {
	case postgresDialect:
		return unboundedPostgres{d}
	case *mysqlDialect:
		return unboundedMySQL{d}
	}
	return d
}

type unboundedPostgres struct{ postgresDialect }

func (unboundedPostgres) batchBound(time.Duration) (string, string) { return "", "" }

type unboundedMySQL struct{ *mysqlDialect }

func (unboundedMySQL) batchBound(time.Duration) (string, string) { return "", "" }

// BenchmarkBatchBound measures what bounding every batch costs (PostgreSQL:
// one more statement, SET LOCAL statement_timeout, in each batch's
// transaction; MariaDB: a SET STATEMENT … FOR prefix): the same backfill of
// 20,000 rows in fixed batches of 100, with and without the bound, one
// after the other in each iteration, reported as the ratio of their times.
//
//	SHEPHERD_TEST_POSTGRES=… SHEPHERD_TEST_MYSQL=… go test -run '^$' -bench BatchBound -benchtime 5x ./engine
func BenchmarkBatchBound(b *testing.B) {
	const rows, batch = 20_000, 100
	for _, dialect := range []string{"postgres", "mysql"} {
		b.Run(dialect, func(b *testing.B) {
			db := testdb.New(b, dialect)
			db.Seed(rows)
			ctx := context.Background()
			var took [2]time.Duration // unbounded, bounded
			for i := 0; i < b.N; i++ {
				for v := range 2 {
					plan := mustPlan(b, fmt.Sprintf(`name: bench-%d-%d
playbook: add-column
table: users
column: email_%d_%d
type: {postgres: text, mysql: varchar(200)}
backfill: "lower(username)"
`, i, v, i, v))
					eng, err := Open(ctx, db.DSN)
					if err != nil {
						b.Fatal(err)
					}
					if v == 0 {
						eng.d = unbounded(eng.d)
					}
					s, err := eng.Start(ctx, plan, Options{BatchSize: batch})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := s.Run(ctx, "add-column", nil); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					if _, err := s.Run(ctx, "backfill", map[string]bool{"deploy-readers": true}); err != nil {
						b.Fatal(err)
					}
					took[v] += time.Since(start)
					s.Close()
					eng.Close()
				}
			}
			b.ReportMetric(float64(took[1])/float64(took[0]), "bounded/unbounded")
			b.ReportMetric(float64(took[1]-took[0])/float64(b.N)/float64(rows/batch)/1e3, "µs/batch")
		})
	}
}
