package engine

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// A MariaDB server of a test's own, for what the shared server must not
// be changed for (TLS, replication): its own data directory, port, socket
// and tmpdir (a shared /tmp once lost the shared server's temporary files,
// and it crashed).

// mariaDBPrograms finds the server and its installer, or skips the test,
// saying why it needs them.
func mariaDBPrograms(t testing.TB, why string) (server, install string) {
	t.Helper()
	find := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			if p := filepath.Join("/usr/sbin", n); isExecutable(p) {
				return p
			}
		}
		return ""
	}
	server, install = find("mariadbd", "mysqld"), find("mariadb-install-db", "mysql_install_db")
	if server == "" || install == "" {
		t.Skip("MariaDB's server programs (mariadbd, mariadb-install-db) are not installed: " + why)
	}
	return server, install
}

// installMariaDB initialises a data directory, root without a password.
func installMariaDB(t testing.TB, install, dir, data string) {
	t.Helper()
	if out, err := exec.Command(install, "--no-defaults", "--tmpdir="+dir, "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", install, err, out)
	}
}

// runMariaDB starts server on data, as name, on port and the socket
// dir/name.sock, with args after the common ones; it is stopped when the
// test ends. It returns a pool of root over the socket once the server
// answers.
func runMariaDB(t testing.TB, server, dir, data, name string, port int, args ...string) *sql.DB {
	t.Helper()
	socket := filepath.Join(dir, name+".sock")
	logFile := filepath.Join(dir, name+".log")
	argv := append([]string{"--no-defaults", "--tmpdir=" + dir, "--datadir=" + data, "--user=root",
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--socket=" + socket,
		"--pid-file=" + filepath.Join(dir, name+".pid"), "--log-error=" + logFile,
		"--innodb-buffer-pool-size=16M", "--skip-name-resolve"}, args...)
	cmd := exec.Command(server, argv...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", server, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	root := openMySQLDriverDSN(t, "root@unix("+socket+")/mysql")
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := root.Ping()
		if err == nil {
			return root
		}
		select {
		case e := <-exited:
			log, _ := os.ReadFile(logFile)
			t.Fatalf("the %s exited: %v\n%s", name, e, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("the %s does not answer: %v\n%s", name, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openMySQLDriverDSN opens a database/sql pool with go-sql-driver's own
// DSN, its log quiet; closed when the test ends.
func openMySQLDriverDSN(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = &mysql.NopLogger{}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	return db
}
