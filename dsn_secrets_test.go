package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/internal/testdb"
)

// TestNoPasswordOutAnyForm runs the real binary with every form of DSN that
// can hold a password (URL user info, ?password=, ?sslpassword=, key=value
// plain and quoted, go-sql-driver's user:pass@tcp(host)/db), with passwords
// holding each character DSN readers disagree on (# @ space % / : ? ' "),
// percent-encoded and as typed, against a closed port, the real server
// refusing the connection (MariaDB: a wrong password; the test PostgreSQL
// trusts local connections: a database that does not exist), and the real
// server accepting it (a user made with that password). No piece of the
// password is in stdout or stderr of run (text and JSON), status, plan --db,
// ready or rollback, nor in shepherd's tables; plan --db with a
// percent-encoded password works. (TestDSNPasswordForms in engine runs every
// password through the same parsing, masking and connecting; here, the
// passwords with the three characters of the issue, the one with them all,
// and one with a valid escape go through every command's printing.)
func TestNoPasswordOutAnyForm(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(20)
			dir, plan := planDir(t)
			base, err := url.Parse(db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			database := strings.TrimPrefix(base.Path, "/")
			// shepherd's state, made by the database's owner, which every
			// user may read: plan --db reads it.
			owner := exec.Command(bin, "run", plan, "--non-interactive", "--db", db.DSN)
			owner.Dir = dir
			if out, err := owner.CombinedOutput(); exitOf(err) != 3 {
				t.Fatalf("the first run: exit %d\n%s", exitOf(err), out)
			}
			type run struct {
				dsn, pw string
				form    testdb.DSNForm
				enc     bool
				good    bool // the right server, user and password
				env     bool // through SHEPHERD_DB rather than --db
				// kind of kinds: the DSNs of one password, form and encoding
				// (closed port, refused, good) share the commands between
				// them, each command with one of them, so that every command
				// prints each kind across the forms, in a third of the runs.
				kind, kinds int
			}
			var runs []run
			var pws []string
			for _, pw := range testdb.TrickyPasswords() {
				if pw == "Kq7w#Zt4v" || pw == "Kq7w@Zt4v" || pw == "Kq7w Zt4v" || strings.Count(pw, "Zt4v") == 0 || strings.Contains(pw, "%41") {
					pws = append(pws, pw)
				}
			}
			for i, pw := range pws {
				user := makeUser(t, db, database, pw)
				for _, form := range testdb.DSNForms() {
					if form.Dialect != dialect {
						continue
					}
					for _, enc := range []bool{false, true} {
						closed := form.Build(user, pw, enc, "127.0.0.1:1", database)
						// The first password's DSNs go through SHEPHERD_DB.
						env := i == 0
						if _, err := engine.ParseDSN(closed); err != nil {
							// Refused before any connection: one target is enough.
							runs = append(runs, run{dsn: closed, pw: pw, form: form, enc: enc, env: env, kinds: 1})
							continue
						}
						runs = append(runs, run{dsn: closed, pw: pw, form: form, enc: enc, env: env, kind: (i + len(runs)) % 3, kinds: 3})
						refused := form.Build(user, pw+"Xw", enc, base.Host, database)
						if dialect == "postgres" {
							refused = form.Build(user, pw, enc, base.Host, "no_such_db_pwforms")
						}
						k := runs[len(runs)-1].kind
						runs = append(runs,
							run{dsn: refused, pw: pw, form: form, enc: enc, env: env, kind: (k + 1) % 3, kinds: 3},
							run{dsn: form.Build(user, pw, enc, base.Host, database), pw: pw, form: form, enc: enc, good: true, env: env, kind: (k + 2) % 3, kinds: 3})
					}
				}
			}
			commands := [][]string{
				{"run", plan, "--non-interactive"},
				{"run", plan, "--non-interactive", "--output", "json", "--confirm", "deploy-readers"},
				{"status"},
				{"plan", plan},
				{"ready", plan, "--phase", "backfill"},
				{"rollback", plan, "--non-interactive"},
			}
			var (
				mu      sync.Mutex
				invoked int
				wg      sync.WaitGroup
				work    = make(chan run)
			)
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range work {
						for c, args := range commands {
							// plan --db of a good, encoded DSN always runs: it
							// proves the password works (below).
							if c%r.kinds != r.kind && !(args[0] == "plan" && r.good && r.enc) {
								continue
							}
							// A rollback that connects would undo what another
							// worker's plan --db is reading: it is printed with
							// the DSNs that cannot connect.
							if args[0] == "rollback" && r.good {
								continue
							}
							cmd := exec.Command(bin, append(args, "--db", r.dsn)...)
							if r.env {
								cmd = exec.Command(bin, args...)
								cmd.Env = append(os.Environ(), "SHEPHERD_DB="+r.dsn)
							}
							cmd.Dir = dir
							out, err := cmd.CombinedOutput()
							mu.Lock()
							invoked++
							mu.Unlock()
							for _, p := range testdb.PasswordPieces(r.pw) {
								if strings.Contains(string(out), p) {
									t.Errorf("%s, password %q, encoded=%v: shepherd %s printed %q of the password:\n%s", r.form.Name, r.pw, r.enc, args[0], p, out)
									break
								}
							}
							// A percent-encoded password works: plan --db reads
							// the live table (MySQL reads no ?password=).
							if args[0] == "plan" && r.good && r.enc && r.form.Name != "mysql ?password=" {
								if exitOf(err) != 0 || !strings.Contains(string(out), "read only: nothing was written") {
									t.Errorf("%s, password %q: plan --db failed (exit %d):\n%s", r.form.Name, r.pw, exitOf(err), out)
								}
							}
						}
					}
				}()
			}
			for _, r := range runs {
				work <- r
			}
			close(work)
			wg.Wait()
			t.Logf("%d DSNs, %d invocations", len(runs), invoked)
			for _, table := range []string{stateTable(dialect), logTable(dialect), strings.Replace(stateTable(dialect), "state", "lock", 1)} {
				rows, err := db.QueryE(`SELECT * FROM ` + table)
				if err != nil {
					continue // no run got as far as making it
				}
				for _, row := range rows {
					for _, pw := range pws {
						for _, p := range testdb.PasswordPieces(pw) {
							if strings.Contains(strings.Join(row, " "), p) {
								t.Errorf("%s holds %q of a password: %v", table, p, row)
							}
						}
					}
				}
			}
		})
	}
}

// makeUser makes a user (PostgreSQL: a role) with the password that may use
// the test's database, and drops it when the test ends.
func makeUser(t *testing.T, db *testdb.DB, database, pw string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	user := "shep_pw_" + hex.EncodeToString(b)
	ctx := context.Background()
	switch db.Dialect {
	case "postgres":
		lit := "'" + strings.ReplaceAll(pw, "'", "''") + "'"
		db.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD %s`, user, lit))
		db.Exec(fmt.Sprintf(`GRANT ALL ON DATABASE %s TO %s`, database, user))
		db.Exec(fmt.Sprintf(`GRANT ALL ON SCHEMA public TO %s`, user))
		db.Exec(fmt.Sprintf(`GRANT ALL ON ALL TABLES IN SCHEMA public TO %s`, user))
		db.Exec(fmt.Sprintf(`GRANT ALL ON SCHEMA shepherd TO %s`, user))
		db.Exec(fmt.Sprintf(`GRANT ALL ON ALL TABLES IN SCHEMA shepherd TO %s`, user))
		db.Exec(fmt.Sprintf(`GRANT ALL ON ALL SEQUENCES IN SCHEMA shepherd TO %s`, user))
		t.Cleanup(func() {
			db.SQL.ExecContext(ctx, fmt.Sprintf(`DROP OWNED BY %s CASCADE`, user))
			db.SQL.ExecContext(ctx, fmt.Sprintf(`DROP ROLE %s`, user))
		})
	case "mysql":
		lit := "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(pw) + "'"
		db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY %s", user, lit))
		db.Exec(fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%%'", database, user))
		t.Cleanup(func() { db.SQL.ExecContext(ctx, fmt.Sprintf("DROP USER '%s'@'%%'", user)) })
	}
	return user
}

// TestNoPasswordOutSocketAndEnvForms runs the real binary with the forms
// that reach a server without a URL host or take the password from
// elsewhere: PostgreSQL's key=value over the socket, a URL with
// ?host=/socket/dir, postgres:///db with PGHOST and PGPASSWORD, and a
// password file (PGPASSFILE); MySQL's ?socket= and go-sql-driver's
// unix(…) and tcp(…). The user's password holds every character DSN
// readers disagree on. No piece of it is in the output of run, status,
// plan --db and ready, whether the connection works or fails (a database
// that does not exist), nor in shepherd's tables.
func TestNoPasswordOutSocketAndEnvForms(t *testing.T) {
	bin := shepherdBinary(t)
	const pw = `Rm2x#Yp8n@Lb3c Hd6f%Gs5j/Nw1e:Ua9r?Vc0t'Jk4m"Wq7p`
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(20)
			dir, plan := planDir(t)
			base, err := url.Parse(db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			database := strings.TrimPrefix(base.Path, "/")
			owner := exec.Command(bin, "run", plan, "--non-interactive", "--db", db.DSN)
			owner.Dir = dir
			if out, err := owner.CombinedOutput(); exitOf(err) != 3 {
				t.Fatalf("the first run: exit %d\n%s", exitOf(err), out)
			}
			user := makeUser(t, db, database, pw)
			type form struct {
				name, dsn string
				env       []string
			}
			var forms []form
			switch dialect {
			case "postgres":
				const sock = "/var/run/postgresql"
				if _, err := os.Stat(sock + "/.s.PGSQL.5432"); err != nil {
					t.Skipf("no PostgreSQL socket in %s", sock)
				}
				passfile := filepath.Join(t.TempDir(), "pgpass")
				esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(pw)
				if err := os.WriteFile(passfile, []byte("*:*:*:"+user+":"+esc+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				for _, d := range []string{database, "no_such_db_sockforms"} {
					forms = append(forms,
						form{"key=value socket", "host=" + sock + " user=" + user + " password=" + testdb.KVQuote(pw) + " dbname=" + d, nil},
						form{"URL ?host=socket", "postgres://" + user + ":" + testdb.PercentEncode(pw) + "@/" + d + "?host=" + sock, nil},
						form{"PGHOST and PGPASSWORD", "postgres:///" + d, []string{"PGHOST=" + base.Hostname(), "PGPORT=" + base.Port(), "PGUSER=" + user, "PGPASSWORD=" + pw, "PGSSLMODE=disable"}},
						form{"password file", "host=" + sock + " user=" + user + " dbname=" + d, []string{"PGPASSFILE=" + passfile}},
					)
				}
			case "mysql":
				sock := db.One("SELECT @@socket")
				if _, err := os.Stat(sock); err != nil {
					t.Skipf("no MySQL socket at %s", sock)
				}
				for _, p := range []string{pw, pw + "Xw"} {
					forms = append(forms,
						form{"URL ?socket=", "mysql://" + user + ":" + testdb.PercentEncode(p) + "@/" + database + "?socket=" + sock, nil},
						form{"go-sql-driver unix", user + ":" + p + "@unix(" + sock + ")/" + database, nil},
						form{"go-sql-driver tcp", user + ":" + p + "@tcp(" + base.Host + ")/" + database, nil},
					)
				}
			}
			commands := [][]string{
				{"run", plan, "--non-interactive"},
				{"status"},
				{"plan", plan},
				{"ready", plan, "--phase", "backfill"},
			}
			worked := 0
			for _, f := range forms {
				for _, args := range commands {
					cmd := exec.Command(bin, append(args, "--db", f.dsn)...)
					cmd.Env = append(os.Environ(), f.env...)
					cmd.Dir = dir
					out, err := cmd.CombinedOutput()
					for _, p := range testdb.PasswordPieces(pw) {
						if strings.Contains(string(out), p) {
							t.Errorf("%s: shepherd %s printed %q of the password:\n%s", f.name, args[0], p, out)
							break
						}
					}
					if args[0] == "plan" && exitOf(err) == 0 && strings.Contains(string(out), "read only: nothing was written") {
						worked++
					}
				}
			}
			t.Logf("%d DSNs, plan --db worked with %d", len(forms), worked)
			// Half the DSNs name a database or password that is wrong.
			if worked != len(forms)/2 {
				t.Errorf("plan --db worked with %d of the %d DSNs that should connect", worked, len(forms)/2)
			}
			for _, table := range []string{stateTable(dialect), logTable(dialect), strings.Replace(stateTable(dialect), "state", "lock", 1)} {
				rows, err := db.QueryE(`SELECT * FROM ` + table)
				if err != nil {
					continue
				}
				for _, row := range rows {
					for _, p := range testdb.PasswordPieces(pw) {
						if strings.Contains(strings.Join(row, " "), p) {
							t.Errorf("%s holds %q of the password: %v", table, p, row)
						}
					}
				}
			}
		})
	}
}
