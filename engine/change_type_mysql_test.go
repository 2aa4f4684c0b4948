package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// ledger is a MySQL table (accounts) whose int primary key is not AUTO_INCREMENT
// (the application numbers its rows), with an index and a default on
// another int column, rows rows.
func ledger(t *testing.T, rows int) *testdb.DB {
	db := testdb.New(t, "mysql")
	db.Exec(`CREATE TABLE accounts (id int NOT NULL PRIMARY KEY, balance int NOT NULL DEFAULT 5, note varchar(20), KEY accounts_balance_idx (balance, note))`)
	values := make([]string, rows)
	for i := range values {
		values[i] = fmt.Sprintf("(%d, %d, 'n%d')", i+1, (i+1)*10, i+1)
	}
	db.Exec(`INSERT INTO accounts (id, balance, note) VALUES ` + strings.Join(values, ", "))
	return db
}

// mysqlTraffic is the application on accounts: inserts that name only the
// columns it knows (numbering its own rows from next), and updates of the
// balance of rows it inserted, until stopped.
type mysqlTraffic struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	ops    atomic.Int64
	next   atomic.Int64
	maxGap atomic.Int64
	mu     sync.Mutex
	errs   []string
}

func startMySQLTraffic(db *testdb.DB, writers int, from int64) *mysqlTraffic {
	tr := &mysqlTraffic{stop: make(chan struct{})}
	tr.next.Store(from)
	for w := 0; w < writers; w++ {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			ctx := context.Background()
			for {
				select {
				case <-tr.stop:
					return
				default:
				}
				id := tr.next.Add(1)
				start := time.Now()
				_, err := db.SQL.ExecContext(ctx, `INSERT INTO accounts (id, balance, note) VALUES (?, ?, 'app')`, id, id)
				if err == nil {
					_, err = db.SQL.ExecContext(ctx, `UPDATE accounts SET balance = balance + 1 WHERE id = ?`, id)
				}
				if gap := time.Since(start).Microseconds(); gap > tr.maxGap.Load() {
					tr.maxGap.Store(gap)
				}
				if err != nil {
					tr.mu.Lock()
					tr.errs = append(tr.errs, err.Error())
					tr.mu.Unlock()
				}
				tr.ops.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return tr
}

func (tr *mysqlTraffic) end(t *testing.T) {
	t.Helper()
	close(tr.stop)
	tr.wg.Wait()
	if len(tr.errs) > 0 {
		t.Errorf("%d of %d application writes failed; first: %s", len(tr.errs), tr.ops.Load(), tr.errs[0])
	}
	if tr.ops.Load() < 20 {
		t.Errorf("only %d application writes ran: the traffic did not run through the phases", tr.ops.Load())
	}
	t.Logf("%d application writes, none failed; the longest took %s", tr.ops.Load(), time.Duration(tr.maxGap.Load())*time.Microsecond)
}

// MySQL's int primary key becomes bigint while the application inserts
// and updates rows: no write fails, and after the swap the column is
// bigint and the primary key, the old values are kept aside in step, and
// at the end nothing of shepherd's is left.
func TestChangeTypeMySQLPrimaryKeyUnderTraffic(t *testing.T) {
	t.Parallel()
	db := ledger(t, 3000)
	p := mustPlan(t, "name: accounts-id-bigint\nplaybook: change-column-type\ntable: accounts\ncolumn: id\ntype: bigint\n")
	tr := startMySQLTraffic(db, 2, 100000)
	ctx := context.Background()
	s, _ := session(t, db, p, Options{BatchSize: 500})
	if out, err := s.Run(ctx, "", map[string]bool{"deploy-readers": true, "stop-old-writes": true}); err != nil || out != AtGate {
		t.Fatalf("run: %v (%v)", err, out)
	}
	time.Sleep(50 * time.Millisecond)
	for q, want := range map[string]string{
		`SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts' AND column_name = 'id'`:                        "bigint",
		`SELECT group_concat(column_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'accounts' AND index_name = 'PRIMARY'`: "id",
		`SELECT count(*) FROM accounts WHERE NOT (id_shepherd_old <=> id)`:                                                                                           "0",
	} {
		if got := db.One(q); got != want {
			t.Errorf("after the swap, %s = %q, want %q", q, got, want)
		}
	}
	s.Close()
	s2, _ := session(t, db, p, Options{})
	if out, err := s2.Run(ctx, "", map[string]bool{"drop-old-column": true}); err != nil || out != Reached {
		t.Fatalf("drop-old-column: %v (%v)", err, out)
	}
	tr.end(t)
	for q, want := range map[string]string{
		`SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts' AND column_name = 'id'`:                                                           "bigint",
		`SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts' AND column_name LIKE 'id\_shepherd%'`:                                              "0",
		`SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND event_object_table = 'accounts'`:                                                                        "0",
		`SELECT group_concat(column_name ORDER BY seq_in_index) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'accounts' AND index_name = 'accounts_balance_idx'`: "balance,note",
		`SELECT count(*) FROM accounts WHERE id > 100000 AND balance <> id + 1`:                                                                                                                         "0",
	} {
		if got := db.One(q); got != want {
			t.Errorf("at the end, %s = %q, want %q", q, got, want)
		}
	}
	db.Exec(`INSERT INTO accounts (id, balance) VALUES (3000000000, 1)`) // past int's range
}

// A column with an index and a default: the swap moves both (the index
// under its own name), and rolls back to the int column with its index
// and default; every phase before the point of no return rolls back and
// the plan then runs to the end.
func TestChangeTypeMySQLRollback(t *testing.T) {
	t.Parallel()
	db := ledger(t, 500)
	p := mustPlan(t, "name: accounts-balance-bigint\nplaybook: change-column-type\ntable: accounts\ncolumn: balance\ntype: bigint\n")
	ctx := context.Background()
	s, _ := session(t, db, p, Options{BatchSize: 100})
	if _, err := s.Run(ctx, "swap", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatalf("run to swap: %v", err)
	}
	col := func(c, what string) string {
		return db.One(fmt.Sprintf(`SELECT coalesce(%s, 'none') FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts' AND column_name = '%s'`, what, c))
	}
	idx := `SELECT group_concat(column_name ORDER BY seq_in_index) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'accounts' AND index_name = 'accounts_balance_idx'`
	db.Exec(`INSERT INTO accounts (id, note) VALUES (9001, 'new code')`) // the default
	db.Exec(`INSERT INTO accounts (id, balance) VALUES (9002, 3000000)`)
	for got, want := range map[string]string{
		col("balance", "data_type"):                   "bigint",
		col("balance", "column_default"):              "5",
		col("balance_shepherd_old", "column_default"): "NULL",
		db.One(idx): "balance,note",
		db.One(`SELECT count(*) FROM accounts WHERE NOT (balance_shepherd_old <=> balance)`): "0",
		db.One(`SELECT balance_shepherd_old FROM accounts WHERE id = 9001`):                  "5",
	} {
		if got != want {
			t.Errorf("after the swap: %q, want %q", got, want)
		}
	}
	ph, err := s.Rollback(ctx)
	if err != nil || ph.ID != "swap" {
		t.Fatalf("rollback swap: %v (%s)", err, ph.ID)
	}
	db.Exec(`INSERT INTO accounts (id, note) VALUES (9003, 'old code')`)
	db.Exec(`UPDATE accounts SET balance = 7 WHERE id = 1`)
	for got, want := range map[string]string{
		col("balance", "data_type"):                   "int",
		col("balance", "column_default"):              "5",
		col("balance_shepherd_new", "column_default"): "NULL",
		col("balance_shepherd_new", "is_nullable"):    "YES",
		db.One(idx): "balance,note",
		db.One(`SELECT count(*) FROM accounts WHERE NOT (balance_shepherd_new <=> balance)`): "0",
		db.One(`SELECT balance_shepherd_new FROM accounts WHERE id = 9003`):                  "5",
	} {
		if got != want {
			t.Errorf("after the swap back: %q, want %q", got, want)
		}
	}
	for _, want := range []string{"deploy-readers", "backfill", "add-shadow"} {
		if ph, err := s.Rollback(ctx); err != nil || ph.ID != want {
			t.Fatalf("rollback: %v (%s), want %s", err, ph.ID, want)
		}
	}
	if got := db.One(`SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts' AND column_name LIKE 'balance\_shepherd%'`); got != "0" {
		t.Errorf("%s shepherd columns are left after the rollback", got)
	}
	if got := db.One(`SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'accounts' AND index_name LIKE '%shepherd%'`); got != "0" {
		t.Errorf("%s shepherd index parts are left after the rollback", got)
	}
	if _, err := s.Run(ctx, "", map[string]bool{"deploy-readers": true, "stop-old-writes": true}); err != nil {
		t.Fatalf("run again: %v", err)
	}
	s.Close()
	s2, _ := session(t, db, p, Options{})
	if out, err := s2.Run(ctx, "", map[string]bool{"drop-old-column": true}); err != nil || out != Reached {
		t.Fatalf("drop-old-column: %v (%v)", err, out)
	}
	for got, want := range map[string]string{
		col("balance", "data_type"):      "bigint",
		col("balance", "column_default"): "5",
		db.One(idx):                      "balance,note",
		db.One(`SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'accounts' AND index_name LIKE '%shepherd%'`): "0",
		db.One(`SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND event_object_table = 'accounts'`):                          "0",
		db.One(`SELECT balance FROM accounts WHERE id = 1`): "7",
	} {
		if got != want {
			t.Errorf("at the end: %q, want %q", got, want)
		}
	}
}

// What the swap cannot move on MySQL is refused before anything changes:
// an AUTO_INCREMENT column, a column with a foreign key at either end, a
// column a CHECK names.
func TestChangeTypeMySQLRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ddl, table, column, want string
	}{
		{"auto increment", `CREATE TABLE t1 (id int AUTO_INCREMENT PRIMARY KEY)`, "t1", "id", "AUTO_INCREMENT"},
		{"referenced", `CREATE TABLE t2 (id int PRIMARY KEY); CREATE TABLE t2c (id int PRIMARY KEY, t2_id int, FOREIGN KEY (t2_id) REFERENCES t2 (id))`, "t2", "id", "same type at both ends"},
		{"referencing", `CREATE TABLE t3 (id int PRIMARY KEY); CREATE TABLE t3c (id int PRIMARY KEY, t3_id int, FOREIGN KEY (t3_id) REFERENCES t3 (id))`, "t3c", "t3_id", "same type at both ends"},
		{"check", `CREATE TABLE t4 (id int PRIMARY KEY, n int, CONSTRAINT t4_n_pos CHECK (n > 0))`, "t4", "n", "t4_n_pos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "mysql")
			for _, st := range strings.Split(tc.ddl, "; ") {
				db.Exec(st)
			}
			p := mustPlan(t, fmt.Sprintf("name: refused\nplaybook: change-column-type\ntable: %s\ncolumn: %s\ntype: bigint\n", tc.table, tc.column))
			eng, err := Open(context.Background(), db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			_, err = eng.Start(context.Background(), p, Options{})
			var se *SchemaError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start: %v, want a SchemaError saying %q", err, tc.want)
			}
			if got := db.One(fmt.Sprintf(`SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '%s' AND column_name LIKE '%%shepherd%%'`, tc.table)); got != "0" {
				t.Errorf("%s columns were added", got)
			}
		})
	}
}

// A conversion the server refuses for some value fails the backfill with
// the server's error, keeps nothing of the failed batch, and leaves the
// phase not done.
func TestChangeTypeMySQLConversionFails(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "mysql")
	db.Exec(`CREATE TABLE codes (id int PRIMARY KEY, code varchar(10))`)
	db.Exec(`INSERT INTO codes WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 300) SELECT n, CAST(n AS CHAR) FROM g`)
	db.Exec(`UPDATE codes SET code = 'x' WHERE id = 150`)
	p := mustPlan(t, "name: codes-int\nplaybook: change-column-type\ntable: codes\ncolumn: code\ntype: int\n")
	s, _ := session(t, db, p, Options{BatchSize: 100})
	_, err := s.Run(context.Background(), "backfill", nil)
	if err == nil || !strings.Contains(err.Error(), "the batch id > 100 AND id <= 200 failed") {
		t.Fatalf("backfill: %v, want the server's refusal of the batch with 'x'", err)
	}
	if st := s.progress().Of("backfill"); st == phases.Done {
		t.Errorf("backfill is %s", st)
	}
	if got := db.One(`SELECT count(*) FROM codes WHERE id BETWEEN 101 AND 200 AND code_shepherd_new IS NOT NULL`); got != "0" {
		t.Errorf("%s rows of the failed batch kept their conversion", got)
	}
}

// The backfill's batches turn the sync triggers off on their connection
// for the batch only: a connection of shepherd's pool that ran one keeps
// the columns in step for any write after it.
func TestChangeTypeMySQLBatchesLeaveTheTriggersOn(t *testing.T) {
	t.Parallel()
	db := ledger(t, 300)
	p := mustPlan(t, "name: accounts-balance-bigint\nplaybook: change-column-type\ntable: accounts\ncolumn: balance\ntype: bigint\n")
	s, _ := session(t, db, p, Options{BatchSize: 50})
	ctx := context.Background()
	if _, err := s.Run(ctx, "backfill", nil); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	for id := 1; id <= 40; id++ { // over every connection the pool holds
		if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET balance = balance + 1 WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.One(`SELECT count(*) FROM accounts WHERE NOT (balance_shepherd_new <=> balance)`); got != "0" {
		t.Errorf("%s rows updated through shepherd's pool after the backfill have a stale shadow", got)
	}
}
