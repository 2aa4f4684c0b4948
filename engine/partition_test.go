package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// Partitioned tables are PostgreSQL's only (relkind 'p', PARTITION BY):
// these tests run there alone.

// eventsTable is a table partitioned by range on its key, id, in three
// partitions with rows in each. Its key is its partition key: a
// partitioned table's unique index (what shepherd walks batches on) must
// include the partition key, so a single-column key is the partition key,
// and a UNIQUE PostgreSQL allows there includes it. Such a UNIQUE refuses
// no write the key does not: the key is DEFERRABLE here so that the
// UNIQUE's own index, checked at once, is the one that refuses a
// duplicate (verify-failure-path's proof, and the tests' own writes); with
// an immediate key, the key refuses it first and the proof cannot pass.
func eventsTable(db *testdb.DB) {
	db.Exec(`CREATE TABLE events (id int NOT NULL, email text, amount int NOT NULL DEFAULT 0, CONSTRAINT events_pkey PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED) PARTITION BY RANGE (id);
CREATE TABLE events_p1 PARTITION OF events FOR VALUES FROM (0) TO (100);
CREATE TABLE events_p2 PARTITION OF events FOR VALUES FROM (100) TO (200);
CREATE TABLE events_p3 PARTITION OF events FOR VALUES FROM (200) TO (300);
INSERT INTO events (id, email, amount) VALUES (1, 'a', 1), (2, 'a', 1), (101, 'b', 2), (102, 'b', 2), (201, 'c', 3), (202, 'a', 3)`)
}

func eventsPlan(unique string) string {
	return fmt.Sprintf("name: events-unique\nplaybook: tighten-constraint\ntable: events\nconstraint: {name: events_email_key, unique: [%s]}\nclean: {set: {email: \"NULL\"}}\n", unique)
}

// pgOnly is a fresh PostgreSQL database, or a skip without one.
func pgOnly(t *testing.T) *testdb.DB {
	t.Helper()
	if ok, why := testdb.Available("postgres"); !ok {
		t.Skip(why)
	}
	return testdb.New(t, "postgres")
}

// leftovers counts the indexes and constraints named like the plan's
// constraint (the parent's and every partition's) that are in the catalog.
func leftovers(db *testdb.DB) string {
	return db.One(`SELECT (SELECT count(*) FROM pg_class WHERE relkind IN ('i', 'I') AND relname LIKE 'events_email_key%')
  + (SELECT count(*) FROM pg_constraint WHERE conname LIKE 'events_email_key%')`)
}

// A UNIQUE that leaves out the partition key (or sits on a sub-partitioned
// table, or a key with an expression) is refused when the session starts,
// naming the field and the partition key, before any phase ran: no state,
// no index. It used to pass every check and fail at add-constraint, after
// validate-in-app and clean, with PostgreSQL's "cannot create index on
// partitioned table concurrently".
func TestPartitionedUniqueRefusedBeforeAnythingChanges(t *testing.T) {
	cases := []struct {
		name, setup, plan string
		want              []string
	}{
		{name: "without the partition key", setup: "", plan: eventsPlan("email"),
			want: []string{"constraint.unique: events is partitioned (PARTITION BY RANGE (id))", "include every partition key column", "(email) lacks id", "add id to constraint.unique"}},
		{name: "sub-partitioned", setup: `DROP TABLE events_p3;
CREATE TABLE events_p3 PARTITION OF events FOR VALUES FROM (200) TO (300) PARTITION BY RANGE (id);
CREATE TABLE events_p3a PARTITION OF events_p3 FOR VALUES FROM (200) TO (300);
INSERT INTO events (id, email, amount) VALUES (201, 'c', 3), (202, 'a', 3)`, plan: eventsPlan("email, id"),
			want: []string{"constraint.unique: events's partition events_p3 is itself partitioned", "one level deep only"}},
		{name: "expression key", setup: `CREATE TABLE hashed (id int NOT NULL, email text) PARTITION BY HASH ((id + 0));
CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1)`,
			plan: "name: events-unique\nplaybook: tighten-constraint\ntable: hashed\nconstraint: {name: events_email_key, unique: [email, id]}\n",
			want: []string{"constraint.unique: hashed is partitioned on an expression (PARTITION BY HASH (an expression))", "refuses a UNIQUE constraint"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := pgOnly(t)
			eventsTable(db)
			if c.setup != "" {
				db.Exec(c.setup)
			}
			ctx := context.Background()
			eng, err := Open(ctx, db.DSN)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer eng.Close()
			s, err := eng.Start(ctx, mustPlan(t, c.plan), Options{Emit: func(Event) {}})
			if err == nil {
				// What used to happen: every check passes, and the run fails
				// at add-constraint with the server's message.
				defer s.Close()
				runErr := s.RunPhase(ctx, "validate-in-app")
				if runErr == nil {
					runErr = s.RunPhase(ctx, "clean")
				}
				if runErr == nil {
					runErr = s.RunPhase(ctx, "add-constraint")
				}
				t.Fatalf("the plan was accepted (add-constraint then gave: %v), want a schema error before anything changes", runErr)
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("start: %v (%T), want a SchemaError", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q:\n%v", w, err)
				}
			}
			if got := db.One("SELECT count(*) FROM pg_class WHERE relname = 'shepherd_state'"); got != "0" {
				if n := db.One("SELECT count(*) FROM shepherd.shepherd_state WHERE status <> 'pending'"); n != "0" {
					t.Errorf("%s phases left pending after the refusal", n)
				}
			}
			if got := leftovers(db); got != "0" {
				t.Errorf("%s indexes or constraints named events_email_key* after the refusal", got)
			}
			if got := db.One("SELECT count(*) FROM events"); got != "6" {
				t.Errorf("events has %s rows after the refusal, want 6", got)
			}
		})
	}
}

// partitionedUnique is what the catalog says of the plan's UNIQUE: the
// parent's constraint (kind and whether its index is valid) and, per
// partition, its constraint of that UNIQUE and whether its index is
// attached to the parent's.
func partitionedUnique(db *testdb.DB) string {
	var out []string
	for _, r := range db.Query(`SELECT con.contype::text, i.indisvalid FROM pg_constraint con JOIN pg_index i ON i.indexrelid = con.conindid
WHERE con.conrelid = 'events'::regclass AND con.conname = 'events_email_key'`) {
		out = append(out, "parent:"+strings.Join(r, ":"))
	}
	for _, r := range db.Query(`SELECT c.relname, con.conname, (h.inhparent = 'events_email_key'::regclass)::text, i.indisvalid
FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
LEFT JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype = 'u'
LEFT JOIN pg_index i ON i.indexrelid = con.conindid
LEFT JOIN pg_inherits h ON h.inhrelid = con.conindid
WHERE p.inhparent = 'events'::regclass ORDER BY c.relname`) {
		out = append(out, strings.Join(r, ":"))
	}
	return strings.Join(out, " ")
}

const wantPartitioned = "parent:u:true events_p1:events_email_key_events_p1:true:true events_p2:events_email_key_events_p2:true:true events_p3:events_email_key_events_p3:true:true"

// The whole plan on a partitioned table: each partition's index is built
// CONCURRENTLY and attached to the parent's constraint, which ends valid
// and in force; the proof passes; rollback removes every index and
// constraint it made.
func TestPartitionedUniqueRunAndRollback(t *testing.T) {
	db := pgOnly(t)
	eventsTable(db)
	ctx := context.Background()
	s, rec := session(t, db, mustPlan(t, eventsPlan("email, id")), Options{})
	runAll(t, s)
	for _, id := range tightenPhases {
		if st := s.st(id).Status; st != phases.Done {
			t.Errorf("%s is %s, want done", id, st)
		}
	}
	if got := partitionedUnique(db); got != wantPartitioned {
		t.Errorf("catalog:\n got %s\nwant %s", got, wantPartitioned)
	}
	var built, attached int
	for _, e := range rec.steps("add-constraint") {
		built += strings.Count(e.SQL, "CREATE UNIQUE INDEX CONCURRENTLY")
		attached += strings.Count(e.SQL, "ATTACH PARTITION")
		if strings.Contains(e.SQL, "ADD CONSTRAINT \"events_email_key\"") && !strings.Contains(e.SQL, "ALTER TABLE ONLY") {
			t.Errorf("the parent's constraint was added without ONLY (it would build every partition's index under its lock): %s", e.SQL)
		}
	}
	if built != 3 || attached != 3 {
		t.Errorf("add-constraint built %d indexes and attached %d, want 3 and 3", built, attached)
	}
	if got := db.One("SELECT string_agg(id || ':' || coalesce(email, 'NULL'), ' ' ORDER BY id) FROM events"); got != "1:a 2:a 101:b 102:b 201:c 202:a" {
		t.Errorf("rows: %s", got)
	}
	// Enforced within a partition: a second (email, id) in events_p2 is
	// refused by the partition's part of the constraint.
	err := db.ExecE("INSERT INTO events (id, email) VALUES (101, 'b')")
	if err == nil || !strings.Contains(err.Error(), "events_email_key_events_p2") {
		t.Errorf("a duplicate (email, id) in events_p2: %v, want it refused by events_email_key_events_p2", err)
	}
	if err := db.ExecE("INSERT INTO events (id, email) VALUES (103, 'b')"); err != nil {
		t.Errorf("a row with another id was refused: %v", err)
	}
	rollbackAll(t, ctx, s)
	if got := leftovers(db); got != "0" {
		t.Errorf("%s indexes or constraints named events_email_key* after rollback", got)
	}
}

// rollbackAll rolls the plan back until add-constraint is rolled back.
func rollbackAll(t *testing.T, ctx context.Context, s *Session) {
	t.Helper()
	for range len(tightenPhases) {
		if st := s.st("add-constraint").Status; st == phases.RolledBack || st == phases.Pending {
			return
		}
		if _, err := s.Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
	}
	t.Fatalf("add-constraint is %s after rolling back every phase", s.st("add-constraint").Status)
}

// killedMidBuild leaves the catalog as a runner killed (kill -9) while it
// built events_p2's index leaves it: events_p1's index built and made its
// constraint, events_p2's INVALID (a CREATE INDEX CONCURRENTLY that did
// not finish: here one that failed on duplicates), nothing on events_p3
// nor on the parent, and add-constraint running in shepherd's state.
func killedMidBuild(t *testing.T, db *testdb.DB) {
	t.Helper()
	db.Exec(`CREATE UNIQUE INDEX CONCURRENTLY events_email_key_events_p1 ON events_p1 (email, id);
ALTER TABLE events_p1 ADD CONSTRAINT events_email_key_events_p1 UNIQUE USING INDEX events_email_key_events_p1`)
	if err := db.ExecE("CREATE UNIQUE INDEX CONCURRENTLY events_email_key_events_p2 ON events_p2 (amount)"); err == nil {
		t.Fatal("the failing build of events_p2's index succeeded")
	}
	if got := db.One("SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_email_key_events_p2'::regclass"); got != "false" {
		t.Fatalf("events_p2's index after a failed build: valid %s, want an INVALID one left", got)
	}
	db.Exec("UPDATE shepherd.shepherd_state SET status = 'running' WHERE plan = 'events-unique' AND phase = 'add-constraint'")
}

// A rerun after a runner was killed in the middle of add-constraint
// resumes: what took effect is skipped (events_p1's index is not built
// again), the INVALID index is dropped and built again, and the phase
// ends done with the constraint valid on every partition.
func TestPartitionedUniqueResumesAfterKill(t *testing.T) {
	db := pgOnly(t)
	eventsTable(db)
	ctx := context.Background()
	plan := eventsPlan("email, id")
	s, _ := session(t, db, mustPlan(t, plan), Options{})
	if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
		t.Fatalf("clean: %v", err)
	}
	s.Close()
	killedMidBuild(t, db)
	p1 := db.One("SELECT 'events_email_key_events_p1'::regclass::oid")

	s2, _ := session(t, db, mustPlan(t, plan), Options{})
	if err := s2.RunPhase(ctx, "add-constraint"); err != nil {
		t.Fatalf("rerun of add-constraint: %v", err)
	}
	if st := s2.st("add-constraint").Status; st != phases.Done {
		t.Errorf("add-constraint is %s, want done", st)
	}
	if got := partitionedUnique(db); got != wantPartitioned {
		t.Errorf("catalog:\n got %s\nwant %s", got, wantPartitioned)
	}
	if got := db.One("SELECT 'events_email_key_events_p1'::regclass::oid"); got != p1 {
		t.Errorf("events_p1's index was built again (oid %s, was %s): the rerun did not skip what took effect", got, p1)
	}
	if err := s2.RunPhase(ctx, "verify-failure-path"); err != nil {
		t.Fatalf("verify-failure-path: %v", err)
	}
}

// Rolled back after such a kill, before any rerun: the parent has no
// constraint yet, but the partitions' indexes and constraint are the
// plan's, and the rollback drops them.
func TestPartitionedUniqueRollbackAfterKill(t *testing.T) {
	db := pgOnly(t)
	eventsTable(db)
	ctx := context.Background()
	plan := eventsPlan("email, id")
	s, _ := session(t, db, mustPlan(t, plan), Options{})
	if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
		t.Fatalf("clean: %v", err)
	}
	s.Close()
	killedMidBuild(t, db)
	s2, _ := session(t, db, mustPlan(t, plan), Options{})
	rollbackAll(t, ctx, s2)
	if got := leftovers(db); got != "0" {
		t.Errorf("%s indexes or constraints named events_email_key* after rollback", got)
	}
}

// plan --db shows the partitioned script and its rollback, with the
// partitions' names and their indexes' names (kept within 63 bytes), and
// says what each step locks.
func TestPartitionedUniquePreview(t *testing.T) {
	db := pgOnly(t)
	eventsTable(db)
	long := strings.Repeat("p", 60)
	db.Exec(fmt.Sprintf("CREATE TABLE %s PARTITION OF events FOR VALUES FROM (300) TO (400)", long))
	s, _ := session(t, db, mustPlan(t, eventsPlan("email, id")), Options{})
	pvs, err := s.Preview()
	if err != nil {
		t.Fatal(err)
	}
	var pv PhasePreview
	for _, p := range pvs {
		if p.Phase.ID == "add-constraint" {
			pv = p
		}
	}
	text := func(script templates.Script) string {
		var sql []string
		for _, st := range script {
			if st.Lock == "" {
				t.Errorf("a step says nothing of its lock: %s", st.SQL)
			}
			sql = append(sql, st.SQL)
		}
		return strings.Join(sql, "\n")
	}
	steps, revert := text(pv.Steps), text(pv.Revert)
	name := partitionIndexName("events_email_key", long)
	for _, want := range []string{
		`CREATE UNIQUE INDEX CONCURRENTLY "events_email_key_events_p1" ON "public"."events_p1" ("email", "id")`,
		`ALTER TABLE "public"."events_p2" ADD CONSTRAINT "events_email_key_events_p2" UNIQUE USING INDEX "events_email_key_events_p2"`,
		`ALTER TABLE ONLY "events" ADD CONSTRAINT "events_email_key" UNIQUE ("email", "id")`,
		`ALTER INDEX "events_email_key" ATTACH PARTITION "public"."events_email_key_events_p3"`,
		`ATTACH PARTITION "public"."` + name + `"`,
	} {
		if !strings.Contains(steps, want) {
			t.Errorf("the script lacks %s:\n%s", want, steps)
		}
	}
	if len(name) > phases.MaxIdentLen {
		t.Errorf("the long partition's index is %q, %d bytes", name, len(name))
	}
	for _, want := range []string{`ALTER TABLE "events" DROP CONSTRAINT IF EXISTS "events_email_key"`, `DROP INDEX IF EXISTS "public"."events_email_key_events_p1"`} {
		if !strings.Contains(revert, want) {
			t.Errorf("the rollback lacks %s:\n%s", want, revert)
		}
	}
}

// The parent's constraint is in force only once every partition's index is
// attached: before, its index is INVALID and add-constraint's check says
// the constraint is not in force.
func TestPartitionedUniqueNotInForceUntilAttached(t *testing.T) {
	db := pgOnly(t)
	eventsTable(db)
	s, _ := session(t, db, mustPlan(t, eventsPlan("email, id")), Options{})
	db.Exec(`CREATE UNIQUE INDEX events_email_key_events_p1 ON events_p1 (email, id);
ALTER TABLE events_p1 ADD CONSTRAINT events_email_key_events_p1 UNIQUE USING INDEX events_email_key_events_p1;
ALTER TABLE ONLY events ADD CONSTRAINT events_email_key UNIQUE (email, id);
ALTER INDEX events_email_key ATTACH PARTITION events_email_key_events_p1`)
	_, err := s.verifyConstraint(true)(context.Background(), s.db)
	var ve *VerifyError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "should be in force") {
		t.Errorf("the check with two partitions unattached: %v, want that it is not in force", err)
	}
}

// A partitioned table without partitions yet: the parent's constraint
// alone, valid at once (there is nothing to attach).
func TestPartitionedUniqueWithoutPartitions(t *testing.T) {
	db := pgOnly(t)
	db.Exec(`CREATE TABLE events (id int NOT NULL, email text, CONSTRAINT events_pkey PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED) PARTITION BY RANGE (id)`)
	s, _ := session(t, db, mustPlan(t, eventsPlan("email, id")), Options{})
	if err := runTo(t, s, "validate-in-app", "clean", "add-constraint"); err != nil {
		t.Fatalf("add-constraint: %v", err)
	}
	if got := partitionedUnique(db); got != "parent:u:true" {
		t.Errorf("catalog: %s, want the parent's valid constraint alone", got)
	}
	rollbackAll(t, context.Background(), s)
	if got := leftovers(db); got != "0" {
		t.Errorf("%s indexes or constraints named events_email_key* after rollback", got)
	}
}

// With a composite key (the partition key in the primary key, as
// PostgreSQL requires of a partitioned table's keys), a UNIQUE on a
// partitioned table runs end to end: clean walks the composite key, the
// partitions' indexes are built and attached, and the proof's duplicate
// is rejected by the constraint, not by the primary key.
func TestPartitionedUniqueWithACompositeKey(t *testing.T) {
	db := pgOnly(t)
	db.Exec(`CREATE TABLE visits (id int NOT NULL, day date NOT NULL, email text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE visits_h1 PARTITION OF visits FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');
CREATE TABLE visits_h2 PARTITION OF visits FOR VALUES FROM ('2026-07-01') TO ('2027-01-01');
INSERT INTO visits SELECT x, date '2026-01-01' + (x % 300), 'u' || (x % 40) FROM generate_series(1, 1200) x;`)
	dups := db.One("SELECT count(*) - count(DISTINCT (email, day)) FROM visits")
	if dups == "0" {
		t.Fatal("the fixture has no duplicates to clean")
	}
	s, rec := session(t, db, mustPlan(t, `name: visits-email-day
playbook: tighten-constraint
table: visits
constraint: {name: visits_email_day_key, unique: [email, day]}
clean: {set: {email: "email || '+' || id"}}
`), Options{BatchSize: 100})
	runAll(t, s)
	if got := db.One("SELECT count(*) - count(DISTINCT (email, day)) FROM visits"); got != "0" {
		t.Errorf("%s duplicates left", got)
	}
	if got := db.One("SELECT count(*) FROM pg_constraint WHERE conname = 'visits_email_day_key' AND contype = 'u'"); got != "1" {
		t.Errorf("the parent's constraint: %s", got)
	}
	if len(rec.find(EventPhaseDone, "a violating write was rejected by visits_email_day_key")) != 1 {
		t.Errorf("the proof was not rejected by the constraint: %+v", rec.of(EventPhaseDone))
	}
}
