package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// These tests run the real binary as a separate process and interrupt it
// mid-backfill, the way an operator's Ctrl-C or an OOM killer would.

// binaries are the shepherd binaries built for this test run, by build
// tags: "" is the normal build, "failpoints" the crash tests' build.
var binaries = struct {
	sync.Mutex
	built map[string]*builtBinary
}{built: map[string]*builtBinary{}}

type builtBinary struct {
	once sync.Once
	path string
	err  error
}

// removeBinaries deletes the binaries built for this test run (TestMain
// calls it after the tests): each is in a temporary folder of its own.
func removeBinaries() {
	binaries.Lock()
	defer binaries.Unlock()
	for _, b := range binaries.built {
		if b.path != "" {
			os.RemoveAll(filepath.Dir(b.path))
		}
	}
}

// shepherdBinary builds the shepherd binary once per test run, as it ships.
func shepherdBinary(t *testing.T) string { return buildBinary(t, "") }

// failpointBinary builds the binary with -tags failpoints: the only build
// in which SHEPHERD_TEST_KILL_AT kills the process at a failpoint.
func failpointBinary(t *testing.T) string { return buildBinary(t, "failpoints") }

func buildBinary(t *testing.T, tags string) string {
	t.Helper()
	binaries.Lock()
	b, ok := binaries.built[tags]
	if !ok {
		b = &builtBinary{}
		binaries.built[tags] = b
	}
	binaries.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "shepherd-bin")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "shepherd")
		args := []string{"build", "-o", b.path}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			b.err = &buildFailure{out: string(out), err: err}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

type buildFailure struct {
	out string
	err error
}

func (b *buildFailure) Error() string { return b.err.Error() + "\n" + b.out }

// updateCounter is, per dialect, a trigger that logs every update of
// users.email into upd, so that a row updated twice shows.
var updateCounter = map[string][]string{
	"sqlite": {
		`CREATE TABLE upd (id integer NOT NULL)`,
		`CREATE TRIGGER count_upd AFTER UPDATE OF email ON users BEGIN INSERT INTO upd (id) VALUES (NEW.id); END`,
	},
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

const interruptPlan = `name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username)"
`

func TestInterruptedBackfillResumes(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			t.Run(dialect+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				db := testdb.New(t, dialect)
				const rows = 10000
				db.Seed(rows)
				dir := t.TempDir()
				plan := filepath.Join(dir, "plan.yaml")
				if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
					t.Fatal(err)
				}
				shep := func(args ...string) *exec.Cmd {
					cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
					cmd.Dir = dir
					return cmd
				}
				if out, err := shep("run", plan, "--non-interactive").CombinedOutput(); exitOf(err) != 3 {
					t.Fatalf("first run: %v\n%s", err, out)
				}
				for _, st := range updateCounter[dialect] {
					db.Exec(st)
				}

				// A slow backfill: small batches, capped rate.
				var out bytes.Buffer
				cmd := shep("run", plan, "--non-interactive", "--confirm", "deploy-readers", "--batch-size", "250", "--max-rate", "2000", "--operator", "holder")
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 20*time.Second, func() bool {
					r, err := db.QueryE(`SELECT rows_done FROM ` + stateTable(dialect) + ` WHERE plan = 'users-email' AND phase = 'backfill'`)
					if err != nil || len(r) == 0 {
						return false
					}
					n, _ := strconv.Atoi(r[0][0])
					return n >= 1000 // 4.5 s before the capped rate could finish
				})
				// A live runner: status shows the phase running, by it.
				checkRunnerStatus(t, shep, cmd.Process.Pid, true)
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				err := cmd.Wait()
				if sig != syscall.SIGKILL && exitOf(err) != 1 {
					t.Fatalf("%s: exit %d, want 1 (interrupted)\n%s", sig, exitOf(err), out.String())
				}
				// Gone: the phase is stopped, not running, whether it
				// could record that (a signal it catches) or not (kill -9).
				checkRunnerStatus(t, shep, cmd.Process.Pid, false)
				done, _ := strconv.Atoi(db.One(`SELECT rows_done FROM ` + stateTable(dialect) + ` WHERE plan = 'users-email' AND phase = 'backfill'`))
				filled, _ := strconv.Atoi(db.One(`SELECT count(*) FROM users WHERE email IS NOT NULL`))
				if done <= 0 || done >= rows {
					t.Fatalf("interrupted at rows_done %d: the test did not interrupt mid-backfill\n%s", done, out.String())
				}
				if filled != done {
					t.Errorf("after the interrupt %d rows are filled but the checkpoint says %d: batch and checkpoint must commit together", filled, done)
				}

				// The rerun resumes and finishes.
				res, err := shep("run", plan, "--non-interactive", "--batch-size", "1000").CombinedOutput()
				if exitOf(err) != 3 {
					t.Fatalf("rerun: exit %d\n%s", exitOf(err), res)
				}
				if !bytes.Contains(res, []byte("resuming from the checkpoint id "+strconv.Itoa(done))) {
					t.Errorf("the rerun did not resume from the checkpoint %d:\n%s", done, res)
				}
				if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
					t.Errorf("%s rows are not backfilled right", got)
				}
				if got := db.One(`SELECT count(*) FROM upd`); got != strconv.Itoa(rows) {
					t.Errorf("%s updates for %d rows", got, rows)
				}
				if got := db.Query(`SELECT id, count(*) FROM upd GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5`); len(got) > 0 {
					t.Errorf("rows updated twice: %v", got)
				}
			})
		}
	}
}

func stateTable(dialect string) string {
	if dialect == "postgres" {
		return "shepherd.shepherd_state"
	}
	return "shepherd_state"
}

func exitOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRunnerStatus checks what `status` and `status --json` say of the
// backfill and of the runner lock's holder, pid, while it runs (alive) or
// once it is gone.
func checkRunnerStatus(t *testing.T, shep func(args ...string) *exec.Cmd, pid int, alive bool) {
	t.Helper()
	text, err := shep("status").CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, text)
	}
	var line string
	for _, l := range strings.Split(string(text), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "backfill" {
			line = l
		}
	}
	want := "stopped"
	if alive {
		want = "running"
	}
	if f := strings.Fields(line); len(f) < 2 || f[1] != want {
		t.Errorf("status shows backfill as %q, want %s:\n%s", line, want, text)
	}
	if alive && !strings.Contains(string(text), fmt.Sprintf("runner lock: held by holder, pid %d on host", pid)) {
		t.Errorf("status does not name the live runner, pid %d:\n%s", pid, text)
	}
	js, err := shep("status", "--json").Output()
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, js)
	}
	var got struct {
		Plans []struct {
			Runner *struct {
				Holder string
				PID    int
				Alive  bool
			}
		}
	}
	if err := json.Unmarshal(js, &got); err != nil || len(got.Plans) != 1 {
		t.Fatalf("status --json: %v\n%s", err, js)
	}
	r := got.Plans[0].Runner
	switch {
	case alive && (r == nil || !r.Alive || r.PID != pid || r.Holder != "holder"):
		t.Errorf("status --json: the runner is %+v, want holder, pid %d, alive", r, pid)
	case !alive && r != nil && r.Alive:
		t.Errorf("status --json: the runner is %+v after it is gone", r)
	}
}
