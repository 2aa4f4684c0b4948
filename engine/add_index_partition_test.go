package engine

import (
	"context"
	"testing"

	"github.com/shepherd-db/shepherd/phases"
)

// A partitioned table (PostgreSQL): add-index builds each partition's index
// concurrently, attaches them to the parent's, and the planner uses it;
// rollback drops every one of them.
func TestAddIndexOnAPartitionedTable(t *testing.T) {
	db := pgOnly(t)
	db.Exec(`CREATE TABLE measures (id int NOT NULL, device int NOT NULL, v int) PARTITION BY RANGE (id);
CREATE TABLE measures_p1 PARTITION OF measures FOR VALUES FROM (0) TO (3000);
CREATE TABLE measures_p2 PARTITION OF measures FOR VALUES FROM (3000) TO (6000);
INSERT INTO measures SELECT x, x % 500, x FROM generate_series(0, 5999) x;`)
	plan := `name: measures-device-idx
playbook: add-index
table: measures
index: {name: measures_device_idx, columns: [device]}
query: "SELECT id FROM measures WHERE device = 7"
`
	s, rec := session(t, db, mustPlan(t, plan), Options{})
	runAll(t, s)
	if got := indexInCatalog(t, db, "measures_device_idx"); got != "valid" {
		t.Fatalf("the parent's index is %s, want valid", got)
	}
	attached := db.One(`SELECT count(*) FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent JOIN pg_class c ON c.oid = h.inhrelid
WHERE p.relname = 'measures_device_idx' AND c.relname IN ('measures_device_idx_measures_p1', 'measures_device_idx_measures_p2')`)
	if attached != "2" {
		t.Errorf("%s partition indexes attached to the parent's, want 2", attached)
	}
	if n := len(rec.find(EventStep, `CREATE INDEX CONCURRENTLY .*ON .*"measures_p[12]"`)); n != 2 {
		t.Errorf("%d concurrent builds on partitions, want 2", n)
	}
	if len(rec.find(EventPhaseDone, "the query's plan uses measures_device_idx")) != 1 {
		t.Errorf("verify-index did not find the planner using the index: %+v", rec.of(EventPhaseDone))
	}
	ctx := context.Background()
	for range 2 {
		if _, err := s.Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
	}
	if got := db.One("SELECT count(*) FROM pg_class WHERE relname LIKE 'measures_device_idx%'"); got != "0" {
		t.Errorf("%s indexes left after the rollback", got)
	}
}

// A run stopped after one partition's index was built, with the other's
// left INVALID, resumes: the built one is kept, the INVALID one is built
// again, and the parent's index ends valid.
func TestAddIndexOnAPartitionedTableResumes(t *testing.T) {
	db := pgOnly(t)
	db.Exec(`CREATE TABLE measures (id int NOT NULL, device int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE measures_p1 PARTITION OF measures FOR VALUES FROM (0) TO (100);
CREATE TABLE measures_p2 PARTITION OF measures FOR VALUES FROM (100) TO (200);
INSERT INTO measures SELECT x, x % 7 FROM generate_series(0, 199) x;`)
	plan := `name: measures-device-idx
playbook: add-index
table: measures
index: {name: measures_device_idx, columns: [device]}
`
	s, _ := session(t, db, mustPlan(t, plan), Options{})
	// As a run killed mid-build leaves it: create-index running, the first
	// partition's index built, the second's INVALID (a concurrent build
	// that failed: here, a unique one over duplicates).
	if err := s.moveNow(context.Background(), createIndexPhase, phases.Start, ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db.Exec("CREATE INDEX measures_device_idx_measures_p1 ON measures_p1 (device)")
	if _, err := db.SQL.Exec(`CREATE UNIQUE INDEX CONCURRENTLY measures_device_idx_measures_p2 ON measures_p2 (device)`); err == nil {
		t.Fatal("the unique build over duplicates succeeded")
	}
	oid := db.One("SELECT oid FROM pg_class WHERE relname = 'measures_device_idx_measures_p1'")
	again, _ := session(t, db, mustPlan(t, plan), Options{})
	runAll(t, again)
	if got := indexInCatalog(t, db, "measures_device_idx"); got != "valid" {
		t.Fatalf("the parent's index is %s, want valid", got)
	}
	if got := db.One("SELECT oid FROM pg_class WHERE relname = 'measures_device_idx_measures_p1'"); got != oid {
		t.Errorf("the index already built on measures_p1 was built again")
	}
	if got := db.One("SELECT bool_and(i.indisvalid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'measures_device_idx%'"); got != "true" {
		t.Errorf("an index is left INVALID")
	}
}

// drop-index on a partitioned table (PostgreSQL): the parent's index is
// dropped with the partitions' indexes attached to it, and no other index
// of a partition; rollback builds it again partition by partition, UNIQUE
// and partial as it was, attached and valid.
func TestDropIndexOnAPartitionedTable(t *testing.T) {
	db := pgOnly(t)
	db.Exec(`CREATE TABLE measures (id int NOT NULL, device int NOT NULL, v int) PARTITION BY RANGE (id);
CREATE TABLE measures_p1 PARTITION OF measures FOR VALUES FROM (0) TO (3000);
CREATE TABLE measures_p2 PARTITION OF measures FOR VALUES FROM (3000) TO (6000);
INSERT INTO measures SELECT x, x % 500, x FROM generate_series(0, 5999) x;
CREATE UNIQUE INDEX measures_dev_id_idx ON measures USING btree (device DESC, id) WHERE v > 10;
CREATE INDEX measures_p1_v_own ON measures_p1 (v);`)
	plan := `name: measures-idx-drop
playbook: drop-index
table: measures
index: {name: measures_dev_id_idx}
`
	tail := func() string {
		return db.One(`SELECT coalesce(max(substr(indexdef, strpos(indexdef, ' USING '))), '') FROM pg_indexes WHERE indexname = 'measures_dev_id_idx'`)
	}
	before := tail()
	if before != ` USING btree (device DESC, id) WHERE (v > 10)` {
		t.Fatalf("the index before the drop: %q", before)
	}
	s, rec := session(t, db, mustPlan(t, plan), Options{})
	runAll(t, s)
	if got := indexInCatalog(t, db, "measures_dev_id_idx"); got != "none" {
		t.Fatalf("after drop-index the index is %s", got)
	}
	if got := db.One(`SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename IN ('measures', 'measures_p1', 'measures_p2')`); got != "measures_p1_v_own" {
		t.Errorf("indexes left after the drop: %s, want only the partition's own measures_p1_v_own", got)
	}
	if n := len(rec.find(EventStep, `^DROP INDEX IF EXISTS "measures_dev_id_idx"$`)); n != 1 {
		t.Errorf("%d drops of the parent's index, want 1: %v", n, rec.of(EventStep))
	}
	if _, err := s.Rollback(context.Background()); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := indexInCatalog(t, db, "measures_dev_id_idx"); got != "valid" {
		t.Fatalf("after the rollback the parent's index is %s, want valid", got)
	}
	if after := tail(); after != before {
		t.Errorf("the index built again differs:\nbefore %s\nafter  %s", before, after)
	}
	if n := len(rec.find(EventStep, `CREATE UNIQUE INDEX CONCURRENTLY .*ON .*"measures_p[12]" USING btree \(device DESC, id\) WHERE \(v > 10\)`)); n != 2 {
		t.Errorf("%d concurrent builds on partitions, want 2", n)
	}
	if attached := db.One(`SELECT count(*) FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE p.relname = 'measures_dev_id_idx'`); attached != "2" {
		t.Errorf("%s partition indexes attached to the parent's, want 2", attached)
	}
	if _, err := db.SQL.Exec(`INSERT INTO measures VALUES (20, 20, 99)`); err == nil {
		t.Errorf("the index built again is not UNIQUE: (device 20, id 20) was written twice")
	}
}
