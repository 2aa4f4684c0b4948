package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Faults a user meets: a database user that may only read, and a disk that
// fills up mid-phase. Nothing may be lost, and a rerun must finish.

func TestReadOnlyUser(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(10)
			u, _ := url.Parse(db.DSN)
			database := strings.TrimPrefix(u.Path, "/")
			role := "ro_" + strings.TrimPrefix(database, "shepherd_t_")
			switch dialect {
			case "postgres":
				db.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN`, role))
				db.Exec(fmt.Sprintf(`GRANT SELECT ON users TO %s`, role))
				db.Exec(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
				t.Cleanup(func() {
					db.SQL.ExecContext(context.Background(), fmt.Sprintf(`DROP OWNED BY %s`, role))
					db.SQL.ExecContext(context.Background(), fmt.Sprintf(`DROP ROLE %s`, role))
				})
				u.User = url.User(role)
			case "mysql":
				db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'ro-pass'", role))
				db.Exec(fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%'", database, role))
				t.Cleanup(func() { db.SQL.ExecContext(context.Background(), fmt.Sprintf("DROP USER '%s'@'%%'", role)) })
				u.User = url.UserPassword(role, "ro-pass")
			}
			dir, plan := planDir(t)
			cmd := exec.Command(bin, "run", plan, "--non-interactive", "--db", u.String())
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if exitOf(err) != 1 {
				t.Fatalf("exit %d, want 1\n%s", exitOf(err), out)
			}
			if !strings.Contains(strings.ToLower(string(out)), "denied") || !strings.Contains(string(out), "state tables") {
				t.Errorf("the error does not say what was refused:\n%s", out)
			}
			if strings.Contains(string(out), "ro-pass") {
				t.Errorf("the password is in the output:\n%s", out)
			}
			// Nothing changed: no column, and the table's rows are intact.
			if _, err := db.QueryE(`SELECT email FROM users`); err == nil {
				t.Error("the column was added by a user that may only read")
			}
			if got := db.One(`SELECT count(*) FROM users`); got != "10" {
				t.Errorf("users has %s rows", got)
			}
		})
	}
}

// TestDiskFull fills the disk under an SQLite database mid-phase: the phase
// fails with exit 1, the database is intact and consistent with the recorded
// state, and once there is room the rerun finishes.
func TestDiskFull(t *testing.T) {
	bin := shepherdBinary(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	path := filepath.Join(mnt, "app.db")
	pool, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
	for i := 0; err == nil && i < 8; i++ {
		_, err = pool.Exec(fmt.Sprintf(`INSERT INTO users (id, username, name)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
			SELECT %d * 1000 + i, 'user' || (%d * 1000 + i), printf('%%-60s', 'Name ' || i) FROM n`, i, i))
	}
	pool.Close()
	if err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + path
	shep := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append(args, "--db", dsn)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), exitOf(err)
	}
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte(strings.Replace(interruptPlan, `backfill: "lower(username)"`, `backfill: "printf('%-90s', username)"`, 1)), 0o644)

	out, code := shep("run", plan, "--non-interactive", "--confirm", "deploy-readers", "--confirm", "switch-writes")
	if code != 1 || !strings.Contains(out, "full") || !strings.Contains(out, "make room, then rerun to resume") {
		t.Fatalf("exit %d, want 1 with 'database or disk is full'\n%s", code, out)
	}
	check := func() (rows, filled string, status map[string]string) {
		pool, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var ok string
		pool.QueryRow(`PRAGMA integrity_check`).Scan(&ok)
		if ok != "ok" {
			t.Fatalf("integrity_check: %s", ok)
		}
		pool.QueryRow(`SELECT count(*) FROM users`).Scan(&rows)
		pool.QueryRow(`SELECT count(*) FROM users WHERE email IS NOT NULL`).Scan(&filled)
		status = map[string]string{}
		r, _ := pool.Query(`SELECT phase, status, coalesce(checkpoint, '') FROM shepherd_state`)
		for r.Next() {
			var p, s, cp string
			r.Scan(&p, &s, &cp)
			status[p] = s
			status[p+".checkpoint"] = cp
		}
		r.Close()
		return rows, filled, status
	}
	rows, filled, status := check()
	if rows != "8000" {
		t.Fatalf("users has %s rows after the disk filled, want 8000", rows)
	}
	failed := ""
	for p, s := range status {
		if s == "failed" {
			failed = p
		}
	}
	if failed == "" {
		t.Fatalf("no phase recorded failed: %v", status)
	}
	if failed == "backfill" && status["backfill.checkpoint"] != "" {
		var cp int
		fmt.Sscan(status["backfill.checkpoint"], &cp)
		if fmt.Sprint(cp) != filled && filled != "0" {
			t.Errorf("checkpoint %d but %s rows filled", cp, filled)
		}
	}
	t.Logf("disk full in %s after %s rows filled:\n%s", failed, filled, out)

	// Room again: the rerun finishes.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	out, code = shep("run", plan, "--non-interactive", "--confirm", "switch-writes")
	if code != 0 {
		t.Fatalf("rerun with room: exit %d\n%s", code, out)
	}
	rows, filled, status = check()
	if rows != "8000" || filled != "8000" || status["enforce"] != "done" {
		t.Errorf("after the rerun: %s rows, %s filled, %v", rows, filled, status)
	}
}
