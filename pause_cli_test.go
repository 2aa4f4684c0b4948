package main

import (
	"bufio"
	"encoding/json"
	"io"
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

// Live control across processes: a runner (the real binary) walks a
// backfill in the background while `shepherd pause`, `tune` and `resume`,
// other processes, write their requests into the database; the runner
// obeys before its next batch. The runner reads the requests once a second,
// so each wait here is a poll with a deadline.

// events collects a runner's JSON lines as they come.
type events struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   strings.Builder
}

func (ev *events) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m map[string]any
		ev.mu.Lock()
		ev.raw.WriteString(sc.Text() + "\n")
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			ev.lines = append(ev.lines, m)
		}
		ev.mu.Unlock()
	}
}

// find returns the events since the from-th that match.
func (ev *events) find(from int, match func(map[string]any) bool) []map[string]any {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []map[string]any
	for _, m := range ev.lines[min(from, len(ev.lines)):] {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

func (ev *events) count() int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return len(ev.lines)
}

func (ev *events) String() string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.raw.String()
}

func kind(k string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["event"] == k }
}

// controlRig is a database with the plan run up to its first gate, and the
// binary to run it further.
type controlRig struct {
	t     *testing.T
	db    *testdb.DB
	plan  string
	shep  func(args ...string) *exec.Cmd
	state string
}

func newControlRig(t *testing.T, dialect string, rows int) *controlRig {
	bin := shepherdBinary(t)
	db := testdb.New(t, dialect)
	db.Seed(rows)
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &controlRig{t: t, db: db, plan: plan, state: stateTable(dialect)}
	r.shep = func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
		cmd.Dir = dir
		return cmd
	}
	if out, err := r.shep("run", plan, "--non-interactive").CombinedOutput(); exitOf(err) != 3 {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	return r
}

// start runs the backfill in the background, its JSON lines read into ev.
func (r *controlRig) start(args ...string) (*exec.Cmd, *events, chan error) {
	r.t.Helper()
	cmd := r.shep(append([]string{"run", r.plan, "--non-interactive", "--confirm", "deploy-readers", "--operator", "runner", "-o", "json"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	ev := &events{}
	done := make(chan error, 1)
	go func() {
		ev.read(out)
		done <- cmd.Wait()
	}()
	r.t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, ev, done
}

// ctl runs pause, resume or tune and wants exit 0.
func (r *controlRig) ctl(args ...string) string {
	r.t.Helper()
	out, err := r.shep(args...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *controlRig) rowsDone() int {
	n, _ := strconv.Atoi(r.db.One(`SELECT rows_done FROM ` + r.state + ` WHERE plan = 'users-email' AND phase = 'backfill'`))
	return n
}

// waitEvent waits for an event from the from-th on that matches.
func waitEvent(t *testing.T, ev *events, from int, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := ev.find(from, match); len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event within 15s:\n%s", what, ev.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holds checks that no batch runs for a while longer than the runner's
// read of its requests (a second): rows done stay put, in the state and in
// the runner's events.
func (r *controlRig) holds(ev *events, n int) {
	r.t.Helper()
	from := ev.count()
	time.Sleep(1200 * time.Millisecond)
	if got := r.rowsDone(); got != n {
		r.t.Errorf("rows done went from %d to %d while paused", n, got)
	}
	if got := ev.find(from, kind("progress")); len(got) > 0 {
		r.t.Errorf("batches ran while paused: %v", got)
	}
}

func byIs(who string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["by"] == who }
}

func and(fs ...func(map[string]any) bool) func(map[string]any) bool {
	return func(m map[string]any) bool {
		for _, f := range fs {
			if !f(m) {
				return false
			}
		}
		return true
	}
}

// pause from another process holds the running backfill (rows done stay
// put), tune changes its batches live, resume lets it finish; each request
// is in status --log with who asked, and status shows the pause.
func TestPauseTuneResumeAcrossProcesses(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := newControlRig(t, dialect, 3000)
			_, ev, done := r.start("--batch-size", "50", "--max-rate", "500")
			waitFor(t, 15*time.Second, func() bool { return r.rowsDone() >= 100 })

			if out := r.ctl("pause", "users-email", "--operator", "alice"); !strings.Contains(out, "paused users-email: its runner (runner, pid") {
				t.Errorf("pause says:\n%s", out)
			}
			p := waitEvent(t, ev, 0, "paused by alice", and(kind("paused"), byIs("alice")))
			held := int(p["rows_done"].(float64))
			if got := r.rowsDone(); got != held {
				t.Errorf("held at %d rows by its event, %d by the state", held, got)
			}
			if held >= 3000 {
				t.Fatalf("the pause came after the backfill:\n%s", ev.String())
			}
			r.holds(ev, held)
			if st := r.ctl("status"); !strings.Contains(st, "paused by alice at ") {
				t.Errorf("status does not show the pause:\n%s", st)
			}

			// Tuned, then resumed: batches sized to --batch-time where the
			// run pinned --batch-size 50, without the cap.
			from := ev.count()
			if out := r.ctl("tune", "users-email", "--batch-time", "100ms", "--max-rate", "0", "--operator", "carol"); !strings.Contains(out, "tuned users-email: batch time 100ms, no max rate; its runner applies it within a second") {
				t.Errorf("tune says:\n%s", out)
			}
			if got := r.rowsDone(); got != held {
				t.Errorf("rows done went from %d to %d on a tune while paused: a tune does not resume", held, got)
			}
			if out := r.ctl("resume", "users-email", "--operator", "bob"); !strings.Contains(out, "resumed users-email (paused by alice at ") {
				t.Errorf("resume says:\n%s", out)
			}
			select {
			case err := <-done:
				if exitOf(err) != 3 {
					t.Fatalf("the run: exit %d, want 3 (at switch-writes)\n%s", exitOf(err), ev.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("the run did not finish after resume:\n%s", ev.String())
			}
			if got := ev.find(from, and(kind("notice"), byIs("carol"))); len(got) == 0 {
				t.Errorf("the runner did not say it was tuned:\n%s", ev.String())
			}
			if got := ev.find(from, and(kind("resumed"), byIs("bob"))); len(got) == 0 {
				t.Errorf("the runner did not say who resumed it:\n%s", ev.String())
			}
			if got := ev.find(from, and(kind("progress"), func(m map[string]any) bool { n, _ := m["batch_size"].(float64); return n > 50 })); len(got) == 0 {
				t.Errorf("no batch over --batch-size 50 after tune --batch-time:\n%s", ev.String())
			}
			for i, m := range ev.find(0, kind("progress")) {
				if n, _ := m["batch_size"].(float64); n > 50 && i < len(ev.find(0, kind("progress")))-len(ev.find(from, kind("progress"))) {
					t.Errorf("a batch of %v rows before the tune, over --batch-size 50", n)
				}
			}
			if got := r.db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
				t.Errorf("%s rows are not backfilled right", got)
			}
			log := r.ctl("status", "users-email", "--log")
			for _, want := range []string{"pause    alice", "tune     carol", "resume   bob", "paused   runner", "resumed  runner", "paused by alice at ", "asked the runner for batch time 100ms, no max rate"} {
				if !strings.Contains(log, want) {
					t.Errorf("status --log has no %q:\n%s", want, log)
				}
			}
		})
	}
}

// A runner killed while paused leaves the plan paused: the next run holds
// before its first batch, says who paused it and when, until resume.
func TestPauseOutlivesAKilledRunner(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := newControlRig(t, dialect, 2000)
			cmd, ev, done := r.start("--batch-size", "100", "--max-rate", "1000")
			waitFor(t, 15*time.Second, func() bool { return r.rowsDone() >= 200 })
			r.ctl("pause", "plan.yaml", "--operator", "alice")
			waitEvent(t, ev, 0, "paused", kind("paused"))
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			held := r.rowsDone()

			_, ev2, done2 := r.start("--batch-size", "500")
			p := waitEvent(t, ev2, 0, "paused", kind("paused"))
			if msg, _ := p["message"].(string); p["by"] != "alice" || !strings.HasPrefix(msg, "paused by alice at ") || !strings.Contains(msg, "shepherd resume users-email") {
				t.Errorf("the new run's hold says %v", p)
			}
			r.holds(ev2, held)
			r.ctl("resume", "plan.yaml", "--operator", "bob")
			select {
			case err := <-done2:
				if exitOf(err) != 3 {
					t.Fatalf("the new run: exit %d, want 3\n%s", exitOf(err), ev2.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("the new run did not finish after resume:\n%s", ev2.String())
			}
			if got := r.db.One(`SELECT count(*) FROM users WHERE email IS NULL`); got != "0" {
				t.Errorf("%s rows not backfilled", got)
			}
			// Not paused any more: a resume again says so.
			if out := r.ctl("resume", "users-email"); !strings.Contains(out, "is not paused") {
				t.Errorf("a second resume says:\n%s", out)
			}
		})
	}
}

// Usage errors of pause, resume and tune exit 2 and touch nothing; a plan
// file that has not run yet can be paused for its first run.
func TestControlUsageErrors(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Seed(10)
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	shep := func(args ...string) (int, string) {
		var out strings.Builder
		code := run(t.Context(), append(args, "--db", db.DSN), &out, &out)
		return code, out.String()
	}
	for _, args := range [][]string{
		{"pause"},
		{"resume", plan, "extra"},
		{"tune", plan},
		{"tune", plan, "--batch-time", "-1s"},
		{"tune", plan, "--batch-time", "0s"},
		{"tune", plan, "--max-rate", "-5"},
		{"tune", plan, "--reset", "--max-rate", "5"},
		{"tune", plan, "--max-rate", "lots"},
		{"pause", "no-such-plan"},
		{"resume", "no-such-plan"},
	} {
		if code, out := shep(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, out)
		}
	}
	if got := db.One(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'shepherd%'`); got != "0" {
		t.Errorf("usage errors made %s of shepherd's tables", got)
	}
	// A plan file not run yet: the pause waits for its first run.
	if code, out := shep("pause", plan, "--operator", "alice"); code != 0 || !strings.Contains(out, "no runner is at work on it; the next run holds before its first batch") {
		t.Errorf("pause before any run: exit %d\n%s", code, out)
	}
	if code, out := shep("tune", plan, "--max-rate", "100"); code != 0 || !strings.Contains(out, "the next run starts with it") {
		t.Errorf("tune before any run: exit %d\n%s", code, out)
	}
}
