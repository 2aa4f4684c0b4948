package engine

import (
	"context"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Connection lost: every connection shepherd has to the database (its pool
// and the runner lock's session) is killed by the server mid-backfill and
// mid-DDL. shepherd reconnects, takes its lock again, and finishes; no row is
// skipped or updated twice.

// killOthers is, per server dialect, the statement that kills every other
// session on the test's database.
var killOthers = map[string]func(db *testdb.DB) int{
	"postgres": func(db *testdb.DB) int {
		rows := db.Query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		return len(rows)
	},
	"mysql": func(db *testdb.DB) int {
		ids := db.Query(`SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
		for _, r := range ids {
			db.SQL.Exec("KILL " + r[0])
		}
		return len(ids)
	},
}

var countUpdates = map[string][]string{
	"postgres": {
		`CREATE TABLE upd (id integer NOT NULL)`,
		`CREATE FUNCTION count_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO upd (id) VALUES (NEW.id); RETURN NEW; END $$`,
		`CREATE TRIGGER count_upd AFTER UPDATE OF email ON users FOR EACH ROW EXECUTE FUNCTION count_upd()`,
	},
	"mysql": {
		`CREATE TABLE upd (id integer NOT NULL)`,
		`CREATE TRIGGER count_upd AFTER UPDATE ON users FOR EACH ROW INSERT INTO upd (id) VALUES (NEW.id)`,
	},
}

// backfilledOnce checks that every one of n users rows has its email, and
// that the countUpdates trigger saw each row updated exactly once.
func backfilledOnce(t *testing.T, db *testdb.DB, n int) {
	t.Helper()
	if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
		t.Errorf("%s rows not backfilled right", got)
	}
	if got := db.One(`SELECT count(*) FROM upd`); got != strconv.Itoa(n) {
		t.Errorf("%s updates for %d rows", got, n)
	}
	if dup := db.Query(`SELECT id FROM upd GROUP BY id HAVING count(*) > 1`); len(dup) > 0 {
		t.Errorf("%d rows updated twice", len(dup))
	}
}

// enforcedAndHeld checks that email's NOT NULL is in force and that the
// runner lock is s's again: a second runner is refused. after says after
// what, for the message.
func enforcedAndHeld(t *testing.T, db *testdb.DB, s *Session, after string) {
	t.Helper()
	nn := db.One(map[string]string{
		"postgres": `SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email' AND attnotnull`,
		"mysql":    `SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email' AND is_nullable = 'NO'`,
	}[db.Dialect])
	if nn != "1" {
		t.Errorf("NOT NULL is not in force")
	}
	eng, err := Open(context.Background(), db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.Start(context.Background(), s.plan, Options{}); err == nil || !strings.Contains(err.Error(), "another runner holds") {
		t.Errorf("after %s, the runner lock is not held: a second session got %v", after, err)
	}
}

func TestConnectionLost(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		for _, at := range []string{"backfill:batch-done", "backfill:batch-commit", "enforce:step-0", "enforce:step-0-done"} {
			t.Run(dialect+"/"+at, func(t *testing.T) {
				t.Parallel()
				db := testdb.New(t, dialect)
				db.Seed(3000)
				var kills, batches atomic.Int64
				hook := func(point string) {
					if point == "backfill:batch-done" {
						batches.Add(1)
					}
					// Kill every session once, at the chosen point (for the
					// backfill: after its third batch).
					if point == at && kills.Load() == 0 && (at != "backfill:batch-done" || batches.Load() == 3) {
						kills.Add(int64(killOthers[dialect](db)))
					}
				}
				// The retries' pauses at a fifth of production's: as many
				// tries, over less time (waits.go).
				ctx := withWaits(context.Background(), waits{retryScale: 0.2})
				s, rec := sessionWith(ctx, t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 400, Failpoint: hook})
				if _, err := s.Run(ctx, "add-column", nil); err != nil {
					t.Fatal(err)
				}
				for _, st := range countUpdates[dialect] {
					db.Exec(st)
				}
				if _, err := s.Run(ctx, "", map[string]bool{"deploy-readers": true, "switch-writes": true}); err != nil {
					t.Fatalf("the run did not survive losing its connections at %s: %v", at, err)
				}
				if kills.Load() == 0 {
					t.Fatalf("no session was killed at %s: the failpoint was not reached", at)
				}
				lost := len(rec.find(EventNotice, "lost"))
				if lost == 0 {
					t.Errorf("no notice says the connection was lost and retried")
				}
				// A batch whose connection went may have committed: the
				// notice must not say it was rolled back.
				if n := len(rec.find(EventNotice, `rolled back\)`)); n > 0 {
					t.Errorf("%d notices say a batch was rolled back, which a lost connection cannot tell", n)
				}
				if at == "backfill:batch-commit" && len(rec.find(EventNotice, `lost its connection \(it may have been rolled back, or committed unacknowledged: the recorded checkpoint decides`)) == 0 {
					t.Errorf("no notice says the batch may have committed: %v", rec.of(EventNotice))
				}
				backfilledOnce(t, db, 3000)
				enforcedAndHeld(t, db, s, "reconnecting")
				t.Logf("%s: killed %s sessions; %d retry notices", at, strconv.FormatInt(kills.Load(), 10), lost)
			})
		}
	}
}

// outage is a TCP proxy in front of the test's server that can make the
// server unreachable for a while, as a restart or a failover does: every
// open connection is cut and new ones are refused until it is back.
type outage struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	t      *testing.T
}

func newOutage(t *testing.T, target string) *outage {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}, t: t}
	o.serve(ln)
	t.Cleanup(func() { o.down() })
	return o
}

func (o *outage) serve(ln net.Listener) {
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", o.target)
			if err != nil {
				c.Close()
				continue
			}
			o.mu.Lock()
			o.conns[c], o.conns[up] = true, true
			o.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// down cuts every connection and refuses new ones.
func (o *outage) down() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln != nil {
		o.ln.Close()
		o.ln = nil
	}
	for c := range o.conns {
		c.Close()
	}
	o.conns = map[net.Conn]bool{}
}

// cut makes the server unreachable for d, then answers again on the same
// address.
func (o *outage) cut(d time.Duration) {
	o.down()
	time.AfterFunc(d, func() {
		ln, err := net.Listen("tcp", o.addr)
		if err != nil {
			o.t.Errorf("outage: listen again on %s: %v", o.addr, err)
			return
		}
		o.serve(ln)
	})
}

// Server unreachable for a second (connections refused, as during a
// restart; the retries' pauses are a quarter of production's, so the
// outage spans as many of them as two seconds would), mid-backfill (between batches, and inside a batch's transaction
// before its COMMIT) and mid-DDL: shepherd waits, reconnects, takes its
// runner lock again and finishes, with every row updated once.
func TestServerUnreachableForAWhile(t *testing.T) {
	const outage = time.Second
	for _, dialect := range []string{"postgres", "mysql"} {
		for _, at := range []string{"backfill:batch-done", "backfill:batch-commit", "enforce:step-0"} {
			t.Run(dialect+"/"+at, func(t *testing.T) {
				t.Parallel()
				db := testdb.New(t, dialect)
				db.Seed(3000)
				u, err := url.Parse(db.DSN)
				if err != nil {
					t.Fatal(err)
				}
				proxy := newOutage(t, u.Host)
				u.Host = proxy.addr
				var cuts, batches atomic.Int64
				hook := func(point string) {
					if point == "backfill:batch-done" {
						batches.Add(1)
					}
					if point == at && cuts.Load() == 0 && (!strings.HasPrefix(at, "backfill:") || batches.Load() == 3) {
						cuts.Add(1)
						proxy.cut(outage)
					}
				}
				ctx := withWaits(context.Background(), waits{retryScale: 0.25})
				eng, err := Open(ctx, u.String())
				if err != nil {
					t.Fatal(err)
				}
				defer eng.Close()
				rec := &recorder{}
				s, err := eng.Start(ctx, mustPlan(t, usersEmailPlan), Options{BatchSize: 400, Failpoint: hook, Emit: rec.emit})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if _, err := s.Run(ctx, "add-column", nil); err != nil {
					t.Fatal(err)
				}
				for _, st := range countUpdates[dialect] {
					db.Exec(st)
				}
				start := time.Now()
				if _, err := s.Run(ctx, "", map[string]bool{"deploy-readers": true, "switch-writes": true}); err != nil {
					t.Fatalf("the run did not survive %s without its server at %s: %v", outage, at, err)
				}
				if cuts.Load() == 0 {
					t.Fatalf("the failpoint %s was not reached", at)
				}
				if took := time.Since(start); took < outage {
					t.Errorf("the run took %s: the outage did not happen", took)
				}
				backfilledOnce(t, db, 3000)
				if len(rec.find(EventNotice, "lost|reconnect")) == 0 {
					t.Errorf("no notice says the connection was lost")
				}
			})
		}
	}
}
