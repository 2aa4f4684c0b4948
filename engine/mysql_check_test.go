package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// MySQL and MariaDB add a CHECK only by copying the table, which blocks
// writes for as long (measured on MariaDB 10.11: 200,000 rows, 2.4 to 4.0
// s; every form that lets writes go on, INPLACE, INSTANT, NOCOPY and
// LOCK=NONE, is refused, with check_constraint_checks off too).
// add-constraint used to run it without --allow-lock: it now stops before
// any DDL, naming the flag, as every other write-blocking statement does;
// with --allow-lock shared it adds the constraint. plan --db warns first,
// with how long writes would stop.
func TestMySQLCheckNeedsAllowLock(t *testing.T) {
	db := mysqlTestDB(t)
	db.Exec("CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL)")
	db.Exec("INSERT INTO orders (id, amount) SELECT seq, seq FROM seq_1_to_3000")
	db.Exec("ANALYZE TABLE orders")
	plan := mustPlan(t, ordersCheckPlan)
	ctx := context.Background()
	present := func() string {
		return db.One("SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = DATABASE() AND table_name = 'orders' AND constraint_name = 'orders_positive'")
	}

	e, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	view, err := e.Inspect(ctx, plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(view.Warnings(), "\n")
	for _, want := range []string{"add-constraint", "--allow-lock shared", "writes would stop for", "3000 rows"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("plan --db's warnings do not say %q:\n%s", want, warnings)
		}
	}
	e.Close()

	_, s := startSession(t, db, plan, Options{})
	_, err = s.Run(ctx, "", confirm("validate-in-app"))
	var le *LockRequiredError
	if !errors.As(err, &le) || le.Phase != "add-constraint" || le.Level != "shared" {
		t.Fatalf("add-constraint without --allow-lock: %v (%T), want a *LockRequiredError for LOCK=SHARED", err, err)
	}
	if !strings.Contains(err.Error(), "--allow-lock shared") || !strings.Contains(err.Error(), "Nothing was changed") {
		t.Errorf("the error does not name the flag:\n%v", err)
	}
	if got := present(); got != "0" {
		t.Fatalf("the refused add-constraint added the CHECK (%s)", got)
	}
	if got := db.One("SELECT count(*) FROM shepherd_log WHERE plan = 'orders-positive' AND phase = 'add-constraint' AND sql_text LIKE 'ALTER%'"); got != "0" {
		t.Errorf("the refused add-constraint ran %s ALTERs", got)
	}
	s.Close()

	_, s = startSession(t, db, plan, Options{AllowLock: "shared"})
	if _, err := s.Run(ctx, "", nil); err != nil {
		t.Fatalf("add-constraint with --allow-lock shared: %v", err)
	}
	if got := present(); got != "1" {
		t.Fatal("the CHECK is not there")
	}
	if err := db.ExecE("UPDATE orders SET amount = 0 WHERE id = 1"); err == nil {
		t.Error("the CHECK is not in force")
	}
}

// How long a copying ALTER would block writes, from the server's row
// count: a range over the copy rates measured.
func TestMySQLBlockedFor(t *testing.T) {
	t.Parallel()
	d := &mysqlDialect{}
	for _, c := range []struct {
		rows int64
		want string
	}{
		{0, "writes would stop for under a second"},
		{40_000, "writes would stop for under a second"},
		{200_000, "writes would stop for about 1s to 4s"},
		{1_000_000, "writes would stop for about 7s to 20s"},
		{100_000_000, "writes would stop for about 11m0s to 33m0s"},
	} {
		if got := d.blockedFor(&Table{Name: "orders", Rows: c.rows}); !strings.HasPrefix(got, c.want+", at 50,000 to 150,000 rows a second") {
			t.Errorf("%d rows: %q, want %q…", c.rows, got, c.want)
		}
	}
}
