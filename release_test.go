package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Release-job operations, through the real binary: one runner at a time,
// readiness, the audit log, and no password anywhere.

// planDir writes the interrupt plan into a fresh folder.
func planDir(t *testing.T) (dir, plan string) {
	t.Helper()
	dir = t.TempDir()
	plan = filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, plan
}

func TestOneRunner(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(20000)
			dir, plan := planDir(t)
			shep := func(args ...string) *exec.Cmd {
				cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
				cmd.Dir = dir
				return cmd
			}
			if out, err := shep("run", plan, "--non-interactive").CombinedOutput(); exitOf(err) != 3 {
				t.Fatalf("first run: %v\n%s", err, out)
			}
			// The holder: a slow backfill.
			var holderOut bytes.Buffer
			holder := shep("run", plan, "--non-interactive", "--confirm", "deploy-readers", "--batch-size", "200", "--max-rate", "4000", "--operator", "holder")
			holder.Stdout, holder.Stderr = &holderOut, &holderOut
			if err := holder.Start(); err != nil {
				t.Fatal(err)
			}
			defer holder.Process.Kill()
			waitFor(t, 20*time.Second, func() bool {
				r, err := db.QueryE(`SELECT status FROM ` + stateTable(dialect) + ` WHERE plan = 'users-email' AND phase = 'backfill'`)
				return err == nil && len(r) == 1 && r[0][0] == "running"
			})
			logBefore := db.One(`SELECT count(*) FROM ` + logTable(dialect))

			// Two more runners at once, while it runs: both refused at once;
			// the second asks for JSON and gets the refusal as a JSON line.
			for i := 0; i < 2; i++ {
				start := time.Now()
				args := []string{"run", plan, "--non-interactive", "--confirm", "deploy-readers", "--operator", "second"}
				if i == 1 {
					args = append(args, "--output", "json")
				}
				cmd := shep(args...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				out := append(stdout.Bytes(), stderr.Bytes()...)
				if exitOf(err) != 4 {
					t.Fatalf("second runner: exit %d, want 4\n%s", exitOf(err), out)
				}
				if i == 1 {
					var line struct {
						Event, Plan, Error string
						Exit               int
					}
					if err := json.Unmarshal(stdout.Bytes(), &line); err != nil {
						t.Fatalf("--output json: stdout is not one JSON line: %v\n%s", err, stdout.Bytes())
					}
					if line.Event != "error" || line.Plan != "users-email" || line.Exit != 4 || !strings.Contains(line.Error, "another runner holds") {
						t.Errorf("--output json: the error line is %+v", line)
					}
				}
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("the refusal took %s: it must not wait for the lock", took)
				}
				host, _ := os.Hostname()
				want := fmt.Sprintf(`another runner holds (\S+\.)?users: holder on host %s, pid %d, running plan "users-email" since \S+ \(\S+ ago\)`, regexp.QuoteMeta(host), holder.Process.Pid)
				if !regexp.MustCompile(want).Match(out) {
					t.Errorf("refusal does not name the holder:\n%s\nwant /%s/", out, want)
				}
			}
			if got := db.One(`SELECT count(*) FROM ` + logTable(dialect) + ` WHERE actor = 'second'`); got != "0" {
				t.Errorf("the refused runner wrote %s log rows", got)
			}
			_ = logBefore

			// A runner that dies releases the lock: the next one proceeds.
			holder.Process.Signal(os.Kill)
			holder.Wait()
			out, err := shep("run", plan, "--non-interactive", "--operator", "third").CombinedOutput()
			if exitOf(err) != 3 {
				t.Fatalf("after the holder died: exit %d, want 3 (it must resume and stop at switch-writes)\n%s", exitOf(err), out)
			}
		})
	}
}

func logTable(dialect string) string {
	if dialect == "postgres" {
		return "shepherd.shepherd_log"
	}
	return "shepherd_log"
}

func TestAuditLog(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(50)
			db.Exec(`UPDATE users SET username = 'Secret-Row-Value-77' WHERE id = 7`)
			dir, plan := planDir(t)
			shep := func(args ...string) ([]byte, int) {
				cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				return out, exitOf(err)
			}
			shep("run", plan, "--non-interactive", "--operator", "alice")
			shep("run", plan, "--non-interactive", "--operator", "bob", "--confirm", "deploy-readers", "--confirm", "switch-writes")
			shep("rollback", plan, "--non-interactive", "--operator", "carol")
			out, code := shep("status", plan, "--log")
			if code != 0 {
				t.Fatalf("status --log: exit %d\n%s", code, out)
			}
			text := string(out)
			for _, want := range []string{
				`add-column\s+sql\s+alice\s*\n\s+ALTER TABLE`,
				`deploy-readers\s+confirm\s+bob`,
				`switch-writes\s+confirm\s+bob`,
				`backfill\s+finish\s+bob`,
				`enforce\s+revert\s+carol`,
			} {
				if !regexp.MustCompile(want).MatchString(text) {
					t.Errorf("the log lacks /%s/:\n%s", want, text)
				}
			}
			// SQL text only: no row value in any log row.
			if got := db.One(`SELECT count(*) FROM ` + logTable(dialect) + ` WHERE sql_text LIKE '%Secret-Row%' OR detail LIKE '%Secret-Row%'`); got != "0" {
				t.Errorf("%s log rows carry a row value", got)
			}
			// A failure is logged too.
			db.Exec(`CREATE TABLE t2 (id integer PRIMARY KEY, v integer)`)
			db.Exec(`INSERT INTO t2 (id, v) VALUES (1, 5), (2, -1)`)
			bad := filepath.Join(dir, "bad.yaml")
			os.WriteFile(bad, []byte("name: t2-check\nplaybook: tighten-constraint\ntable: t2\nconstraint: {name: t2_pos, check: \"v > 0\"}\n"), 0o644)
			if _, code := shep("run", bad, "--non-interactive", "--confirm", "validate-in-app", "--operator", "dave"); code != 1 {
				t.Fatalf("clean without a clean: section must fail, exit %d", code)
			}
			out, _ = shep("status", bad, "--log")
			if !regexp.MustCompile(`clean\s+fail\s+dave\s*\n\s+clean: verification failed: no row should violate t2_pos`).Match(out) {
				t.Errorf("the failure is not in the log:\n%s", out)
			}
		})
	}
}

// TestNoSecretsOut runs every command with a DSN that carries a distinctive
// password, against an unreachable host and against a good one, and looks
// for the password in stdout, stderr, the state tables and the log.
func TestNoSecretsOut(t *testing.T) {
	bin := shepherdBinary(t)
	const password = "Zq9-s3cr3t-PW-4471"
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(20)
			good := withPassword(t, db, password)
			bad := good
			u, _ := url.Parse(good)
			u.Host = "127.0.0.1:1" // nothing listens there
			bad = u.String()
			wrongPW := strings.Replace(good, password, password+"-wrong", 1)
			dir, plan := planDir(t)
			var all bytes.Buffer
			for _, dsn := range []string{bad, wrongPW, good} {
				for _, args := range [][]string{
					{"run", plan, "--non-interactive"},
					{"run", plan, "--non-interactive", "--output", "json", "--confirm", "deploy-readers"},
					{"status"}, {"status", "--json"}, {"status", plan, "--log"},
					{"ready", plan, "--phase", "backfill"},
					{"rollback", plan, "--non-interactive"},
				} {
					for _, how := range []string{"flag", "env"} {
						var cmd *exec.Cmd
						if how == "flag" {
							cmd = exec.Command(bin, append(args, "--db", dsn)...)
						} else {
							cmd = exec.Command(bin, args...)
							cmd.Env = append(os.Environ(), "SHEPHERD_DB="+dsn)
						}
						cmd.Dir = dir
						out, _ := cmd.CombinedOutput()
						all.Write(out)
						if bytes.Contains(out, []byte(password)) || bytes.Contains(out, []byte(url.QueryEscape(password))) {
							t.Errorf("shepherd %v (%s) printed the password:\n%s", args, how, out)
						}
					}
				}
			}
			if !strings.Contains(all.String(), "***") {
				t.Errorf("no masked DSN in any message; the unreachable-host errors should show it masked:\n%s", all.String())
			}
			for _, table := range []string{stateTable(dialect), logTable(dialect), strings.Replace(stateTable(dialect), "state", "lock", 1)} {
				for _, row := range db.Query(`SELECT * FROM ` + table) {
					if strings.Contains(strings.Join(row, " "), password) {
						t.Errorf("%s holds the password: %v", table, row)
					}
				}
			}
		})
	}
}

// withPassword returns a DSN for db that carries password and works: on
// PostgreSQL (trust auth) any password does; on MySQL a user is made.
func withPassword(t *testing.T, db *testdb.DB, password string) string {
	t.Helper()
	u, err := url.Parse(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	if db.Dialect == "mysql" {
		user = "shep_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
		database := strings.TrimPrefix(u.Path, "/")
		db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password))
		db.Exec(fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%%'", database, user))
		t.Cleanup(func() { db.SQL.ExecContext(context.Background(), fmt.Sprintf("DROP USER '%s'@'%%'", user)) })
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}
