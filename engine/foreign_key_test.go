package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

const ordersUserFKPlan = `name: orders-user-fk
playbook: tighten-constraint
table: orders
constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}
clean: {set: {user_id: "NULL"}}
`

// fkTables creates users 1..3 and orders whose user_id 7 and 9 have no
// parent.
func fkTables(db *testdb.DB) {
	db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, email varchar(100));
CREATE TABLE orders (id integer PRIMARY KEY, user_id integer, amount integer NOT NULL);
INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');
INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 10), (2, 7, 5), (3, NULL, 7), (4, 2, 1), (5, 9, 3)`)
}

// mysqlFKCount says whether orders_user_fk is in information_schema, and
// whether the index MySQL built for it is.
func mysqlFKState(t *testing.T, db *testdb.DB) string {
	t.Helper()
	return db.One(`SELECT concat(
  (SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = DATABASE() AND table_name = 'orders' AND constraint_name = 'orders_user_fk' AND constraint_type = 'FOREIGN KEY'),
  ' ',
  (SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'orders' AND index_name = 'orders_user_fk'))`)
}

// MySQL adds the foreign key in place with foreign_key_checks = 0, which
// does not check the rows already there. A row without a parent written
// between clean's check and the ALTER (here: by a failpoint right before
// the ALTER) is found by the count right after it: the constraint (and the
// index built for it) is dropped again, the phase fails with the count and
// the key, and the rerun cleans the row again and adds it.
func TestMySQLForeignKeyOrphanBetweenCheckAndConstraint(t *testing.T) {
	db := mysqlTestDB(t)
	fkTables(db)
	ctx := context.Background()
	var once sync.Once
	hook := func(point string) {
		if point == "add-constraint:step-1" { // the ALTER, after clean and the count before it
			once.Do(func() { db.Exec(`INSERT INTO orders (id, user_id, amount) VALUES (6, 42, 1)`) })
		}
	}
	plan := mustPlan(t, ordersUserFKPlan)
	_, s := startSession(t, db, plan, Options{Failpoint: hook})
	if _, err := s.Run(ctx, "clean", map[string]bool{"validate-in-app": true}); err != nil {
		t.Fatal(err)
	}
	err := s.RunPhase(ctx, "add-constraint")
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("add-constraint with a row without a parent written before the ALTER: got %v, want a verification failure", err)
	}
	if ve.Count != 1 || fmt.Sprint(ve.Sample) != "[6]" {
		t.Errorf("the failure counts %d rows, keys %v; want 1 row, key 6", ve.Count, ve.Sample)
	}
	for _, want := range []string{"orders_user_fk was added without checking the rows already there", "rows without a parent in users", "is dropped again", "give them a parent or set their user_id to NULL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if got := mysqlFKState(t, db); got != "0 0" {
		t.Errorf("after the failure, constraint and index count %q, want both gone (0 0)", got)
	}
	if got := phaseStatus(t, db, plan.Name, "add-constraint"); got != "failed" {
		t.Errorf("add-constraint is %s, want failed", got)
	}
	// A rerun, with the row still there, cleans it again (the plan's
	// clean: sets user_id to NULL) before it adds the constraint: a plain
	// rerun is the way out, not a rollback of add-constraint and clean.
	if _, err := s.Run(ctx, "", nil); err != nil {
		t.Fatalf("rerun with the row still there: %v", err)
	}
	if got := db.One(`SELECT coalesce(user_id, 0) FROM orders WHERE id = 6`); got != "0" {
		t.Errorf("the rerun did not clean row 6 again: user_id %s", got)
	}
	if got := s.st("add-constraint").Detail; !strings.Contains(got, "1 rows written after clean were cleaned again first") {
		t.Errorf("add-constraint's detail: %s", got)
	}
	if got := mysqlFKState(t, db); got != "1 1" {
		t.Errorf("after the rerun, constraint and index count %q, want 1 1", got)
	}
	if err := db.ExecE(`INSERT INTO orders (id, user_id, amount) VALUES (7, 42, 1)`); err == nil || !strings.Contains(err.Error(), "1452") {
		t.Errorf("a row without a parent after the plan: %v, want error 1452", err)
	}
}

// DDL is not transactional on MySQL: a runner that dies after the ALTER
// leaves the constraint, unchecked. The rerun skips the ALTER when it took
// effect and verifies the rows; when a row without a parent arrived in the
// meantime, it drops the unchecked constraint before failing.
func TestMySQLForeignKeyCrashAfterTheAlter(t *testing.T) {
	for _, orphan := range []bool{false, true} {
		t.Run(fmt.Sprintf("orphan=%v", orphan), func(t *testing.T) {
			db := mysqlTestDB(t)
			fkTables(db)
			ctx := context.Background()
			plan := mustPlan(t, ordersUserFKPlan)
			e, s := startSession(t, db, plan, Options{})
			if _, err := s.Run(ctx, "clean", map[string]bool{"validate-in-app": true}); err != nil {
				t.Fatal(err)
			}
			script, err := s.builder().addConstraint()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.moveNow(ctx, "add-constraint", phases.Start, ""); err != nil {
				t.Fatal(err)
			}
			// The runner's connection: the checks off, the ALTER, then it dies.
			conn, err := db.SQL.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range script {
				args, _ := st.Args(nil)
				if _, err := conn.ExecContext(ctx, st.SQL, args...); err != nil {
					t.Fatalf("%s: %v", st.SQL, err)
				}
			}
			conn.Close()
			killLockHolder(t, db, "orders")
			e.Close()
			if orphan {
				db.Exec(`SET SESSION foreign_key_checks = 0;
INSERT INTO orders (id, user_id, amount) VALUES (6, 42, 1);
SET SESSION foreign_key_checks = 1`)
			}
			rec := &recorder{}
			_, s2 := startSession(t, db, plan, Options{Emit: rec.emit})
			err = s2.RunPhase(ctx, "add-constraint")
			if !orphan {
				if err != nil {
					t.Fatalf("rerun: %v", err)
				}
				if len(rec.find(EventNotice, `skipped, nothing to do: ALTER TABLE .*ADD CONSTRAINT `+regexp.QuoteMeta("`orders_user_fk`"))) == 0 {
					t.Errorf("the rerun did not skip the ALTER that took effect; events %+v", rec.all())
				}
				if got := mysqlFKState(t, db); got != "1 1" {
					t.Errorf("constraint and index %q, want 1 1", got)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Count != 1 || fmt.Sprint(ve.Sample) != "[6]" || !strings.Contains(err.Error(), "the constraint an earlier run added is dropped again") {
				t.Fatalf("rerun with a row without a parent: %v", err)
			}
			if got := mysqlFKState(t, db); got != "0 0" {
				t.Errorf("constraint and index %q after the refused rerun, want 0 0", got)
			}
		})
	}
}

func TestForeignKeyTypes(t *testing.T) {
	t.Parallel()
	col := func(typ string) Column { return Column{Type: typ} }
	for _, tc := range []struct {
		d             dialect
		child, parent string
		ok            bool
	}{
		{postgresDialect{}, "integer", "integer", true},
		{postgresDialect{}, "bigint", "integer", true},
		{postgresDialect{}, "character varying(20)", "text", true},
		{postgresDialect{}, "character(3)", "character varying(10)", true},
		{postgresDialect{}, "uuid", "uuid", true},
		{postgresDialect{}, "numeric(10,2)", "numeric(12,2)", true},
		{postgresDialect{}, "text", "integer", false},
		{postgresDialect{}, "uuid", "text", false},
		{postgresDialect{}, "boolean", "integer", false},
		{&mysqlDialect{}, "int(11)", "int(11)", true},
		{&mysqlDialect{}, "int", "int(11)", true},
		{&mysqlDialect{}, "integer", "int", true},
		{&mysqlDialect{}, "int(11)", "bigint(20)", false},
		{&mysqlDialect{}, "int(10) unsigned", "int(11)", false},
		{&mysqlDialect{}, "varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", true},
		{&mysqlDialect{}, "char(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", true},
		{&mysqlDialect{}, "varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci", false},
		{&mysqlDialect{}, "decimal(10,2)", "decimal(10,2)", true},
		{&mysqlDialect{}, "decimal(10,2)", "decimal(10,3)", false},
		{&mysqlDialect{}, "varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "int(11)", false},
		{sqliteDialect{}, "TEXT", "INTEGER", true},
	} {
		why := foreignKeyTypes(tc.d, col(tc.child), col(tc.parent))
		if (why == "") != tc.ok {
			t.Errorf("%s: %s -> %s: %q, want ok=%v", tc.d.name(), tc.child, tc.parent, why, tc.ok)
		}
	}
}
