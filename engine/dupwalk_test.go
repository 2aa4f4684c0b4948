package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// accountRows is the accounts table once a test is done, id:org:email.
func accountRows(db *testdb.DB) string {
	var out []string
	for _, r := range db.Query(`SELECT id, coalesce(org, -1), coalesce(email, 'NULL') FROM accounts ORDER BY id`) {
		out = append(out, strings.Join(r, ":"))
	}
	return strings.Join(out, " ")
}

const accountsTable = `CREATE TABLE accounts (id int NOT NULL PRIMARY KEY, org int, email varchar(100))`

// concatID is a clean: expression that appends "-<id>" to email, on every
// dialect.
const concatID = `{postgres: "email || '-' || id", sqlite: "email || '-' || id", mysql: "CONCAT(email, '-', id)"}`

func accountsUniquePlan(columns, clean string) string {
	return fmt.Sprintf("name: accounts-unique\nplaybook: tighten-constraint\ntable: accounts\nconstraint: {name: accounts_unique, unique: [%s]}\nclean: {set: {email: %s}}\n", columns, clean)
}

// A UNIQUE clean keeps, in each group of equal values, the row with the
// smallest key, and cleans the others, whatever order the rows were
// written in and however the batches cut the groups; rows with a NULL in
// any of the constraint's columns are no duplicates. The walk covers the
// duplicates only: rows_done counts them (it counted every row of the
// table, each batch searching the whole table for duplicates).
func TestUniqueCleanKeepsTheFirstOfEachGroup(t *testing.T) {
	for _, tc := range []struct {
		name, columns, clean, rows, want string
		dups                             int
	}{
		{name: "one-column", columns: "email", clean: `"NULL"`,
			// a: 1, 3, 6; b: 2, 8; x written 20, 12, 15 (12 keeps it)
			rows: `(1, 1, 'a'), (2, 1, 'b'), (3, 1, 'a'), (4, 1, NULL), (5, 1, NULL), (6, 2, 'a'), (7, 1, 'c'), (8, 1, 'b'), (20, 1, 'x'), (12, 1, 'x'), (15, 1, 'x'), (30, 1, 'd')`,
			want: "1:1:a 2:1:b 3:1:NULL 4:1:NULL 5:1:NULL 6:2:NULL 7:1:c 8:1:NULL 12:1:x 15:1:NULL 20:1:NULL 30:1:d",
			dups: 5},
		{name: "two-columns", columns: "org, email", clean: concatID,
			// (1, a): 1, 3, 9; (2, a): 2, 8; a NULL org or email is no duplicate
			rows: `(1, 1, 'a'), (2, 2, 'a'), (3, 1, 'a'), (4, NULL, 'a'), (5, NULL, 'a'), (6, 1, NULL), (7, 1, NULL), (8, 2, 'a'), (9, 1, 'a'), (10, 3, 'a')`,
			want: "1:1:a 2:2:a 3:1:a-3 4:-1:a 5:-1:a 6:1:NULL 7:1:NULL 8:2:a-8 9:1:a-9 10:3:a",
			dups: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				db.Exec(accountsTable)
				db.Exec(`INSERT INTO accounts (id, org, email) VALUES ` + tc.rows)
				s, _ := session(t, db, mustPlan(t, accountsUniquePlan(tc.columns, tc.clean)), Options{BatchSize: 2})
				if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
					t.Fatalf("clean: %v", err)
				}
				if got := accountRows(db); got != tc.want {
					t.Errorf("rows after clean:\n got %s\nwant %s", got, tc.want)
				}
				st := s.st("clean")
				if want := fmt.Sprintf("%d rows cleaned", tc.dups); !strings.HasPrefix(st.Detail, want) {
					t.Errorf("clean's detail: %s; want %s", st.Detail, want)
				}
				if st.RowsDone != int64(tc.dups) {
					t.Errorf("the walk covered %d rows, want the %d duplicates", st.RowsDone, tc.dups)
				}
			})
		})
	}
}

// batchReads is what each batch read of the table, from inside its
// transaction: PostgreSQL's own count of the rows it read
// (pg_stat_xact_user_tables), MariaDB's (Rows_read, which leaves temporary
// tables out). SQLite counts none: there each read in the plans of the
// batch's statements (EXPLAIN QUERY PLAN) that is not a lookup by key
// counts a million: a scan of the table, or a search of a range of keys
// from a subquery (the old EXISTS read every row with a smaller key).
type batchReads struct {
	db    *testdb.DB
	table string
	at    int64 // the count when the batch began
	// batches holds each batch's reads.
	batches []int64
	// searches counts the searches for duplicates; with searchesOnly,
	// nothing else is counted.
	searches     int
	searchesOnly bool
	err          error
}

func (r *batchReads) watch(ctx context.Context, tx *sql.Tx, at string, script templates.Script, args [][]any) {
	if at == "search" {
		r.searches++
	}
	if r.err != nil || r.searchesOnly || at == "search" {
		return
	}
	n, err := r.count(ctx, tx, at, script, args)
	if err != nil {
		r.err = err
		return
	}
	if at == "begin" {
		r.at = n
		return
	}
	r.batches = append(r.batches, n-r.at)
}

func (r *batchReads) count(ctx context.Context, tx *sql.Tx, at string, script templates.Script, args [][]any) (int64, error) {
	var n int64
	switch r.db.Dialect {
	case "postgres":
		err := tx.QueryRowContext(ctx, `SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, r.table).Scan(&n)
		return n, err
	case "mysql":
		var name string
		err := tx.QueryRowContext(ctx, `SHOW SESSION STATUS LIKE 'Rows_read'`).Scan(&name, &n)
		return n, err
	}
	if at == "begin" {
		return 0, nil
	}
	for i, st := range script {
		rows, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.SQL, args[i]...)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				rows.Close()
				return 0, err
			}
			if strings.HasPrefix(detail, "SCAN "+r.table) || strings.HasPrefix(detail, "SCAN shepherd_dup") ||
				strings.HasPrefix(detail, "SEARCH shepherd_dup") && strings.Contains(detail, "<?") {
				n += 1_000_000
			}
		}
		rows.Close()
	}
	return n, nil
}

// The batches of a UNIQUE clean read their own rows and the first row of
// each one's group, by key, never the table: on 20,000 rows with 40
// duplicates, in batches of 5, each batch reads a few rows per row it
// cleans, and the table is searched for duplicates twice in all (the walk,
// then one more look from the start once it reaches the end), not once per
// batch. Each batch searched the whole table before: PostgreSQL read
// 20,000 rows a batch (a hash of the table), MariaDB grouped the whole
// table in every batch.
func TestUniqueCleanBatchesReadOnlyTheirRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(accountsTable)
		const rows = 20000
		for lo := 1; lo <= rows; lo += 1000 {
			var vals []string
			for id := lo; id < lo+1000; id++ {
				email := fmt.Sprintf("'u%d@x'", id)
				if id%500 == 0 {
					email = fmt.Sprintf("'u%d@x'", id-7) // a duplicate of a row 7 before
				}
				vals = append(vals, fmt.Sprintf("(%d, %d, %s)", id, id%3, email))
			}
			db.Exec("INSERT INTO accounts (id, org, email) VALUES " + strings.Join(vals, ", "))
		}
		switch db.Dialect {
		case "postgres":
			db.Exec("ANALYZE accounts")
		case "mysql":
			db.Query("ANALYZE TABLE accounts")
		}
		s, _ := session(t, db, mustPlan(t, accountsUniquePlan("email", `"NULL"`)), Options{BatchSize: 5})
		reads := &batchReads{db: db, table: "accounts"}
		s.watchBatch = reads.watch
		if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
			t.Fatalf("clean: %v", err)
		}
		if reads.err != nil {
			t.Fatalf("reading the batch's counts: %v", reads.err)
		}
		if got := db.One(`SELECT count(*) FROM accounts WHERE email IS NULL`); got != "40" {
			t.Errorf("%s rows cleaned, want the 40 duplicates", got)
		}
		if len(reads.batches) != 8 {
			t.Errorf("%d batches, want 8 of 5 duplicates", len(reads.batches))
		}
		for i, n := range reads.batches {
			if n > 4*5 {
				t.Errorf("batch %d of 5 rows read %d rows of the table, want at most 4 a row", i+1, n)
			}
		}
		if reads.searches != 2 {
			t.Errorf("the table was searched for duplicates %d times, want 2 (the walk, then one look from the start)", reads.searches)
		}
	})
}

// accountGroups are rows with duplicates: a: 1, 3, 6; b: 2, 8; x: 12, 15,
// 20; 4 and 5 have no email.
const accountGroups = `INSERT INTO accounts (id, org, email) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 1, 'a'), (4, 1, NULL), (5, 1, NULL), (6, 1, 'a'), (7, 1, 'c'), (8, 1, 'b'), (12, 1, 'x'), (15, 1, 'x'), (20, 1, 'x'), (30, 1, 'd')`

// Rows that become duplicates while the walk goes are cleaned by the same
// pass, by the rule of the moment: one written ahead of the walk, one
// changed behind it (clean used to fail on it, its key passed: "no row
// should violate …"), and the rest of a group whose first row the
// application changed: its next row keeps its value, the one after is
// cleaned, by the look from the start once the walk reached the end.
func TestUniqueCleanCatchesRowsWrittenDuringTheWalk(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(accountsTable)
		db.Exec(accountGroups)
		var s *Session
		written := false
		hook := func(point string) {
			if point != "clean:batch-done" || written {
				return
			}
			if cp := s.st("clean").Checkpoint; cp == nil || *cp != "6" {
				return
			}
			written = true
			db.Exec(`INSERT INTO accounts (id, org, email) VALUES (40, 1, 'a')`) // ahead
			db.Exec(`UPDATE accounts SET email = 'b' WHERE id = 5`)              // behind
			db.Exec(`UPDATE accounts SET email = 'y' WHERE id = 12`)             // x's first row
		}
		s, _ = session(t, db, mustPlan(t, accountsUniquePlan("email", concatID)), Options{BatchSize: 2, Failpoint: hook})
		reads := &batchReads{db: db, table: "accounts", searchesOnly: true}
		s.watchBatch = reads.watch
		if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
			t.Fatalf("clean: %v", err)
		}
		if !written {
			t.Fatal("the walk never had its checkpoint at 6")
		}
		// 3, 6; 8 and 15 (left: 12 is no longer x); 20 (left too); then,
		// from the start, 5, 20 (15 is x's first row now) and 40.
		want := "1:1:a 2:1:b 3:1:a-3 4:1:NULL 5:1:b-5 6:1:a-6 7:1:c 8:1:b-8 12:1:y 15:1:x 20:1:x-20 30:1:d 40:1:a-40"
		if got := accountRows(db); got != want {
			t.Errorf("rows after clean:\n got %s\nwant %s", got, want)
		}
		if got := s.st("clean").Detail; !strings.HasPrefix(got, "6 rows cleaned; no row violates") {
			t.Errorf("clean's detail: %s", got)
		}
		if reads.searches != 3 {
			t.Errorf("%d searches, want 3 (the walk, from the start once it reached the end, and once more finding none)", reads.searches)
		}
	})
}

// Interrupted, a UNIQUE clean resumes past its checkpoint, the last
// duplicate it cleaned: no duplicate is walked twice, none cleaned twice
// (the clean: expression appends to the value), and the rest is walked.
func TestUniqueCleanResumesAfterAnInterrupt(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(accountsTable)
		db.Exec(accountGroups)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		batches := 0
		hook := func(point string) {
			if point == "clean:batch-done" {
				if batches++; batches == 2 {
					cancel()
				}
			}
		}
		plan := mustPlan(t, accountsUniquePlan("email", concatID))
		s, _ := session(t, db, plan, Options{BatchSize: 2, Failpoint: hook})
		if err := s.RunPhase(context.Background(), "validate-in-app"); err != nil {
			t.Fatal(err)
		}
		err := s.RunPhase(ctx, "clean")
		var ie *InterruptedError
		if !errors.As(err, &ie) {
			t.Fatalf("clean, stopped after its second batch: %v, want interrupted", err)
		}
		// 3, 6, then 8, 15.
		if st := s.st("clean"); st.Checkpoint == nil || *st.Checkpoint != "15" || st.RowsDone != 4 {
			cp := "none"
			if st.Checkpoint != nil {
				cp = *st.Checkpoint
			}
			t.Fatalf("interrupted at checkpoint %s, %d rows done; want 15, 4", cp, st.RowsDone)
		}
		if got := accountRows(db); got != "1:1:a 2:1:b 3:1:a-3 4:1:NULL 5:1:NULL 6:1:a-6 7:1:c 8:1:b-8 12:1:x 15:1:x-15 20:1:x 30:1:d" {
			t.Errorf("rows when interrupted: %s", got)
		}
		s.Close()

		s2, rec := session(t, db, plan, Options{BatchSize: 2})
		reads := &batchReads{db: db, table: "accounts", searchesOnly: true}
		s2.watchBatch = reads.watch
		if err := s2.RunPhase(context.Background(), "clean"); err != nil {
			t.Fatalf("clean, resumed: %v", err)
		}
		if rec.notices("resuming from the checkpoint id 15") != 1 {
			t.Errorf("the rerun did not resume from the checkpoint")
		}
		want := "1:1:a 2:1:b 3:1:a-3 4:1:NULL 5:1:NULL 6:1:a-6 7:1:c 8:1:b-8 12:1:x 15:1:x-15 20:1:x-20 30:1:d"
		if got := accountRows(db); got != want {
			t.Errorf("rows after clean:\n got %s\nwant %s", got, want)
		}
		if got := s2.st("clean").RowsDone; got != 5 {
			t.Errorf("%d duplicates walked in all, want 5 (4, then 20)", got)
		}
		if reads.searches != 2 {
			t.Errorf("%d searches after the restart, want 2 (past the checkpoint, then from the start finding none)", reads.searches)
		}
	})
}

// walkOf lists the batches a walk of duplicates gives when nothing cleans
// them, each key:first, with searches of at most chunk duplicates.
func walkOf(t *testing.T, s *Session, chunk, n int) string {
	t.Helper()
	ctx := context.Background()
	d, err := s.newDupSource(ctx, s.builder().cleanJob("clean"), chunk)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		b, more, err := d.next(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return strings.Join(out, " | ")
		}
		var batch []string
		for i, k := range b.keys {
			batch = append(batch, keyText(k)+":"+keyText(b.firsts[i]))
		}
		out = append(out, strings.Join(batch, " "))
	}
}

// The search gives each duplicate its group's first key, in key order, for
// text keys too; a search that finds as many as it may hold is followed by
// one past its last. Nothing cleaning them here, the walk looks from the
// start twice more, then stops.
func TestDuplicateSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE accounts (id varchar(20) NOT NULL PRIMARY KEY, org int, email varchar(100))`)
		db.Exec(`INSERT INTO accounts (id, org, email) VALUES ('k10', 1, 'a'), ('k02', 1, 'a'), ('k05', 1, 'b'), ('k01', 1, 'b'), ('k07', 1, 'a'), ('k08', 1, 'c'), ('k09', 1, 'c'), ('k03', 1, NULL), ('k04', 1, NULL)`)
		s, _ := session(t, db, mustPlan(t, accountsUniquePlan("email", `"NULL"`)), Options{})
		once := "k05:k01 k07:k02 | k09:k08 k10:k02"
		if got, want := walkOf(t, s, 2, 5), once+" | "+once+" | "+once; got != want {
			t.Errorf("batches:\n got %s\nwant %s", got, want)
		}
		if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
			t.Fatalf("clean: %v", err)
		}
		if got := fmt.Sprint(db.Query(`SELECT id FROM accounts WHERE email IS NULL ORDER BY id`)); got != "[[k03] [k04] [k05] [k07] [k09] [k10]]" {
			t.Errorf("rows without an email after clean: %s", got)
		}
	})
}
