package engine

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// A real server restart, mid-backfill and mid-DDL. The shared test servers
// serve the whole parallel suite and must not be restarted: each case starts
// a PostgreSQL server of its own (initdb in a temporary directory, a free
// port) and restarts it with pg_ctl while the run is inside the phase.
// Every connection shepherd has (its pool and the runner lock's session) is
// ended by the shutdown, and new ones are refused until the server is up.

// privatePostgres is a PostgreSQL server started by one test.
type privatePostgres struct {
	t    *testing.T
	bin  string // the directory of initdb and pg_ctl
	dir  string // owned by the user the server runs as
	data string
	port int
	// asPostgres: this process runs as root, which PostgreSQL refuses;
	// its programs run as the postgres OS user.
	asPostgres bool
	pending    sync.WaitGroup // a start still running in the background
}

// postgresBin finds the directory of the installed PostgreSQL server
// programs: the newest of Debian's /usr/lib/postgresql/*/bin, else the
// one on PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	if ctl, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(ctl)
		if isExecutable(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server programs (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH: install PostgreSQL (Debian: apt-get install postgresql)")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPrivatePostgres initialises and starts a PostgreSQL server for the
// test alone, stopped and removed when the test ends (even when it fails).
// It fails the test when the server's programs are not installed: a run
// that sets SHEPHERD_TEST_POSTGRES means PostgreSQL to be tested.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, bin: bin, asPostgres: os.Geteuid() == 0}
	if p.asPostgres {
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Fatalf("running as root, PostgreSQL must run as the postgres OS user, and runuser is missing: %v", err)
		}
	}
	// Not t.TempDir: its parent is private to this user, and the server
	// may run as another. The socket path must stay short, too.
	p.dir, err = os.MkdirTemp("", "shepherd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.pending.Wait()
		// Whatever state the server is in (up, stopped, half started).
		if _, err := os.Stat(filepath.Join(p.data, "postmaster.pid")); err == nil {
			if out, err := p.ctl("-m", "immediate", "-w", "-t", "30", "stop"); err != nil {
				t.Logf("stop the private server: %v\n%s", err, out)
			}
		}
		if err := os.RemoveAll(p.dir); err != nil {
			t.Logf("remove %s: %v", p.dir, err)
		}
	})
	if p.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL must run as the postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(p.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p.data = filepath.Join(p.dir, "data")
	p.port = freePort(t)
	began := time.Now()
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// Appended as the file's owner would (O_APPEND keeps the owner): the
	// settings hold for every start, a restart included.
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\nlogging_collector = off\n", p.port, p.dir)
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	initialised := time.Since(began)
	if out, err := p.ctl("-w", "-t", "60", "start"); err != nil {
		t.Fatalf("start the private server: %v\n%s\n%s", err, out, p.log())
	}
	t.Logf("private PostgreSQL (%s) on 127.0.0.1:%d: initdb %s, start %s", p.bin, p.port,
		initialised.Round(time.Millisecond), (time.Since(began) - initialised).Round(time.Millisecond))
	return p
}

// run runs one of the server's programs, as the postgres OS user when this
// process is root.
func (p *privatePostgres) run(prog string, args ...string) (string, error) {
	argv := append([]string{filepath.Join(p.bin, prog)}, args...)
	if p.asPostgres {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.dir // a directory the server's user can enter
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ctl runs pg_ctl on the server's data directory, its log in the server's
// directory.
func (p *privatePostgres) ctl(args ...string) (string, error) {
	return p.run("pg_ctl", append([]string{"-D", p.data, "-l", filepath.Join(p.dir, "log")}, args...)...)
}

// log is the end of the server's log, for a failure's message.
func (p *privatePostgres) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (p *privatePostgres) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// restart stops the server now (fast shutdown: every session is ended, an
// open transaction rolled back) and starts it again after down, in the
// background: meanwhile connections are refused, as during a real restart.
// done receives nil once the server is up again, or the failure.
func (p *privatePostgres) restart(down time.Duration, done chan<- error) {
	began := time.Now()
	if out, err := p.ctl("-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		done <- fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
		return
	}
	stopped := time.Since(began)
	p.pending.Add(1)
	go func() {
		defer p.pending.Done()
		time.Sleep(down)
		if out, err := p.ctl("-w", "-t", "60", "start"); err != nil {
			done <- fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, p.log())
			return
		}
		p.t.Logf("restart: stopped in %s, unreachable for %s", stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
		done <- nil
	}()
}

// Server restart, mid-backfill and mid-DDL: the run waits for the server,
// reconnects, takes its runner lock again and finishes; every row is
// backfilled right and updated once, NOT NULL is in force, and the lock is
// this runner's again.
func TestServerRestart(t *testing.T) {
	if ok, why := testdb.Available("postgres"); !ok {
		t.Skip(why)
	}
	// batch-done: between batches (the next one's bounds are read while the
	// server is down); batch-commit: inside a batch's transaction, which the
	// shutdown rolls back; step-0: just before the enforce phase's DDL.
	for _, at := range []string{"backfill:batch-done", "backfill:batch-commit", "enforce:step-0"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			srv := startPrivatePostgres(t)
			db := testdb.Attach(t, "postgres", srv.dsn())
			db.Seed(3000)
			bootedBefore := db.One(`SELECT pg_postmaster_start_time()`)
			var restarts, batches atomic.Int64
			restarted := make(chan error, 1)
			hook := func(point string) {
				if point == "backfill:batch-done" {
					batches.Add(1)
				}
				// Restart once, at the chosen point (for the backfill:
				// after its third batch, or in its fourth).
				if point == at && restarts.Load() == 0 && (!strings.HasPrefix(at, "backfill:") || batches.Load() == 3) {
					restarts.Add(1)
					srv.restart(time.Second, restarted)
				}
			}
			s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 400, Failpoint: hook})
			if _, err := s.Run(context.Background(), "add-column", nil); err != nil {
				t.Fatal(err)
			}
			for _, st := range countUpdates["postgres"] {
				db.Exec(st)
			}
			start := time.Now()
			_, runErr := s.Run(context.Background(), "", map[string]bool{"deploy-readers": true, "switch-writes": true})
			took := time.Since(start)
			if restarts.Load() == 0 {
				t.Fatalf("the failpoint %s was not reached: the server was not restarted", at)
			}
			if err := <-restarted; err != nil {
				t.Fatalf("restart the private server: %v", err)
			}
			if runErr != nil {
				t.Fatalf("the run did not survive a restart of its server at %s: %v\nnotices: %v", at, runErr, rec.of(EventNotice))
			}
			if bootedAfter := db.One(`SELECT pg_postmaster_start_time()`); bootedAfter == bootedBefore {
				t.Fatalf("the server still runs since %s: it was not restarted", bootedBefore)
			}
			backfilledOnce(t, db, 3000)
			lost := rec.find(EventNotice, "lost|reconnect")
			if len(lost) == 0 {
				t.Errorf("no notice says the connection was lost and retried: %v", rec.of(EventNotice))
			}
			// NOT NULL is in force, and the lock is this runner's again, on a
			// session opened after the restart.
			enforcedAndHeld(t, db, s, "the restart")
			t.Logf("%s: the run took %s across the restart; %d notices of the lost connection", at, took.Round(time.Millisecond), len(lost))
			for _, n := range lost {
				t.Logf("  notice: %s", n.Message)
			}
		})
	}
}
