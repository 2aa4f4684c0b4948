package engine

import (
	"context"
	"database/sql"
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

const parentBigintPlan = `name: parent-id-bigint
playbook: change-column-type
table: parent
column: id
type: bigint
`

// parentChild is a parent whose serial integer primary key a child's
// foreign key references, with rows rows in each.
func parentChild(t *testing.T, rows int) *testdb.DB {
	db := testdb.New(t, "postgres")
	db.Exec(fmt.Sprintf(`CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL);
CREATE INDEX parent_id_name_idx ON parent (id, name);
CREATE TABLE child (id serial PRIMARY KEY, parent_id integer NOT NULL REFERENCES parent (id), note text);
INSERT INTO parent (name) SELECT 'p' || g FROM generate_series(1, %d) g;
INSERT INTO child (parent_id, note) SELECT g, 'c' FROM generate_series(1, %d) g;`, rows, rows))
	return db
}

// traffic is application writes to parent and child, from writers
// goroutines, until stopped: inserts into both tables (the child's row
// references the parent's just inserted) and updates of parent rows. The
// SQL names only the columns the application knows, never the shadow.
type traffic struct {
	db     *sql.DB
	stop   chan struct{}
	wg     sync.WaitGroup
	ops    atomic.Int64
	mu     sync.Mutex
	errs   []string
	maxGap atomic.Int64 // the longest write, in microseconds
	// phase is the phase shepherd runs (set from its events); gaps the
	// longest write while each ran.
	phase atomic.Value
	gaps  sync.Map // phase -> *atomic.Int64
}

// gap records a write's time under the phase that was running.
func (tr *traffic) gap(d time.Duration) {
	ph, _ := tr.phase.Load().(string)
	v, _ := tr.gaps.LoadOrStore(ph, new(atomic.Int64))
	if m := v.(*atomic.Int64); d.Microseconds() > m.Load() {
		m.Store(d.Microseconds())
	}
}

func startTraffic(db *sql.DB, writers int) *traffic {
	tr := &traffic{db: db, stop: make(chan struct{})}
	for w := 0; w < writers; w++ {
		tr.wg.Add(1)
		go func(w int) {
			defer tr.wg.Done()
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				start := time.Now()
				var id int64
				err := db.QueryRowContext(ctx, `INSERT INTO parent (name) VALUES ($1) RETURNING id`, fmt.Sprintf("w%d-%d", w, i)).Scan(&id)
				if err == nil {
					_, err = db.ExecContext(ctx, `INSERT INTO child (parent_id, note) VALUES ($1, 'x')`, id)
				}
				if err == nil {
					_, err = db.ExecContext(ctx, `UPDATE parent SET name = name || '.' WHERE id = $1`, id-int64(w+1))
				}
				if gap := time.Since(start).Microseconds(); gap > tr.maxGap.Load() {
					tr.maxGap.Store(gap)
				}
				tr.gap(time.Since(start))
				if err != nil {
					tr.mu.Lock()
					tr.errs = append(tr.errs, err.Error())
					tr.mu.Unlock()
				}
				tr.ops.Add(1)
				time.Sleep(time.Millisecond)
			}
		}(w)
	}
	return tr
}

func (tr *traffic) end(t *testing.T) {
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
	tr.gaps.Range(func(k, v any) bool {
		t.Logf("  longest write during %q: %s", k, time.Duration(v.(*atomic.Int64).Load())*time.Microsecond)
		return true
	})
}

// The headline case: parent.id, a serial integer primary key that
// child.parent_id references, becomes bigint while the application
// inserts into both tables and updates parent: no write fails, and at the
// end the column is bigint, holds the primary key and its sequence (now
// bigint too), and the foreign key is valid.
func TestChangeTypeIntToBigintUnderTraffic(t *testing.T) {
	t.Parallel()
	db := parentChild(t, 3000)
	p := mustPlan(t, parentBigintPlan)
	// The application's pool runs each statement unprepared (pgx's exec
	// mode): a statement prepared before the swap whose result includes
	// the column fails once after it ("cached plan must not change result
	// type"), as PostgreSQL refuses to change a prepared statement's
	// result type. That is the readers' deploy's to handle, not the swap's.
	app, err := sql.Open("pgx", appDSN(db.DSN))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	tr := startTraffic(app, 3)
	ctx := context.Background()

	watch := func(e Event) {
		if e.Event == EventPhaseStart || e.Event == EventStep {
			tr.phase.Store(e.Phase + ": " + firstWords(e.SQL))
		}
	}
	s, _ := session(t, db, p, Options{BatchSize: 500, Emit: watch})
	out, err := s.Run(ctx, "", map[string]bool{"deploy-readers": true, "stop-old-writes": true})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out != AtGate || s.progress().Of("drop-old-column") == phases.Done {
		t.Fatalf("the run that confirmed stop-old-writes went on to drop the old column")
	}
	// The swap's state on the way: the old column aside, nullable, and
	// kept in step by the triggers for the writes that go on.
	time.Sleep(50 * time.Millisecond)
	if got := db.One(`SELECT count(*) FROM parent WHERE id_shepherd_old IS DISTINCT FROM id::integer`); got != "0" {
		t.Errorf("%s rows' id_shepherd_old differ from id after the swap", got)
	}
	s.Close()

	s2, _ := session(t, db, p, Options{})
	if out, err := s2.Run(ctx, "", map[string]bool{"drop-old-column": true}); err != nil || out != Reached {
		t.Fatalf("drop-old-column: %v (%v)", err, out)
	}
	tr.end(t)

	if got := db.One(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname = 'id'`); got != "bigint" {
		t.Errorf("parent.id is %s, want bigint", got)
	}
	if got := db.One(`SELECT convalidated FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'`); got != "true" {
		t.Errorf("child's foreign key convalidated = %s, want true", got)
	}
	if got := db.One(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'parent'::regclass AND contype = 'p'`); got != "PRIMARY KEY (id)" {
		t.Errorf("parent's primary key is %q", got)
	}
	if got := db.One(`SELECT format_type(seqtypid, NULL) FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('parent', 'id')::regclass`); got != "bigint" {
		t.Errorf("parent's sequence is %s, want bigint", got)
	}
	if got := db.One(`SELECT count(*) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname LIKE 'id_shepherd%' AND NOT attisdropped`); got != "0" {
		t.Errorf("%s shepherd columns are left on parent", got)
	}
	if got := db.One(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'parent'::regclass AND NOT tgisinternal`); got != "0" {
		t.Errorf("%s triggers are left on parent", got)
	}
	if got := db.One(`SELECT pg_get_indexdef('parent_id_name_idx'::regclass)`); !strings.Contains(got, "(id, name)") {
		t.Errorf("parent_id_name_idx is %s, want it on (id, name)", got)
	}
	if got := db.One(`SELECT count(*) FROM child c LEFT JOIN parent p ON p.id = c.parent_id WHERE p.id IS NULL`); got != "0" {
		t.Errorf("%s children have no parent", got)
	}
	// The application goes on writing with the new type.
	db.Exec(`INSERT INTO parent (id, name) VALUES (3000000000, 'big')`)
}

// firstWords are a statement's first words, to name it in a log.
func firstWords(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(len(f), 6)], " ")
}

// appDSN is the test database's DSN for an application that does not keep
// prepared statements.
func appDSN(dsn string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "default_query_exec_mode=exec"
}

// Every phase before the point of no return rolls back: the swap swaps
// back (the foreign key valid, the primary key and the default on the
// integer column again), and add-shadow drops the shadow and the
// triggers; the plan then runs again to the end.
func TestChangeTypeRollback(t *testing.T) {
	t.Parallel()
	db := parentChild(t, 1000)
	p := mustPlan(t, parentBigintPlan)
	ctx := context.Background()
	s, _ := session(t, db, p, Options{})
	if _, err := s.Run(ctx, "swap", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatalf("run to swap: %v", err)
	}
	// Written after the swap: the triggers give the old column its value.
	db.Exec(`INSERT INTO parent (name) VALUES ('after the swap')`)
	for _, want := range []string{"swap", "deploy-readers", "backfill", "add-shadow"} {
		ph, err := s.Rollback(ctx)
		if err != nil {
			t.Fatalf("rollback %s: %v", want, err)
		}
		if ph.ID != want {
			t.Fatalf("rolled back %s, want %s", ph.ID, want)
		}
		if want == "swap" {
			for q, want := range map[string]string{
				`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname = 'id'`:                                                                           "integer",
				`SELECT convalidated FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'`:                                                                                                "true",
				`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'parent'::regclass AND contype = 'p'`:                                                                                  "PRIMARY KEY (id)",
				`SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'parent'::regclass AND adnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname = 'id')`: "nextval('parent_id_seq'::regclass)",
				`SELECT count(*) FROM parent WHERE name = 'after the swap' AND id IS NOT NULL`:                                                                                                               "1",
			} {
				if got := db.One(q); got != want {
					t.Errorf("after the swap back, %s = %q, want %q", q, got, want)
				}
			}
			db.Exec(`INSERT INTO parent (name) VALUES ('after the swap back')`)
			if got := db.One(`SELECT count(*) FROM parent WHERE id_shepherd_new IS DISTINCT FROM id::bigint`); got != "0" {
				t.Errorf("%s rows' id_shepherd_new differ from id after the swap back", got)
			}
		}
	}
	if got := db.One(`SELECT count(*) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname LIKE 'id_shepherd%' AND NOT attisdropped`); got != "0" {
		t.Errorf("%s shepherd columns are left on parent after the rollback", got)
	}
	if got := db.One(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'parent'::regclass AND NOT tgisinternal`); got != "0" {
		t.Errorf("%s triggers are left on parent after the rollback", got)
	}
	if _, err := s.Run(ctx, "swap", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatalf("run again to swap: %v", err)
	}
	if got := db.One(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname = 'id'`); got != "bigint" {
		t.Errorf("parent.id is %s after running again, want bigint", got)
	}
}

// A conversion that fails on some rows fails the backfill, naming the
// conversion, how many rows, and some of their keys; no batch with such a
// row is kept, and the phase is not done. A conversion that gives NULL
// for a value fails it too.
func TestChangeTypeConversionFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, using, want string
		count             string
	}{
		{"invalid input", "", "should succeed for every row", "(2 rows; keys 7, 1500)"},
		{"NULL from a value", "NULLIF(code, 'x')", "it gives NULL", "(2 rows; keys 7, 1500)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "postgres")
			db.Exec(`CREATE TABLE items (id bigint PRIMARY KEY, code text);
INSERT INTO items SELECT g, g::text FROM generate_series(1, 2000) g;
UPDATE items SET code = 'x' WHERE id IN (7, 1500);`)
			plan := "name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: integer\n"
			if tc.using != "" {
				plan += "using: \"CAST(" + tc.using + " AS integer)\"\n"
			}
			s, _ := session(t, db, mustPlan(t, plan), Options{BatchSize: 200})
			_, err := s.Run(context.Background(), "backfill", nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("backfill: %v, want a verification failure", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.count) {
				t.Errorf("backfill failed with %q, want it to say %q and %q", err, tc.want, tc.count)
			}
			if st := s.progress().Of("backfill"); st == phases.Done {
				t.Errorf("backfill is %s", st)
			}
		})
	}
}

// plan shows the playbook on every dialect without a database.
func TestChangeTypePreviewsOnEveryDialect(t *testing.T) {
	p := mustPlan(t, parentBigintPlan)
	for _, d := range []string{phases.Postgres, phases.MySQL, phases.SQLite} {
		if _, err := Preview(p, d); err != nil {
			t.Errorf("%s: preview: %v", d, err)
		}
	}
}

// A view reads the column by its position, not its name: the swap leaves
// it on the old column, and the plan warns of it from the start.
func TestChangeTypeWarnsOfViews(t *testing.T) {
	t.Parallel()
	db := parentChild(t, 10)
	db.Exec(`CREATE VIEW parent_names AS SELECT id, name FROM parent`)
	s, _ := session(t, db, mustPlan(t, parentBigintPlan), Options{})
	w := strings.Join(s.warnings, "\n")
	if !strings.Contains(w, "view") || !strings.Contains(w, "parent_names") {
		t.Errorf("warnings %q do not name the view", w)
	}
}

// A run stopped right after the swap's transaction committed, before the
// foreign key it re-added NOT VALID is validated, leaves the phase to a
// rerun: the rerun skips what took effect and validates the key.
func TestChangeTypeSwapStoppedAfterItsTransaction(t *testing.T) {
	t.Parallel()
	db := parentChild(t, 500)
	p := mustPlan(t, parentBigintPlan)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var swapRan atomic.Bool
	opts := Options{
		Emit: func(e Event) {
			if e.Event == EventStep && strings.HasPrefix(e.SQL, "DO $shepherd_swap$") {
				swapRan.Store(true)
			}
		},
		Failpoint: func(point string) {
			if swapRan.Load() && strings.HasPrefix(point, "swap:step-") && strings.HasSuffix(point, "-done") {
				cancel()
			}
		},
	}
	s, _ := session(t, db, p, opts)
	if _, err := s.Run(ctx, "swap", map[string]bool{"deploy-readers": true}); err == nil {
		t.Fatal("the run went through the swap; want it stopped after its transaction")
	}
	if got := db.One(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'parent'::regclass AND attname = 'id'`); got != "bigint" {
		t.Fatalf("the swap's transaction did not commit before the stop: id is %s", got)
	}
	if got := db.One(`SELECT convalidated FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'`); got != "false" {
		t.Fatalf("child's foreign key convalidated = %s before the rerun; the stop came too late to test the rerun", got)
	}
	swapRan.Store(false)
	s.Close()
	s2, rec := session(t, db, p, Options{})
	if _, err := s2.Run(context.Background(), "swap", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if got := db.One(`SELECT convalidated FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'`); got != "true" {
		t.Errorf("child's foreign key convalidated = %s after the rerun", got)
	}
	if n := len(rec.find(EventStep, `^DO \$shepherd_swap\$`)); n != 0 {
		t.Errorf("the rerun ran the swap's transaction again (%d times)", n)
	}
	if s2.progress().Of("swap") != phases.Done {
		t.Errorf("swap is %s after the rerun", s2.progress().Of("swap"))
	}
}

// An identity column is refused before anything changes, saying why.
func TestChangeTypeRefusesIdentity(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE things (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)`)
	eng, err := Open(context.Background(), db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_, err = eng.Start(context.Background(), mustPlan(t, strings.ReplaceAll(parentBigintPlan, "parent", "things")), Options{Emit: func(Event) {}})
	var se *SchemaError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "is an identity column") {
		t.Fatalf("start: %v, want a SchemaError about the identity column", err)
	}
	if got := db.One(`SELECT count(*) FROM pg_attribute WHERE attrelid = 'things'::regclass AND attname = 'id_shepherd_new'`); got != "0" {
		t.Errorf("the shadow column was added")
	}
}

// Other shapes the swap moves: a column with a UNIQUE constraint that
// another table's foreign key references, and a text column converted to
// jsonb by using: (and back by reverse:), with an index and NOT NULL.
func TestChangeTypeShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, setup, plan string
		checks            map[string]string // query -> want, at the end
		after             string            // a write of new code after the swap
	}{
		{
			name: "unique referenced",
			setup: `CREATE TABLE codes (id bigint PRIMARY KEY, code varchar(20) NOT NULL CONSTRAINT codes_code_key UNIQUE);
CREATE TABLE uses (id bigint PRIMARY KEY, code varchar(20) REFERENCES codes (code));
INSERT INTO codes SELECT g, 'c' || g FROM generate_series(1, 300) g;
INSERT INTO uses SELECT g, 'c' || g FROM generate_series(1, 300) g;`,
			plan: "name: codes-wider\nplaybook: change-column-type\ntable: codes\ncolumn: code\ntype: varchar(255)\n",
			checks: map[string]string{
				`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'codes'::regclass AND attname = 'code'`: "character varying(255)",
				`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'codes_code_key'`:                              "UNIQUE (code)",
				`SELECT convalidated FROM pg_constraint WHERE conrelid = 'uses'::regclass AND contype = 'f'`:                        "true",
				`SELECT attnotnull FROM pg_attribute WHERE attrelid = 'codes'::regclass AND attname = 'code'`:                       "true",
				`SELECT count(*) FROM codes WHERE code = 'c' || id`:                                                                 "301",
			},
			after: `INSERT INTO codes VALUES (301, 'c301')`,
		},
		{
			name: "plain column with NULLs, a default and a CHECK",
			setup: `CREATE TABLE ledger (id bigint PRIMARY KEY, amount integer DEFAULT 7 CONSTRAINT ledger_amount_check CHECK (amount >= 0));
INSERT INTO ledger SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g END FROM generate_series(1, 300) g;`,
			plan: "name: ledger-amount\nplaybook: change-column-type\ntable: ledger\ncolumn: amount\ntype: bigint\n",
			checks: map[string]string{
				`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ledger'::regclass AND attname = 'amount'`: "bigint",
				`SELECT pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint WHERE conname = 'ledger_amount_check'`:     "CHECK ((amount >= 0)) true",
				`SELECT count(*) FROM ledger WHERE amount IS NULL`:                                                                     "30",
				`SELECT amount FROM ledger WHERE id = 301`:                                                                             "7",
				`SELECT amount_shepherd_old FROM ledger WHERE id = 301`:                                                                "7",
				`SELECT attnotnull FROM pg_attribute WHERE attrelid = 'ledger'::regclass AND attname = 'amount'`:                       "false",
			},
			after: `INSERT INTO ledger (id) VALUES (301)`,
		},
		{
			name: "text to jsonb",
			setup: `CREATE TABLE docs (id bigint PRIMARY KEY, payload text NOT NULL);
CREATE INDEX docs_payload_idx ON docs (payload);
INSERT INTO docs SELECT g, '{"n": ' || g || '}' FROM generate_series(1, 300) g;`,
			plan: "name: docs-jsonb\nplaybook: change-column-type\ntable: docs\ncolumn: payload\ntype: jsonb\nusing: \"payload::jsonb\"\nreverse: \"payload::text\"\n",
			checks: map[string]string{
				`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'docs'::regclass AND attname = 'payload'`: "jsonb",
				`SELECT pg_get_indexdef('docs_payload_idx'::regclass)`:                                                                "CREATE INDEX docs_payload_idx ON public.docs USING btree (payload)",
				`SELECT count(*) FROM docs WHERE (payload->>'n')::int = id`:                                                           "301",
				`SELECT payload_shepherd_old FROM docs WHERE id = 301`:                                                                `{"n": 301}`,
			},
			after: `INSERT INTO docs VALUES (301, '{"n": 301}'::jsonb)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "postgres")
			db.Exec(tc.setup)
			s, _ := session(t, db, mustPlan(t, tc.plan), Options{BatchSize: 100})
			if _, err := s.Run(context.Background(), "stop-old-writes", map[string]bool{"deploy-readers": true, "stop-old-writes": true}); err != nil {
				t.Fatalf("run: %v", err)
			}
			db.Exec(tc.after)
			for q, want := range tc.checks {
				if got := db.One(q); got != want {
					t.Errorf("%s = %q, want %q", q, got, want)
				}
			}
		})
	}
}

// The playbook's own triggers are not warned of as triggers that fire on
// the backfill's batches.
func TestChangeTypeOwnTriggersNotWarned(t *testing.T) {
	t.Parallel()
	db := parentChild(t, 10)
	p := mustPlan(t, parentBigintPlan)
	s, _ := session(t, db, p, Options{})
	if _, err := s.Run(context.Background(), "add-shadow", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, _ := session(t, db, p, Options{})
	for _, w := range s2.warnings {
		if strings.Contains(w, "shepherd_sync_") {
			t.Errorf("warned of the playbook's own trigger: %s", w)
		}
	}
}

// A conversion that failed on some rows is fixed by editing using: (it
// may change until the backfill is done): the rerun converts with the new
// expression, and so do the triggers for the application's writes.
func TestChangeTypeUsingEditedAfterFailure(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE items (id bigint PRIMARY KEY, code text);
INSERT INTO items SELECT g, g::text FROM generate_series(1, 500) g;
UPDATE items SET code = 'x' WHERE id = 42;`)
	plan := "name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: integer\n"
	s, _ := session(t, db, mustPlan(t, plan), Options{BatchSize: 100})
	if _, err := s.Run(context.Background(), "backfill", nil); err == nil {
		t.Fatal("backfill went through a value the cast cannot convert")
	}
	s.Close()
	edited := mustPlan(t, plan+"using: \"CASE WHEN code ~ '^[0-9]+$' THEN code::integer ELSE -1 END\"\n")
	s2, _ := session(t, db, edited, Options{BatchSize: 100})
	if _, err := s2.Run(context.Background(), "backfill", nil); err != nil {
		t.Fatalf("backfill with the edited using: %v", err)
	}
	db.Exec(`INSERT INTO items VALUES (501, 'y')`)
	for q, want := range map[string]string{
		`SELECT code_shepherd_new FROM items WHERE id = 42`:  "-1",
		`SELECT code_shepherd_new FROM items WHERE id = 7`:   "7",
		`SELECT code_shepherd_new FROM items WHERE id = 501`: "-1",
	} {
		if got := db.One(q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
}

// On SQLite the swap rebuilds the table: the column keeps its constraints,
// default and index with the new type and values, the old values stay
// beside it until drop-old-column, the triggers follow the names; the swap
// rolls back the same way, and runs again to the end.
func TestChangeTypeSQLite(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT NOT NULL DEFAULT '0', name TEXT);
CREATE INDEX items_code_idx ON items (code);
CREATE TABLE refs (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id));
WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < 400)
INSERT INTO items (id, code, name) SELECT value, CAST(value AS TEXT), 'n' FROM g;
INSERT INTO refs (id, item_id) SELECT id, id FROM items;`)
	p := mustPlan(t, "name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: integer\n")
	ctx := context.Background()
	s, _ := session(t, db, p, Options{BatchSize: 100})
	if _, err := s.Run(ctx, "stop-old-writes", map[string]bool{"deploy-readers": true, "stop-old-writes": true}); err != nil {
		t.Fatalf("run: %v", err)
	}
	db.Exec(`INSERT INTO items (id, code) VALUES (401, 401)`) // new code writes the integer
	swapped := map[string]string{
		`SELECT type FROM pragma_table_info('items') WHERE name = 'code'`:                           "INTEGER",
		`SELECT "notnull" || ' ' || dflt_value FROM pragma_table_info('items') WHERE name = 'code'`: "1 '0'",
		`SELECT count(*) FROM items WHERE typeof(code) = 'integer' AND code = id`:                   "401",
		`SELECT typeof(code_shepherd_old) || ' ' || code_shepherd_old FROM items WHERE id = 401`:    "text 401",
		`SELECT count(*) FROM sqlite_schema WHERE name = 'items_code_idx' AND sql LIKE '%(code)%'`:  "1",
		`SELECT count(*) FROM pragma_foreign_key_check('refs')`:                                     "0",
	}
	for q, want := range swapped {
		if got := db.One(q); got != want {
			t.Errorf("after the swap, %s = %q, want %q", q, got, want)
		}
	}
	for _, want := range []string{"stop-old-writes", "swap"} {
		if ph, err := s.Rollback(ctx); err != nil || ph.ID != want {
			t.Fatalf("rollback: %v (%s), want %s", err, ph.ID, want)
		}
	}
	db.Exec(`INSERT INTO items (id, code) VALUES (402, '402')`) // old code again
	for q, want := range map[string]string{
		`SELECT type FROM pragma_table_info('items') WHERE name = 'code'`:                        "TEXT",
		`SELECT typeof(code) || ' ' || code FROM items WHERE id = 401`:                           "text 401",
		`SELECT typeof(code_shepherd_new) || ' ' || code_shepherd_new FROM items WHERE id = 402`: "integer 402",
		`SELECT count(*) FROM pragma_table_info('items') WHERE name = 'code_shepherd_old'`:       "0",
	} {
		if got := db.One(q); got != want {
			t.Errorf("after the swap back, %s = %q, want %q", q, got, want)
		}
	}
	s.Close()
	s2, _ := session(t, db, p, Options{})
	if _, err := s2.Run(ctx, "stop-old-writes", map[string]bool{"stop-old-writes": true}); err != nil {
		t.Fatalf("run again: %v", err)
	}
	s2.Close()
	s3, _ := session(t, db, p, Options{})
	if _, err := s3.Run(ctx, "", map[string]bool{"drop-old-column": true}); err != nil {
		t.Fatalf("drop-old-column: %v", err)
	}
	for q, want := range map[string]string{
		`SELECT type FROM pragma_table_info('items') WHERE name = 'code'`:                  "INTEGER",
		`SELECT count(*) FROM pragma_table_info('items') WHERE name LIKE 'code_shepherd%'`: "0",
		`SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'`:                        "0",
		`SELECT count(*) FROM items WHERE typeof(code) = 'integer' AND code = id`:          "402",
	} {
		if got := db.One(q); got != want {
			t.Errorf("at the end, %s = %q, want %q", q, got, want)
		}
	}
}

// SQLite's INTEGER PRIMARY KEY is the rowid: refused before anything
// changes.
func TestChangeTypeSQLiteRefusesRowid(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)`)
	eng, err := Open(context.Background(), db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_, err = eng.Start(context.Background(), mustPlan(t, parentBigintPlan), Options{Emit: func(Event) {}})
	if err == nil || !strings.Contains(err.Error(), "the rowid itself") {
		t.Fatalf("start: %v, want a refusal naming the rowid", err)
	}
}

// The backfill writes the shadow from the old column itself: the sync
// triggers must not take that for a write of the new column and write the
// old one back through the reverse conversion, which is not always the
// identity. Text '007' converted to 7 would come back as '7'; JSON text
// with its own spacing would come back normalized.
func TestChangeTypeBackfillLeavesTheOldColumnAsItWas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dialect, setup, plan, check string
	}{
		{phases.Postgres,
			`CREATE TABLE items (id bigint PRIMARY KEY, doc text NOT NULL);
INSERT INTO items SELECT g, '{"b":' || g || ',   "a":1}' FROM generate_series(1, 500) g;`,
			"name: items-doc-json\nplaybook: change-column-type\ntable: items\ncolumn: doc\ntype: jsonb\nusing: \"doc::jsonb\"\n",
			`SELECT count(*) FROM items WHERE doc <> '{"b":' || id || ',   "a":1}' OR doc_shepherd_new IS DISTINCT FROM doc::jsonb`},
		{phases.SQLite,
			`CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
WITH RECURSIVE g(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM g WHERE v < 500)
INSERT INTO items SELECT v, printf('%05d', v) FROM g;`,
			"name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: integer\n",
			`SELECT count(*) FROM items WHERE code <> printf('%05d', id) OR code_shepherd_new IS NOT id`},
		{phases.MySQL,
			`CREATE TABLE items (id int PRIMARY KEY, code varchar(10) NOT NULL);
INSERT INTO items SELECT seq, LPAD(seq, 5, '0') FROM seq_1_to_500;`,
			"name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: int\n",
			`SELECT count(*) FROM items WHERE CAST(code AS BINARY) <> CAST(LPAD(id, 5, '0') AS BINARY) OR NOT (code_shepherd_new <=> id)`},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, tc.dialect)
			db.Exec(tc.setup)
			s, _ := session(t, db, mustPlan(t, tc.plan), Options{BatchSize: 100})
			if _, err := s.Run(context.Background(), "backfill", nil); err != nil {
				t.Fatalf("backfill: %v", err)
			}
			if st := s.progress().Of("backfill"); st != phases.Done {
				t.Fatalf("backfill is %s", st)
			}
			if got := db.One(tc.check); got != "0" {
				t.Errorf("%s rows have an old column rewritten or a wrong shadow after the backfill", got)
			}
		})
	}
}

// A conversion that names the column with its table (items.code) runs in
// the sync triggers as in the backfill: a write of old code after
// add-shadow gets its shadow converted.
func TestChangeTypeTriggerTakesAQualifiedColumn(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, phases.Postgres)
	db.Exec(`CREATE TABLE items (id bigint PRIMARY KEY, code text NOT NULL);
INSERT INTO items SELECT g, lpad(g::text, 4, '0') FROM generate_series(1, 50) g;`)
	s, _ := session(t, db, mustPlan(t, "name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: integer\nusing: \"items.code::integer * 10\"\nreverse: \"lpad((items.code / 10)::text, 4, '0')\"\n"), Options{BatchSize: 20})
	if _, err := s.Run(context.Background(), "backfill", nil); err != nil {
		t.Fatalf("run: %v", err)
	}
	db.Exec(`INSERT INTO items (id, code) VALUES (51, '0051')`)
	db.Exec(`UPDATE items SET code = '0007' WHERE id = 3`)
	for q, want := range map[string]string{
		`SELECT code_shepherd_new FROM items WHERE id = 51`:                    "510",
		`SELECT code_shepherd_new FROM items WHERE id = 3`:                     "70",
		`SELECT count(*) FROM items WHERE code_shepherd_new <> code::int * 10`: "0",
	} {
		if got := db.One(q); got != want {
			t.Errorf("%s = %s, want %s", q, got, want)
		}
	}
}

// The backfill makes the triggers again with the plan's conversions; both
// must be there after it, so that a row old code inserts between the
// backfill and the swap gets its shadow, and keeps its value through the
// swap. (On SQLite the insert trigger was dropped and never made again:
// the swap turned such a row's value into NULL.)
func TestChangeTypeTriggersSurviveTheBackfill(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{phases.Postgres, phases.SQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Exec(`CREATE TABLE items (id bigint PRIMARY KEY, code text NOT NULL)`)
			db.Exec(`INSERT INTO items (id, code) VALUES (1, '0001'), (2, '0002'), (3, '0003')`)
			s, _ := session(t, db, mustPlan(t, "name: items-code-int\nplaybook: change-column-type\ntable: items\ncolumn: code\ntype: integer\n"), Options{})
			ctx := context.Background()
			if _, err := s.Run(ctx, "backfill", nil); err != nil {
				t.Fatalf("backfill: %v", err)
			}
			db.Exec(`INSERT INTO items (id, code) VALUES (4, '0004')`)
			db.Exec(`UPDATE items SET code = '0020' WHERE id = 2`)
			if got := db.One(`SELECT count(*) FROM items WHERE code_shepherd_new IS NULL OR code_shepherd_new <> CAST(code AS integer)`); got != "0" {
				t.Fatalf("%s rows without their shadow after old code's writes", got)
			}
			if _, err := s.Run(ctx, "swap", map[string]bool{"deploy-readers": true}); err != nil {
				t.Fatalf("swap: %v", err)
			}
			if got := db.One(`SELECT count(*) FROM items WHERE code IS NULL`); got != "0" {
				t.Errorf("%s rows lost their value in the swap", got)
			}
			if got := db.One(`SELECT code FROM items WHERE id = 4`); got != "4" {
				t.Errorf("the row inserted after the backfill has code %s after the swap, want 4", got)
			}
		})
	}
}

// An UPDATE of the column keeps the other one in step on both sides of the
// swap: after it the old values follow (for the swap's rollback), after
// the swap back the shadow does. The triggers fire on writes of the column
// application code writes, which the swap moves to the other column.
func TestChangeTypeUpdatesFollowTheSwap(t *testing.T) {
	t.Parallel()
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if ok, why := testdb.Available(dialect); !ok {
				t.Skip(why)
			}
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Exec(`CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL)`)
			db.Exec(`INSERT INTO items (id, n) VALUES (1, 10), (2, 20), (3, 30)`)
			p := mustPlan(t, "name: items-n-bigint\nplaybook: change-column-type\ntable: items\ncolumn: n\ntype: bigint\n")
			ctx := context.Background()
			s, _ := session(t, db, p, Options{})
			if _, err := s.Run(ctx, "swap", map[string]bool{"deploy-readers": true}); err != nil {
				t.Fatalf("run to swap: %v", err)
			}
			db.Exec(`UPDATE items SET n = 11 WHERE id = 1`)
			if got := db.One(`SELECT n_shepherd_old FROM items WHERE id = 1`); got != "11" {
				t.Errorf("after the swap, an update of n left n_shepherd_old at %s, want 11", got)
			}
			if ph, err := s.Rollback(ctx); err != nil || ph.ID != "swap" {
				t.Fatalf("rollback: %v (%s)", err, ph.ID)
			}
			db.Exec(`UPDATE items SET n = 22 WHERE id = 2`)
			if got := db.One(`SELECT n_shepherd_new FROM items WHERE id = 2`); got != "22" {
				t.Errorf("after the swap back, an update of n left n_shepherd_new at %s, want 22", got)
			}
			if got := db.One(`SELECT n FROM items WHERE id = 1`); got != "11" {
				t.Errorf("after the swap back, n is %s where it was updated to 11 after the swap", got)
			}
		})
	}
}
