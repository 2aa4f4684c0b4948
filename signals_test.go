package main

import (
	"bytes"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// lockedBuffer is a bytes.Buffer that a process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A second Ctrl-C stops a scripted run at once, even while the first one's
// record of the interruption waits (here for SQLite's write lock, which the
// test holds): nothing is half-recorded, status shows the phase stopped,
// and a rerun resumes from the checkpoint.
func TestSecondInterruptStopsAtOnce(t *testing.T) {
	bin := shepherdBinary(t)
	db := testdb.New(t, "sqlite")
	db.Seed(20000)
	dir, plan := planDir(t)
	shep := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
		cmd.Dir = dir
		return cmd
	}
	if out, err := shep("run", plan, "--non-interactive").CombinedOutput(); exitOf(err) != 3 {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	var out lockedBuffer
	cmd := shep("run", plan, "--non-interactive", "--confirm", "deploy-readers", "--batch-size", "250", "--max-rate", "4000")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rowsDone := func() int {
		n, _ := strconv.Atoi(db.One(`SELECT rows_done FROM shepherd_state WHERE plan = 'users-email' AND phase = 'backfill'`))
		return n
	}
	waitFor(t, 30*time.Second, func() bool { return rowsDone() >= 2000 })

	// Another writer holds SQLite's write lock: the run's next batch, and
	// then its record of the interruption, wait for it.
	blocker, err := sql.Open("sqlite", "file:"+filepath.Clean(strings.TrimPrefix(db.DSN, "sqlite:"))+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close()
	conn, err := blocker.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(t.Context(), "ROLLBACK")
	done := rowsDone()

	cmd.Process.Signal(os.Interrupt)
	waitFor(t, time.Minute, func() bool { return strings.Contains(out.String(), "FAILED: backfill: interrupted") })
	cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if exitOf(err) != 1 {
			t.Errorf("exit %d, want 1\n%s", exitOf(err), out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the second Ctrl-C did not stop the run:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "interrupt again: stopping at once") {
		t.Errorf("the run does not say it stopped at once:\n%s", out.String())
	}
	conn.ExecContext(t.Context(), "ROLLBACK")

	// Nothing half-recorded: the checkpoint is the last batch's, and the
	// phase, recorded as running, shows as stopped.
	if got := rowsDone(); got != done {
		t.Errorf("rows_done is %d, was %d when the writes were blocked", got, done)
	}
	if filled, _ := strconv.Atoi(db.One(`SELECT count(*) FROM users WHERE email IS NOT NULL`)); filled != done {
		t.Errorf("%d rows filled, checkpoint says %d", filled, done)
	}
	status, _ := shep("status").CombinedOutput()
	if !regexp.MustCompile(`(?m)^\s+backfill\s+stopped\s`).Match(status) {
		t.Errorf("status does not show backfill stopped:\n%s", status)
	}
	res, err := shep("run", plan, "--non-interactive").CombinedOutput()
	if exitOf(err) != 3 || !strings.Contains(string(res), "resuming from the checkpoint id "+strconv.Itoa(done)) {
		t.Errorf("rerun: exit %d\n%s", exitOf(err), res)
	}
}
