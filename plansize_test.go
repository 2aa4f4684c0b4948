package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// A plan file far bigger than any plan is refused with exit 2, naming the
// file, its size and the limit, by every command that reads one, before any
// database is touched.
func TestAHugePlanIsRefusedWithExit2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(interruptPlan); err != nil {
		t.Fatal(err)
	}
	comment := "# " + strings.Repeat("x", 1021) + "\n"
	for n := len(interruptPlan); n < 50<<20; n += len(comment) {
		if _, err := f.WriteString(comment); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	db := "sqlite:" + filepath.Join(dir, "never.db")
	for _, args := range [][]string{
		{"plan", path},
		{"run", path, "--non-interactive", "--db", db},
		{"status", path, "--db", db},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s%s", args[0], code, out.String(), errb.String())
			continue
		}
		for _, want := range []string{path, "50.0 MiB", "at most 1 MiB"} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("%v: the error does not say %q: %s", args[0], want, errb.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "never.db")); err == nil {
		t.Error("a database was created for a refused plan")
	}
}

// A plan just under the limit, its bulk in an expression, is accepted and
// its text stored whole in shepherd_log on every dialect (MariaDB refused a
// plan too big for the column).
func TestAPlanJustUnderTheLimitIsStored(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(10)
			dir := t.TempDir()
			path := filepath.Join(dir, "plan.yaml")
			// The expression is the plan's bulk; its long branch is never
			// taken.
			head := "name: users-email\nplaybook: add-column\ntable: users\ncolumn: email\n" +
				"type: {postgres: text, mysql: varchar(200), sqlite: text}\n"
			lit := strings.Repeat("a", phases.MaxPlanBytes-len(head)-200)
			plan := head + "backfill: \"CASE WHEN id < 0 THEN '" + lit + "' ELSE lower(username) END\"\n"
			if len(plan) > phases.MaxPlanBytes || len(plan) < phases.MaxPlanBytes-400 {
				t.Fatalf("the plan is %d bytes: want it just under %d", len(plan), phases.MaxPlanBytes)
			}
			if err := os.WriteFile(path, []byte(plan), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"run", path, "--non-interactive", "--db", db.DSN}, &out, &errb); code != 3 {
				t.Fatalf("exit %d, want 3 (add-column done, at deploy-readers)\n%s%s", code, out.String(), errb.String())
			}
			p, err := phases.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			logTable := "shepherd_log"
			if dialect == "postgres" {
				logTable = "shepherd.shepherd_log"
			}
			got := db.One(`SELECT detail FROM ` + logTable + ` WHERE plan = 'users-email' AND event = 'plan'`)
			if got != string(p.Canonical()) {
				t.Fatalf("shepherd_log keeps %d bytes of the plan, want its canonical text (%d bytes)", len(got), len(p.Canonical()))
			}
			if n := db.One(`SELECT count(*) FROM ` + stateTable(dialect) + ` WHERE plan = 'users-email' AND status = 'done'`); n != strconv.Itoa(1) {
				t.Fatalf("%s phases done, want add-column", n)
			}
		})
	}
}
