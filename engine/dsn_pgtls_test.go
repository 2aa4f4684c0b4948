package engine

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// TestPostgresClientCertificateAndPassfile: against a PostgreSQL of the
// test's own, with TLS on (a certificate of the test's CA), a user that
// logs in by client certificate only (hostssl … cert) and one by password
// only (scram-sha-256): shepherd connects with sslmode=verify-full,
// sslrootcert, sslcert and sslkey, in key=value and URL form, and with the
// password from a password file (PGPASSFILE), to a DSN with and without a
// host (PGHOST). Without the certificate, or with a wrong password in the
// file, the server refuses, and no error shows the password.
func TestPostgresClientCertificateAndPassfile(t *testing.T) {
	if ok, why := testdb.Available("postgres"); !ok {
		t.Skip(why)
	}
	ca := newTestCA(t, "shepherd-pg-test")
	srvCert, srvKey := ca.issue("server", true)
	cliCert, cliKey := ca.issue("certuser", false)
	p := startPrivatePostgres(t)
	// The server's files, in its directory (the test's own is private to
	// this user), owned by the server's user: the key must be.
	own := func(path string) {
		if !p.asPostgres {
			return
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(path, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{ca.path, srvCert, srvKey} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(p.dir, filepath.Base(f))
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		own(dst)
	}
	const pw = "Pg7Secret9x"
	admin := testdb.Attach(t, "postgres", p.dsn())
	admin.Exec(`CREATE ROLE certuser LOGIN; CREATE ROLE pwuser LOGIN PASSWORD '` + pw + `'`)
	conf := "\nssl = on\nssl_cert_file = '" + filepath.Join(p.dir, "server.pem") + "'\nssl_key_file = '" + filepath.Join(p.dir, "server.key") +
		"'\nssl_ca_file = '" + filepath.Join(p.dir, filepath.Base(ca.path)) + "'\n"
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	hba := "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhostssl all certuser 127.0.0.1/32 cert\nhostssl all pwuser 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(p.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	// SSL and pg_hba.conf are read again on a reload.
	// The postmaster rereads the files when the signal reaches it, and a
	// session sees them after that: wait for it rather than race it.
	admin.Exec(`SELECT pg_reload_conf()`)
	waitFor(t, "ssl on after the reload", 10*time.Second, func() bool {
		return admin.One(`SELECT setting FROM pg_settings WHERE name = 'ssl'`) == "on"
	})
	port := strconv.Itoa(p.port)
	for _, v := range []string{"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGPASSFILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	passfile := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(passfile, []byte("127.0.0.1:"+port+":postgres:pwuser:"+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongfile := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(wrongfile, []byte("*:*:*:pwuser:"+pw+"Xw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certs := "sslrootcert=" + ca.path + " sslcert=" + cliCert + " sslkey=" + cliKey
	ok := []pgCase{
		{want: "postgres certuser tcp tls", name: "key=value client certificate, verify-full", dsn: "host=127.0.0.1 port=" + port + " user=certuser dbname=postgres sslmode=verify-full " + certs},
		{want: "postgres certuser tcp tls", name: "URL client certificate, verify-ca", dsn: "postgres://certuser@127.0.0.1:" + port + "/postgres?sslmode=verify-ca&" + strings.ReplaceAll(certs, " ", "&")},
		{want: "postgres certuser tcp tls", name: "URL client certificate from PGSSL*", dsn: "postgres://certuser@127.0.0.1:" + port + "/postgres", env: map[string]string{"PGSSLMODE": "verify-full", "PGSSLROOTCERT": ca.path, "PGSSLCERT": cliCert, "PGSSLKEY": cliKey}},
		{want: "postgres pwuser tcp tls", name: "password file, URL", dsn: "postgres://pwuser@127.0.0.1:" + port + "/postgres?sslmode=require", env: map[string]string{"PGPASSFILE": passfile}},
		{want: "postgres pwuser tcp tls", name: "password file, PGHOST", dsn: "user=pwuser dbname=postgres sslmode=require", env: map[string]string{"PGPASSFILE": passfile, "PGHOST": "127.0.0.1", "PGPORT": port}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := openAndAsk(t, tc.dsn, pgWhere); got != tc.want {
				t.Errorf("connected as %q, want %q", got, tc.want)
			}
		})
	}
	refused := []struct {
		name, dsn, why string
		env            map[string]string
	}{
		{"no client certificate", "host=127.0.0.1 port=" + port + " user=certuser dbname=postgres sslmode=verify-full sslrootcert=" + ca.path, "certificate", nil},
		{"another CA", "host=127.0.0.1 port=" + port + " user=certuser dbname=postgres sslmode=verify-ca sslrootcert=" + writeTestCA(t) + " sslcert=" + cliCert + " sslkey=" + cliKey, "certificate", nil},
		{"wrong password in the file", "postgres://pwuser@127.0.0.1:" + port + "/postgres?sslmode=require", "password authentication failed", map[string]string{"PGPASSFILE": wrongfile}},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			for k, v := range r.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e, err := Open(ctx, r.dsn)
			if err == nil {
				e.Close()
				t.Fatalf("connected")
			}
			if !strings.Contains(err.Error(), r.why) {
				t.Errorf("refused (%v), not for want of %q", err, r.why)
			}
			if strings.Contains(err.Error(), "Pg7Secret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
