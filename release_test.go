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
	"slices"
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
			// The batched phases' statements, with placeholders: the
			// backfill's fill in place, or its copy on MariaDB.
			backfillSQL := `backfill\s+sql\s+bob\s*\n\s+UPDATE \S+ SET \S+ = \(lower\(username\)\)\s*\n\s*WHERE \S+ > (\$1|\?) AND \S+ <= (\$2|\?) AND \S+ IS NULL( AND \(lower\(username\)\) IS NOT NULL)?\n(\s*ORDER BY \S+ DESC\n)?\s+run once per batch of rows on id`
			copies := backfillCopies(t, dialect)
			if copies {
				backfillSQL = `backfill\s+sql\s+bob\s*\n\s+SELECT \S+ FROM \S+ WHERE \S+ > \? AND \S+ <= \? ORDER BY \S+ LOCK IN SHARE MODE;\s*\n\s*SET STATEMENT innodb_lock_wait_timeout = 0 FOR INSERT INTO \S+_shepherd_copy\S* \(.*\)\s*\n\s*SELECT .*COALESCE\(\S+, \(lower\(username\)\)\)(.|\n)*run once per batch of rows on id`
			}
			for _, want := range []string{
				`add-column\s+sql\s+alice\s*\n\s+ALTER TABLE`,
				`deploy-readers\s+confirm\s+bob`,
				`switch-writes\s+confirm\s+bob`,
				`backfill\s+finish\s+bob`,
				backfillSQL,
				`switch-writes\s+sql\s+bob\s*\n\s+UPDATE \S+ SET \S+ = \(lower\(username\)\)`,
				`enforce\s+revert\s+carol`,
			} {
				if !regexp.MustCompile(want).MatchString(text) {
					t.Errorf("the log lacks /%s/:\n%s", want, text)
				}
			}
			// --json --log: the same log, per plan.
			out, code = shep("status", plan, "--log", "--json")
			if code != 0 {
				t.Fatalf("status --log --json: exit %d\n%s", code, out)
			}
			var st struct {
				Plans []struct {
					Name   string
					Phases []struct{ ID, Status string }
					Log    []struct{ Time, Phase, Action, Who, SQL, Detail *string }
				}
			}
			if err := json.Unmarshal(out, &st); err != nil || len(st.Plans) != 1 || st.Plans[0].Name != "users-email" || len(st.Plans[0].Phases) != 5 {
				t.Fatalf("status --log --json: %v\n%s", err, out)
			}
			var seen []string
			for _, l := range st.Plans[0].Log {
				if l.Time == nil || l.Phase == nil || l.Action == nil || l.Who == nil || l.SQL == nil || l.Detail == nil {
					t.Fatalf("a log line lacks a field (time, phase, action, who, sql, detail):\n%s", out)
				}
				seen = append(seen, *l.Phase+" "+*l.Action+" "+*l.Who+" "+strings.SplitN(*l.SQL, " ", 2)[0])
			}
			backfillVerb := "UPDATE"
			if copies {
				backfillVerb = "SELECT"
			}
			for _, want := range []string{"add-column sql alice ALTER", "deploy-readers confirm bob ", "backfill sql bob " + backfillVerb, "enforce revert carol "} {
				if !slices.Contains(seen, want) {
					t.Errorf("the JSON log lacks %q: %q", want, seen)
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
			// clean's batch statement is logged too.
			cleaned := filepath.Join(dir, "cleaned.yaml")
			os.WriteFile(cleaned, []byte("name: t2-clean\nplaybook: tighten-constraint\ntable: t2\nconstraint: {name: t2_pos2, check: \"v > 0\"}\nclean: {set: {v: \"abs(v) + 1\"}}\n"), 0o644)
			// --allow-lock shared: MySQL copies the table to add a CHECK.
			if out, code := shep("run", cleaned, "--non-interactive", "--confirm", "validate-in-app", "--operator", "erin", "--allow-lock", "shared"); code != 0 {
				t.Fatalf("clean: exit %d\n%s", code, out)
			}
			out, _ = shep("status", cleaned, "--log")
			if !regexp.MustCompile(`clean\s+sql\s+erin\s*\n\s+UPDATE \S+ SET \S+ = \(abs\(v\) \+ 1\)\s*\n\s*WHERE \S+ > (\$1|\?) AND \S+ <= (\$2|\?) AND`).Match(out) {
				t.Errorf("clean's batch statement is not in the log:\n%s", out)
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
			// DSNs shepherd does not read or cannot parse: the message
			// names them masked, and quotes no piece of the password.
			unread := []string{
				"host=127.0.0.1 user=u password=" + password + " dbname=d",
				"u:" + password + "@tcp(127.0.0.1:3306)/db",
				"u:" + password + "@127.0.0.1:3306/db",
				"Server=127.0.0.1;Database=d;User Id=u;Password=" + password + ";",
				dialect + "://u:" + strings.Replace(password, "-", "%", 1) + "@127.0.0.1/db",
			}
			var all bytes.Buffer
			for _, dsn := range append([]string{bad, wrongPW, good}, unread...) {
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
						if bytes.Contains(out, []byte(`"%s3"`)) {
							t.Errorf("shepherd %v (%s) quoted the bad escape %%s3 of the password:\n%s", args, how, out)
						}
						for i := 0; i+5 <= len(password); i++ {
							if bytes.Contains(out, []byte(password[i:i+5])) {
								t.Errorf("shepherd %v (%s) printed %q, a piece of the password:\n%s", args, how, password[i:i+5], out)
								break
							}
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

// TestKeysNotRecorded: the sample keys of rows at fault are shown to the
// operator, but shepherd's tables keep them only when the key is an integer
// (a surrogate); a key column that holds data (an email) is not copied into
// shepherd_state or shepherd_log.
func TestKeysNotRecorded(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Exec(`CREATE TABLE accounts (email varchar(100) PRIMARY KEY, balance integer NOT NULL)`)
			db.Exec(`INSERT INTO accounts (email, balance) VALUES ('alice.secret@corp.example', -5), ('bob@corp.example', 10)`)
			db.Exec(`CREATE TABLE ledger (id integer PRIMARY KEY, amount integer NOT NULL)`)
			db.Exec(`INSERT INTO ledger (id, amount) VALUES (1, 5), (2, -7)`)
			dir := t.TempDir()
			shep := func(plan string, args ...string) string {
				path := filepath.Join(dir, "plan.yaml")
				if err := os.WriteFile(path, []byte(plan), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(bin, append(append([]string{"run", path}, args...), "--db", db.DSN)...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if exitOf(err) != 1 {
					t.Fatalf("exit %d, want 1 (clean finds violating rows)\n%s", exitOf(err), out)
				}
				return string(out)
			}
			out := shep("name: accounts-balance\nplaybook: tighten-constraint\ntable: accounts\nkey: email\nconstraint: {name: balance_nonneg, check: \"balance >= 0\"}\n",
				"--non-interactive", "--confirm", "validate-in-app")
			if !strings.Contains(out, "keys alice.secret@corp.example") {
				t.Errorf("the operator should see the sample keys:\n%s", out)
			}
			var recorded []string
			for _, table := range []string{stateTable(dialect), logTable(dialect)} {
				for _, row := range db.Query(`SELECT detail FROM ` + table + ` WHERE plan = 'accounts-balance' AND detail IS NOT NULL`) {
					recorded = append(recorded, row[0])
					if strings.Contains(row[0], "alice") {
						t.Errorf("%s keeps a key value: %s", table, row[0])
					}
				}
			}
			all := strings.Join(recorded, "\n")
			for _, want := range []string{
				"1 row violates balance_nonneg (CHECK balance >= 0) now (keys not recorded: the key column holds data): clean comes next",
				"clean: verification failed: no row should violate balance_nonneg (CHECK balance >= 0) (1 row; keys not recorded: the key column holds data)",
			} {
				if !strings.Contains(all, want) {
					t.Errorf("shepherd's tables should say %q; they hold:\n%s", want, all)
				}
			}
			// An integer key is a surrogate: its sample keys are recorded.
			shep("name: ledger-amount\nplaybook: tighten-constraint\ntable: ledger\nconstraint: {name: amount_pos, check: \"amount > 0\"}\n",
				"--non-interactive", "--confirm", "validate-in-app")
			if got := db.One(`SELECT detail FROM ` + stateTable(dialect) + ` WHERE plan = 'ledger-amount' AND phase = 'clean'`); !strings.Contains(got, "(1 row; keys 2)") {
				t.Errorf("the integer key's sample should be recorded: %s", got)
			}
		})
	}
}
