package engine

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// pgSocketDir is where the test PostgreSQL's unix socket is.
const pgSocketDir = "/var/run/postgresql"

// pgTarget is the test PostgreSQL's user and database, from
// SHEPHERD_TEST_POSTGRES; the test is skipped without it.
func pgTarget(t *testing.T) (user, db string) {
	t.Helper()
	base := os.Getenv(testdb.EnvPostgres)
	if base == "" {
		t.Skipf("%s is not set", testdb.EnvPostgres)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.User.Username(), strings.TrimPrefix(u.Path, "/")
}

// openAndAsk opens dsn with shepherd and returns the answer to query, one
// row of one column, asked on that connection.
func openAndAsk(t *testing.T, dsn, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	defer e.Close()
	var out string
	if err := e.db.QueryRowContext(ctx, query).Scan(&out); err != nil {
		t.Fatalf("%s on %s: %v", query, e.DSN(), err)
	}
	return out
}

// pgWhere says how a PostgreSQL connection came: the database, the user,
// over the socket or TCP, and with TLS or not.
const pgWhere = `SELECT current_database() || ' ' || current_user || ' ' ||
	CASE WHEN inet_server_addr() IS NULL THEN 'socket' ELSE 'tcp' END || ' ' ||
	CASE WHEN (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) THEN 'tls' ELSE 'plain' END`

// pgCase is one DSN and where it should land.
type pgCase struct {
	name, dsn, want string
	env             map[string]string
	socket          bool
}

// TestPostgresConnectionForms connects to the real server in every form
// libpq and pgx read: URL and key=value, over TCP and the unix socket, with
// the host, user and database from PG* variables, a password from a
// password file, and TLS (sslmode=require, verify-ca and verify-full
// against the server's certificate). Each lands where it says.
func TestPostgresConnectionForms(t *testing.T) {
	user, db := pgTarget(t)
	socket := true
	if _, err := os.Stat(filepath.Join(pgSocketDir, ".s.PGSQL.5432")); err != nil {
		socket = false
	}
	// No PG* variable of the machine's may change what a DSN says.
	for _, v := range []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSSLMODE", "PGSSLROOTCERT", "PGPASSFILE", "PGSERVICE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	want := func(how string) string { return db + " " + user + " " + how }
	cases := []pgCase{
		{name: "URL", dsn: "postgres://" + user + "@127.0.0.1:5432/" + db + "?sslmode=disable", want: want("tcp plain")},
		{name: "key=value", dsn: "host=127.0.0.1 port=5432 user=" + user + " dbname=" + db + " sslmode=disable", want: want("tcp plain")},
		{name: "key=value quoted, spaced", dsn: "host = '127.0.0.1'  user='" + user + "' dbname=" + db + " sslmode='disable' application_name='shepherd test'", want: want("tcp plain")},
		{name: "URL ?host=socket", dsn: "postgres://" + user + "@/" + db + "?host=" + pgSocketDir, want: want("socket plain"), socket: true},
		{name: "key=value socket", dsn: "host=" + pgSocketDir + " user=" + user + " dbname=" + db, want: want("socket plain"), socket: true},
		{name: "URL, PGHOST socket", dsn: "postgres:///" + db, env: map[string]string{"PGHOST": pgSocketDir, "PGUSER": user}, want: want("socket plain"), socket: true},
		{name: "URL, PGHOST TCP", dsn: "postgresql:///" + db + "?sslmode=disable", env: map[string]string{"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": user}, want: want("tcp plain")},
		{name: "key=value, PG* for the rest", dsn: "dbname=" + db, env: map[string]string{"PGHOST": "127.0.0.1", "PGUSER": user, "PGSSLMODE": "disable"}, want: want("tcp plain")},
		{name: "postgres://, all from PG*", dsn: "postgres://", env: map[string]string{"PGHOST": pgSocketDir, "PGUSER": user, "PGDATABASE": db}, want: want("socket plain"), socket: true},
	}
	ssl := openAndAsk(t, "postgres://"+user+"@127.0.0.1:5432/"+db+"?sslmode=disable", "SHOW ssl")
	if ssl == "on" {
		cert := openAndAsk(t, "postgres://"+user+"@127.0.0.1:5432/"+db+"?sslmode=disable", "SHOW ssl_cert_file")
		cases = append(cases,
			pgCase{name: "URL sslmode=require", dsn: "postgres://" + user + "@127.0.0.1/" + db + "?sslmode=require", want: want("tcp tls")},
			pgCase{name: "key=value sslmode=require", dsn: "host=127.0.0.1 sslmode=require user=" + user + " dbname=" + db, want: want("tcp tls")},
		)
		if _, err := os.ReadFile(cert); err == nil {
			cases = append(cases,
				pgCase{name: "URL sslmode=verify-ca", dsn: "postgres://" + user + "@127.0.0.1/" + db + "?sslmode=verify-ca&sslrootcert=" + cert, want: want("tcp tls")},
				pgCase{name: "key=value sslmode=verify-ca, PGSSLROOTCERT", dsn: "host=127.0.0.1 sslmode=verify-ca user=" + user + " dbname=" + db, env: map[string]string{"PGSSLROOTCERT": cert}, want: want("tcp tls")},
			)
		} else {
			t.Logf("the server's certificate %s cannot be read here (%v): verify-ca is not tried", cert, err)
		}
	} else {
		t.Logf("the test PostgreSQL has ssl %s: sslmode=require is not tried", ssl)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.socket && !socket {
				t.Skipf("no PostgreSQL socket in %s", pgSocketDir)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := openAndAsk(t, tc.dsn, pgWhere); got != tc.want {
				t.Errorf("%s connected to %q, want %q", tc.dsn, got, tc.want)
			}
		})
	}
	// A wrong CA fails verify-ca: the certificate is checked.
	if ssl == "on" {
		ca := writeTestCA(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if e, err := Open(ctx, "host=127.0.0.1 sslmode=verify-ca sslrootcert="+ca+" user="+user+" dbname="+db); err == nil {
			e.Close()
			t.Errorf("verify-ca against another CA connected")
		}
	}
}

// TestPostgresPassfileAndEnvPasswords: a password from ~/.pgpass (here
// PGPASSFILE) or PGPASSWORD applies to a DSN without a host too (PGHOST,
// the socket), and is masked like one the DSN holds: in errors and in
// what shepherd shows. (The test server trusts local connections: that the
// password is the one pgx will send is checked on what it read.)
func TestPostgresPassfileAndEnvPasswords(t *testing.T) {
	user, db := pgTarget(t)
	const pw = "Pf4ssWord9x"
	for _, v := range []string{"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSSLMODE", "PGPASSFILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	passfile := filepath.Join(t.TempDir(), "pgpass")
	lines := "127.0.0.1:*:*:" + user + ":" + pw + "\n" + pgSocketDir + ":5432:" + db + ":" + user + ":" + pw + "\n" + "localhost:5432:" + db + ":" + user + ":" + pw + "\n"
	if err := os.WriteFile(passfile, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSFILE", passfile)
	check := func(t *testing.T, dsn string, connect bool) {
		t.Helper()
		d, err := ParseDSN(dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		found := false
		for _, s := range d.secrets {
			found = found || s == pw
		}
		if !found {
			t.Errorf("%s: the password file's password is not among those masked", dsn)
		}
		msg := d.scrub(errors.New("auth failed for " + pw + " / " + url.QueryEscape(pw))).Error()
		if strings.Contains(msg, "Pf4ss") || strings.Contains(d.String(), "Pf4ss") {
			t.Errorf("%s: the password shows: %q, %q", dsn, msg, d.String())
		}
		if connect {
			if got := openAndAsk(t, dsn, "SELECT current_database()"); got != db {
				t.Errorf("%s: connected to %s", dsn, got)
			}
		}
	}
	t.Run("URL with host", func(t *testing.T) { check(t, "postgres://"+user+"@127.0.0.1/"+db+"?sslmode=disable", true) })
	t.Run("key=value with host", func(t *testing.T) { check(t, "host=127.0.0.1 user="+user+" dbname="+db+" sslmode=disable", true) })
	t.Run("URL, PGHOST", func(t *testing.T) {
		t.Setenv("PGHOST", "127.0.0.1")
		t.Setenv("PGSSLMODE", "disable")
		check(t, "postgres://"+user+"@/"+db, true)
	})
	t.Run("key=value socket", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(pgSocketDir, ".s.PGSQL.5432")); err != nil {
			t.Skipf("no PostgreSQL socket in %s", pgSocketDir)
		}
		check(t, "host="+pgSocketDir+" user="+user+" dbname="+db, true)
	})
	t.Run("PGPASSWORD", func(t *testing.T) {
		t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
		t.Setenv("PGPASSWORD", pw)
		check(t, "dbname="+db+" host=127.0.0.1 user="+user+" sslmode=disable", true)
	})
	// A connection that fails (a closed port) says nothing of the password
	// the file gave.
	t.Run("closed port", func(t *testing.T) {
		for _, dsn := range []string{"host=127.0.0.1 port=1 user=" + user + " dbname=" + db, "postgres://" + user + "@127.0.0.1:1/" + db} {
			check(t, dsn, false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			e, err := Open(ctx, dsn)
			cancel()
			if err == nil {
				e.Close()
				t.Fatalf("%s: connected to a closed port", dsn)
			}
			if strings.Contains(err.Error(), "Pf4ss") {
				t.Errorf("%s: the error shows the password: %v", dsn, err)
			}
		}
	})
}
