package engine

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// myWhere says how a MySQL connection came: the database, and over the
// socket (the process list's host is localhost, no port) or TCP.
const myWhere = `SELECT CONCAT(DATABASE(), ' ', IF(LOCATE(':', host) > 0, 'tcp', 'socket'))
	FROM information_schema.PROCESSLIST WHERE id = CONNECTION_ID()`

// TestMySQLConnectionForms connects to the real server in each of MySQL's
// forms: mysql:// and mariadb:// URLs over TCP and over the socket
// (?socket=), and go-sql-driver's own form over TCP and over the socket,
// bare and after mysql://. Each lands where it says.
func TestMySQLConnectionForms(t *testing.T) {
	base := os.Getenv(testdb.EnvMySQL)
	if base == "" {
		t.Skipf("%s is not set", testdb.EnvMySQL)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	socket := openAndAsk(t, base, "SELECT @@socket")
	userinfo := u.User.String()
	cases := []struct {
		name, dsn, want string
		socket          bool
	}{
		{"URL", base, db + " tcp", false},
		{"go-sql-driver tcp", userinfo + "@tcp(" + u.Host + ")/" + db, db + " tcp", false},
		{"go-sql-driver tcp, default port, driver parameters", userinfo + "@tcp(" + u.Hostname() + ")/" + db + "?charset=utf8mb4&timeout=5s&tls=false", db + " tcp", false},
		{"mysql:// go-sql-driver tcp", "mysql://" + userinfo + "@tcp(" + u.Host + ")/" + db, db + " tcp", false},
		// root over the socket may be let in by unix_socket authentication:
		// the tests run as root.
		{"URL ?socket=", "mysql://root@/" + db + "?socket=" + socket, db + " socket", true},
		{"URL localhost ?socket=", "mariadb://root@localhost/" + db + "?socket=" + url.QueryEscape(socket), db + " socket", true},
		{"go-sql-driver unix", "root@unix(" + socket + ")/" + db, db + " socket", true},
		{"mysql:// go-sql-driver unix", "mysql://root@unix(" + socket + ")/" + db, db + " socket", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(socket); tc.socket && err != nil {
				t.Skipf("the server's socket %s is not on this machine: %v", socket, err)
			}
			if got := openAndAsk(t, tc.dsn, myWhere); got != tc.want {
				t.Errorf("%s connected to %q, want %q", tc.dsn, got, tc.want)
			}
		})
	}
}

// privateMariaDB is a MariaDB server for one test, with TLS on.
type privateMariaDB struct {
	port   int
	socket string
}

// startPrivateMariaDB initialises a data directory and starts a MariaDB
// server on it, on a free port and a socket of its own, with the server
// certificate and CA given; it is stopped when the test ends. The test is
// skipped when MariaDB's programs are not installed.
func startPrivateMariaDB(t *testing.T, ca, cert, key string) *privateMariaDB {
	t.Helper()
	server, install := mariaDBPrograms(t, "TLS with a client certificate needs a server of the test's own")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	installMariaDB(t, install, dir, data)
	m := &privateMariaDB{port: freePort(t), socket: filepath.Join(dir, "server.sock")}
	runMariaDB(t, server, dir, data, "server", m.port, "--ssl-ca="+ca, "--ssl-cert="+cert, "--ssl-key="+key, "--skip-log-bin")
	return m
}

// open opens a database/sql pool with the driver's DSN, to set the server
// up; closed when the test ends.
func (m *privateMariaDB) open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	return openMySQLDriverDSN(t, dsn)
}

// TestMySQLTLSClientCertificate: against a MariaDB of the test's own with
// TLS on and a user that must show a client certificate signed by the
// test's CA (REQUIRE X509), shepherd connects with tls=custom (or no tls=)
// and ssl-ca, ssl-cert, ssl-key, in the URL and in go-sql-driver's form,
// and with tls=verify-ca; the connection is encrypted. Without the client
// certificate the server refuses it, and against another CA shepherd
// refuses the server: the certificates are used. No error shows the
// password.
func TestMySQLTLSClientCertificate(t *testing.T) {
	ca := newTestCA(t, "shepherd-test")
	srvCert, srvKey := ca.issue("server", true)
	cliCert, cliKey := ca.issue("client", false)
	m := startPrivateMariaDB(t, ca.path, srvCert, srvKey)
	const user, pw = "tls_user", "Tls7Secret9"
	root := m.open(t, "root@unix("+m.socket+")/mysql")
	for _, stmt := range []string{
		"CREATE DATABASE tlsdb",
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s' REQUIRE X509", user, pw),
		fmt.Sprintf("GRANT ALL ON tlsdb.* TO '%s'@'%%'", user),
	} {
		if _, err := root.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	hp := fmt.Sprintf("127.0.0.1:%d", m.port)
	files := "ssl-ca=" + ca.path + "&ssl-cert=" + cliCert + "&ssl-key=" + cliKey
	const cipher = `SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'`
	for _, dsn := range []string{
		"mysql://" + user + ":" + pw + "@" + hp + "/tlsdb?tls=custom&" + files,
		"mariadb://" + user + ":" + pw + "@" + hp + "/tlsdb?" + files,
		"mysql://" + user + ":" + pw + "@" + hp + "/tlsdb?tls=verify-ca&" + files,
		user + ":" + pw + "@tcp(" + hp + ")/tlsdb?tls=custom&" + files,
		"mysql://" + user + ":" + pw + "@tcp(" + hp + ")/tlsdb?" + files + "&tls=custom",
	} {
		shown := strings.ReplaceAll(dsn, pw, "***")
		if c := openAndAsk(t, dsn, cipher); c == "" {
			t.Errorf("%s: the connection is not encrypted", shown)
		}
		d, err := ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(d.String(), "Tls7") || !strings.Contains(d.String(), "***") {
			t.Errorf("%s shows as %s", shown, d.String())
		}
	}
	refused := []struct{ dsn, why string }{
		{"mysql://" + user + ":" + pw + "@" + hp + "/tlsdb?tls=custom&ssl-ca=" + ca.path, "Access denied"},
		{user + ":" + pw + "@tcp(" + hp + ")/tlsdb?tls=true", "certificate"},
		{"mysql://" + user + ":" + pw + "@" + hp + "/tlsdb?tls=verify-ca&ssl-ca=" + writeTestCA(t) + "&ssl-cert=" + cliCert + "&ssl-key=" + cliKey, "certificate"},
	}
	for _, r := range refused {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		e, err := Open(ctx, r.dsn)
		cancel()
		if err == nil {
			e.Close()
			t.Errorf("%s: connected", strings.ReplaceAll(r.dsn, pw, "***"))
			continue
		}
		if !strings.Contains(err.Error(), r.why) {
			t.Errorf("%s: refused (%v), not for want of %q", strings.ReplaceAll(r.dsn, pw, "***"), err, r.why)
		}
		if strings.Contains(err.Error(), "Tls7") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// TestMySQLTLSParamsRefused: TLS parameters that cannot work together are
// refused before any connection, saying what to write.
func TestMySQLTLSParamsRefused(t *testing.T) {
	ca := newTestCA(t, "shepherd-test")
	cert, key := ca.issue("client", false)
	cases := []struct{ dsn, want string }{
		{"mysql://u:Sekr3tPa55@h/db?tls=false&ssl-ca=" + ca.path, "tls=custom"},
		{"mysql://u:Sekr3tPa55@h/db?ssl-cert=" + cert, "needs both"},
		{"mysql://u:Sekr3tPa55@h/db?tls=verify-ca", "no ssl-ca"},
		{"mysql://u:Sekr3tPa55@h/db?tls=custom&ssl-ca=/nonexistent/ca.pem", "read the MySQL DSN's ssl-ca"},
		{"mysql://u:Sekr3tPa55@h/db?ssl-ca=" + key, "holds no PEM certificate"},
		{"u:Sekr3tPa55@tcp(h)/db?tls=Sekr3tPa55", "tls= value is not one shepherd reads"},
		{"mysql://u:Sekr3tPa55@h:3306/db?socket=/run/mysqld/mysqld.sock", "both a host and a socket"},
		{"mysql://u:Sekr3tPa55@/db", "has no host"},
		{"mysql://u:Sekr3tPa55@h/db?password=x", "two passwords"},
		{"u:Sekr3tPa55@unix(/run/mysqld/mysqld.sock)/", "has no database"},
	}
	for _, tc := range cases {
		_, err := ParseDSN(tc.dsn)
		if err == nil {
			t.Errorf("%s: read", tc.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.dsn, err, tc.want)
		}
		if strings.Contains(err.Error(), "Sekr3t") {
			t.Errorf("%s: the refusal shows the password: %v", tc.dsn, err)
		}
	}
}
