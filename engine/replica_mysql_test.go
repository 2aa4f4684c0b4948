package engine

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// mariaDBPair is a private MariaDB primary and a replica of it, each
// serving on a port of its own; user shepherdUser (with replicaTestPassword)
// may do anything on both.
type mariaDBPair struct {
	primary, replica         int // ports
	primaryRoot, replicaRoot *sql.DB
}

const (
	shepherdUser        = "shep"
	replicaTestPassword = "Repl1caPw9x"
)

// startMariaDBPair installs one data directory, copies it for the replica,
// starts both servers (the primary with a binary log, the replica
// reporting its host and port to the primary, as SHOW SLAVE HOSTS needs)
// and starts replication. The test is skipped when MariaDB's server
// programs are not installed.
func startMariaDBPair(t *testing.T) *mariaDBPair {
	t.Helper()
	server, install := mariaDBPrograms(t, "the test starts a primary and a replica of its own")
	dir := t.TempDir()
	began := time.Now()
	installMariaDB(t, install, dir, filepath.Join(dir, "primary"))
	if out, err := exec.Command("cp", "-a", filepath.Join(dir, "primary"), filepath.Join(dir, "replica")).CombinedOutput(); err != nil {
		t.Fatalf("copy the data directory: %v\n%s", err, out)
	}
	installed := time.Since(began)
	p := &mariaDBPair{primary: freePort(t), replica: freePort(t)}
	start := func(name string, port int, args ...string) *sql.DB {
		return runMariaDB(t, server, dir, filepath.Join(dir, name), name, port,
			append([]string{"--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0"}, args...)...)
	}
	p.primaryRoot = start("primary", p.primary, "--server-id=1", "--log-bin="+filepath.Join(dir, "bin"), "--binlog-format=ROW")
	p.replicaRoot = start("replica", p.replica, "--server-id=2", "--skip-log-bin",
		"--report-host=127.0.0.1", fmt.Sprintf("--report-port=%d", p.replica))
	exec := func(db *sql.DB, stmts ...string) {
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", strings.ReplaceAll(s, replicaTestPassword, "***"), err)
			}
		}
	}
	// Written to the binary log from its start: the replica makes the
	// user and the database too.
	exec(p.primaryRoot,
		fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'", shepherdUser, replicaTestPassword),
		fmt.Sprintf("GRANT ALL ON *.* TO '%s'@'127.0.0.1'", shepherdUser),
		"CREATE DATABASE test")
	exec(p.replicaRoot,
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=4, MASTER_USE_GTID=no",
			p.primary, shepherdUser, replicaTestPassword),
		"START SLAVE")
	waitFor(t, "the replica to make the test database", 20*time.Second, func() bool {
		var n int
		return p.replicaRoot.QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'test'`).Scan(&n) == nil && n == 1
	})
	t.Logf("private MariaDB primary on 127.0.0.1:%d, replica on 127.0.0.1:%d: installed in %s, replicating after %s",
		p.primary, p.replica, installed.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	return p
}

// dsn is the primary's DSN, with shepherdUser's password.
func (p *mariaDBPair) dsn() string {
	return fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d/test", shepherdUser, replicaTestPassword, p.primary)
}

// A backfill on a private MariaDB primary whose replica it finds itself
// (SHOW SLAVE HOSTS, asked with the primary's user and password): once
// the replica's SQL thread stops, the backfill holds between batches,
// saying which replica and why, with no batch run while it holds; once the
// thread runs again it goes on by itself and finishes with every row
// right, on the replica too. No notice shows the password. A replica
// listed in the plan instead is asked the same way.
func TestBackfillHoldsForMariaDBReplicaLag(t *testing.T) {
	if ok, why := testdb.Available("mysql"); !ok {
		t.Skip(why)
	}
	t.Parallel()
	pair := startMariaDBPair(t)
	db := testdb.Attach(t, "mysql", pair.dsn())
	db.Seed(2000)
	replicaAddr := fmt.Sprintf("127.0.0.1:%d", pair.replica)

	var batches atomic.Int64
	var resumed atomic.Bool
	resumedAt := make(chan time.Time, 1)
	hook := func(point string) {
		if point == "backfill:batch-done" && batches.Add(1) == 3 {
			if _, err := pair.replicaRoot.Exec(`STOP SLAVE SQL_THREAD`); err != nil {
				t.Errorf("stop the replica's SQL thread: %v", err)
			}
		}
	}
	rec := &recorder{on: func(e Event) {
		if e.Event == EventNotice && strings.Contains(e.Message, "holding between batches") {
			time.AfterFunc(500*time.Millisecond, func() {
				resumed.Store(true)
				resumedAt <- time.Now()
				if _, err := pair.replicaRoot.Exec(`START SLAVE SQL_THREAD`); err != nil {
					t.Errorf("start the replica's SQL thread: %v", err)
				}
			})
		}
	}}
	// The default limit, 1s.
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: hook, Emit: rec.emit})
	if _, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatal(err)
	}
	if !resumed.Load() {
		t.Fatalf("the backfill finished before the replica applied again: it did not hold (%d batches)\nnotices: %v", batches.Load(), rec.of(EventNotice))
	}
	at := <-resumedAt
	if len(rec.find(EventNotice, "watching the lag of 1 replica\\(s\\) the primary lists.*"+replicaAddr)) == 0 {
		t.Errorf("no notice says the replica was found: %v", rec.of(EventNotice))
	}
	holdsAndResumes(t, rec, "replica "+replicaAddr+" is behind: its SQL thread is stopped")
	for _, e := range rec.find(EventNotice, "going on after holding") {
		if e.Time.Time.Before(at) {
			t.Errorf("the backfill went on at %s, before the replica applied again at %s", e.Time, at)
		}
	}
	for _, e := range rec.all() {
		if strings.Contains(e.Message, replicaTestPassword) {
			t.Errorf("a notice shows the password: %s", e.Message)
		}
	}
	if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
		t.Errorf("%s rows not backfilled", got)
	}
	waitFor(t, "the replica to have the backfill", 20*time.Second, func() bool {
		var n int
		err := pair.replicaRoot.QueryRow(`SELECT count(*) FROM test.users WHERE email IS NULL OR email <> lower(username)`).Scan(&n)
		return err == nil && n == 0
	})

	// Listed in the plan: read with the primary's password, and behind
	// while its SQL thread is stopped; not behind once it runs again.
	listed := mustPlan(t, usersEmailPlan+fmt.Sprintf("replicas: [mysql://%s@%s]\n", shepherdUser, replicaAddr))
	eng, err := Open(context.Background(), pair.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ls := eng.newSession(listed, Options{Emit: rec.emit})
	g := ls.newReplicaGauge(context.Background(), "backfill")
	if g == nil {
		t.Fatalf("no replica watched: %v", rec.of(EventNotice))
	}
	defer g.close()
	for _, stopped := range []bool{true, false} {
		stmt := "START SLAVE SQL_THREAD"
		if stopped {
			stmt = "STOP SLAVE SQL_THREAD"
		}
		if _, err := pair.replicaRoot.Exec(stmt); err != nil {
			t.Fatal(err)
		}
		behind, what, err := g.check(context.Background())
		if err != nil || behind != stopped {
			t.Errorf("SQL thread stopped %v: behind %v (%s), %v; notices %v", stopped, behind, what, err, rec.of(EventNotice))
		}
	}

	// Listed in SHEPHERD_REPLICAS, with a user and password of its own;
	// a DSN there that is not read is refused without a word of it.
	ctx := context.Background()
	env := fmt.Sprintf("mysql://%s:%s@%s/test", shepherdUser, replicaTestPassword, replicaAddr)
	r, err := ls.mysqlReplicas(ctx, "backfill", env)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	lags, err := r.read(ctx)
	if err != nil || len(lags) != 1 || lags[0].name != replicaAddr || lags[0].unread != "" || lags[0].unknown != "" {
		t.Errorf("%s: read %+v, %v", ReplicasEnv, lags, err)
	}
	if _, err := ls.mysqlReplicas(ctx, "backfill", "mysql://"+shepherdUser+":"+replicaTestPassword+"@"+replicaAddr); err == nil || strings.Contains(err.Error(), replicaTestPassword) {
		t.Errorf("a DSN without a database: %v", err)
	}
	for _, e := range rec.all() {
		if strings.Contains(e.Message, replicaTestPassword) {
			t.Errorf("a notice shows the password: %s", e.Message)
		}
	}
}
