package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// lineWatch is a writer that tells, once, when what was written holds a
// string.
type lineWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// ready --wait polls the recorded state until the phase is done: here
// another runner (a goroutine running `shepherd run`) gets it there while
// it waits, and it exits 0. Without the phase done it exits 1 when its
// --timeout passes, saying what it waited for.
func TestReadyWait(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(50)
			plan := filepath.Join(t.TempDir(), "plan.yaml")
			if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
				t.Fatal(err)
			}
			shep := func(stdout, stderr interface {
				Write([]byte) (int, error)
			}, args ...string) int {
				return run(context.Background(), append(args, "--db", db.DSN), stdout, stderr)
			}

			// Nothing has run: the wait times out, exit 1.
			var out, errb bytes.Buffer
			start := time.Now()
			if code := shep(&out, &errb, "ready", plan, "--phase", "add-column", "--wait", "--timeout", "300ms", "--interval", "50ms"); code != 1 {
				t.Fatalf("ready --wait on a database where nothing ran: exit %d, want 1\n%s%s", code, out.String(), errb.String())
			}
			if took := time.Since(start); took < 300*time.Millisecond {
				t.Errorf("the wait gave up after %s, before its timeout", took)
			}
			want := "waiting: this database has no shepherd state table (no plan has run here)\n" +
				"shepherd: not ready after waiting "
			if !strings.HasPrefix(errb.String(), want) || !strings.HasSuffix(errb.String(), ": this database has no shepherd state table (no plan has run here)\n") {
				t.Errorf("stderr:\n%s\nwant it to start\n%s", errb.String(), want)
			}

			// The run reaches the gate deploy-readers (add-column done);
			// the wait for the backfill goes on: exit 1 at its timeout.
			if code := shep(&out, &errb, "run", plan, "--non-interactive"); code != 3 {
				t.Fatalf("run: exit %d, want 3", code)
			}
			errb.Reset()
			if code := shep(&out, &errb, "ready", plan, "--phase", "backfill", "--wait", "--timeout", "200ms", "--interval", "50ms"); code != 1 ||
				!strings.Contains(errb.String(), "not ready after waiting ") || !strings.HasSuffix(errb.String(), ": phase backfill of users-email is pending\n") {
				t.Fatalf("ready --wait for a pending backfill: exit %d, want 1\n%s", code, errb.String())
			}

			// A waiter for the backfill; once it has said it waits, another
			// runner confirms the gate and runs the backfill.
			w := &lineWatch{want: "waiting: phase backfill of users-email is pending\n", seen: make(chan struct{})}
			var waitOut bytes.Buffer
			done := make(chan int)
			go func() {
				done <- shep(&waitOut, w, "ready", plan, "--phase", "backfill", "--wait", "--timeout", "60s", "--interval", "20ms")
			}()
			select {
			case <-w.seen:
			case code := <-done:
				t.Fatalf("ready --wait exited %d before the backfill ran\n%s", code, w.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("ready --wait never said it waits:\n%s", w.String())
			}
			var runOut bytes.Buffer
			if code := shep(&runOut, &runOut, "run", plan, "--non-interactive", "--confirm", "deploy-readers"); code != 3 {
				t.Fatalf("run to switch-writes: exit %d, want 3\n%s", code, runOut.String())
			}
			select {
			case code := <-done:
				if code != 0 || waitOut.String() != "ready: phase backfill of users-email is done\n" {
					t.Fatalf("ready --wait: exit %d, want 0\nstdout: %s\nstderr: %s", code, waitOut.String(), w.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("ready --wait did not see the backfill done:\n%s", w.String())
			}
		})
	}
}

// ready's default --timeout is under Kubernetes' default probe timeout
// (1 s): against a server that takes the connection and never answers, the
// probe gives up in time and exits 1 (fail closed).
func TestReadyDefaultTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dsn := range []string{"postgres://u:pw@" + ln.Addr().String() + "/db?sslmode=disable", "mysql://u:pw@" + ln.Addr().String() + "/db"} {
		var out, errb bytes.Buffer
		start := time.Now()
		code := run(context.Background(), []string{"ready", plan, "--phase", "add-column", "--db", dsn}, &out, &errb)
		took := time.Since(start)
		if code != 1 || !strings.HasPrefix(errb.String(), "shepherd: not ready: ") {
			t.Errorf("%s: exit %d, want 1\n%s", dsn[:5], code, errb.String())
		}
		// Well under the old 5 s; the margin over 900ms is for a loaded machine.
		if took < probeTimeout || took > 3*time.Second {
			t.Errorf("%s: the probe took %s, want its default timeout %s", dsn[:5], took, probeTimeout)
		}
	}
}
