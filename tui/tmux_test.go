package tui

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/demo"
	"github.com/shepherd-db/shepherd/examples"
	"github.com/shepherd-db/shepherd/printer"
)

// The real binary in a real terminal: tmux runs `shepherd run` at 80x24,
// the test types with send-keys and reads the screen with capture-pane, and
// then checks the database itself.

// term is one tmux server of the test's own, with one window running one
// command.
type term struct {
	t      *testing.T
	socket string
	status string // the file the command's exit status is written to
}

func newTerm(t *testing.T, dir string, cmd ...string) *term {
	t.Helper()
	id := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	tm := &term{t: t, socket: "shepherd-test-" + id, status: filepath.Join(dir, "exit-"+id)}
	t.Cleanup(func() { _ = tm.tmux("kill-server") })
	// The shell writes the exit status to a file: tmux's own
	// pane_dead_status is not always filled in.
	script := `"$0" "$@"; echo $? > ` + tm.status + `; sleep 60`
	args := append([]string{"-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "80", "-y", "24", "-c", dir, "sh", "-c", script}, cmd...)
	if err := tm.tmux(args...); err != nil {
		t.Fatal(err)
	}
	return tm
}

func (tm *term) tmux(args ...string) error {
	_, err := tm.out(args...)
	return err
}

func (tm *term) out(args ...string) (string, error) {
	c := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...)
	c.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	b, err := c.CombinedOutput()
	if err != nil {
		return string(b), fmt.Errorf("tmux %v: %v: %s", args, err, b)
	}
	return string(b), nil
}

func (tm *term) screen() string {
	s, err := tm.out("capture-pane", "-p", "-t", "main")
	if err != nil {
		tm.t.Fatal(err)
	}
	return s
}

func (tm *term) format(f string) string {
	s, _ := tm.out("display-message", "-p", "-t", "main", f)
	return strings.TrimSpace(s)
}

// keys types keys, one send-keys each (tmux names: Enter, Escape, C-c).
func (tm *term) keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if err := tm.tmux("send-keys", "-t", "main", k); err != nil {
			tm.t.Fatal(err)
		}
	}
}

// waitFor waits until the screen shows every text, and returns it.
func (tm *term) waitFor(texts ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	var scr string
	for time.Now().Before(deadline) {
		scr = tm.screen()
		ok := true
		for _, s := range texts {
			ok = ok && strings.Contains(scr, s)
		}
		if ok {
			return scr
		}
		time.Sleep(40 * time.Millisecond)
	}
	tm.t.Fatalf("the screen never showed %q; it shows:\n%s", texts, scr)
	return ""
}

// exited waits for the program to end and returns its exit status.
func (tm *term) exited() string {
	tm.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(tm.status); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(40 * time.Millisecond)
	}
	tm.t.Fatalf("shepherd did not exit; the screen shows:\n%s", tm.screen())
	return ""
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildShepherd builds the real binary, once per test run, and gives the
// test a folder to work in.
func buildShepherd(t *testing.T) (bin, dir string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the test of the real binary in a terminal is skipped")
	}
	if testing.Short() {
		t.Skip("-short: the test of the real binary in tmux is skipped")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "shepherd-tui-test-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "shepherd")
		build := exec.Command("go", "build", "-o", builtBin, "github.com/shepherd-db/shepherd")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin, t.TempDir()
}

// demoDB makes a small demo database and the example plan in dir.
func demoDB(t *testing.T, dir string, users int) *sql.DB {
	t.Helper()
	path := filepath.Join(dir, "demo.db")
	if _, err := demo.Create(context.Background(), path, users); err != nil {
		t.Fatal(err)
	}
	data, err := examples.Plans.ReadFile("users-email.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users-email.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func one(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

func TestTmuxWalksAddColumnToDone(t *testing.T) {
	bin, dir := buildShepherd(t)
	db := demoDB(t, dir, 2000)
	tm := newTerm(t, dir, bin, "run", "users-email.yaml", "--db", "sqlite:demo.db")

	tm.waitFor("users-email · add-column on users", "Phases", "r run add-column")
	if tm.format("#{alternate_on}") != "1" {
		t.Fatal("the TUI is not on the alternate screen")
	}
	tm.keys("r")
	tm.waitFor("✓ add-column done", "r confirm deploy-readers")
	tm.keys("r")
	tm.waitFor("Gate: deploy-readers", "Is this deploy out on every replica?")
	tm.keys("y")
	tm.waitFor("✓ deploy-readers done", "r run backfill")
	tm.keys("r")
	tm.waitFor("✓ backfill done: 2000 rows walked", "r confirm switch-writes")
	// Old code writes a row without email before the writers' deploy: the
	// gate's catch-up fills it.
	if _, err := db.Exec(`INSERT INTO users (id, username, name) VALUES (5000, 'LATE', 'Late Writer')`); err != nil {
		t.Fatal(err)
	}
	tm.keys("r")
	tm.waitFor("Gate: switch-writes")
	tm.keys("y")
	tm.waitFor("the catch-up filled 1 rows", "r run enforce")
	tm.keys("r")
	scr := tm.waitFor("Every phase of users-email is done")
	for _, id := range []string{"add-column", "deploy-readers", "backfill", "switch-writes", "enforce"} {
		if !strings.Contains(scr, "✓ "+id) {
			t.Errorf("the timeline does not show %s done:\n%s", id, scr)
		}
	}
	tm.keys("q")
	if st := tm.exited(); st != "0" {
		t.Fatalf("shepherd exited %s, want 0", st)
	}
	if tm.format("#{alternate_on}") != "0" || strings.Contains(tm.screen(), "Phases") {
		t.Fatal("the terminal was not restored after quit")
	}

	if n := one(t, db, `SELECT count(*) FROM shepherd_state WHERE plan = 'users-email' AND status = 'done'`); n != "5" {
		t.Fatalf("%s phases done in shepherd_state, want 5", n)
	}
	if nn := one(t, db, `SELECT "notnull" FROM pragma_table_info('users') WHERE name = 'email'`); nn != "1" {
		t.Fatalf("email notnull = %s, want 1 (NOT NULL)", nn)
	}
	if v := one(t, db, `SELECT email FROM users WHERE id = 5000`); v != "late@example.com" {
		t.Fatalf("the late row's email is %q", v)
	}
}

func TestTmuxQuitMidBackfillKeepsTheCheckpoint(t *testing.T) {
	bin, dir := buildShepherd(t)
	db := demoDB(t, dir, 3000)
	// A capped backfill, so that it is still running when q is pressed.
	tm := newTerm(t, dir, bin, "run", "users-email.yaml", "--db", "sqlite:demo.db", "--batch-size", "100", "--max-rate", "1000")
	tm.waitFor("r run add-column")
	tm.keys("r")
	tm.waitFor("r confirm deploy-readers")
	tm.keys("r")
	tm.waitFor("Is this deploy out on every replica?")
	tm.keys("y")
	tm.waitFor("r run backfill")
	tm.keys("r")
	tm.waitFor("rows/s", "batch 100", "p pause")
	tm.keys("p")
	tm.waitFor("⏸ paused at key")
	tm.keys("C-c")
	// Stopped mid-phase, as a scripted run stopped by Ctrl-C: exit 1, and
	// a summary once the terminal is restored.
	if st := tm.exited(); st != "1" {
		t.Fatalf("shepherd exited %s after ctrl+c mid-backfill, want 1 (as a scripted run's Ctrl-C):\n%s", st, tm.screen())
	}
	if tm.format("#{alternate_on}") != "0" {
		t.Fatal("the terminal was not restored after ctrl+c")
	}
	cp := one(t, db, `SELECT checkpoint FROM shepherd_state WHERE plan = 'users-email' AND phase = 'backfill'`)
	if cp == "" || cp == "3000" {
		t.Fatalf("checkpoint %q after quitting mid-backfill, want one part-way", cp)
	}
	filled := one(t, db, `SELECT count(*) FROM users WHERE email IS NOT NULL`)
	if filled != cp {
		t.Fatalf("%s rows filled, checkpoint at %s: they should agree", filled, cp)
	}
	rows := one(t, db, `SELECT rows_done FROM shepherd_state WHERE plan = 'users-email' AND phase = 'backfill'`)
	n, _ := strconv.Atoi(rows)
	// The terminal wraps the summary at any character: compare without
	// spaces.
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	summary := squash(tm.screen())
	for _, want := range []string{
		"shepherd: quit mid-phase: backfill of users-email stopped at id " + cp + ", with " + printer.Count(int64(n)) + " rows done",
		"the checkpoint is kept, and shepherd run users-email.yaml on the same database (--db or SHEPHERD_DB) resumes from it",
	} {
		if !strings.Contains(summary, squash(want)) {
			t.Fatalf("the summary after quitting does not say %q:\n%s", want, tm.screen())
		}
	}

	// The next session resumes from the checkpoint.
	tm2 := newTerm(t, dir, bin, "run", "users-email.yaml", "--db", "sqlite:demo.db")
	tm2.waitFor("⏸ backfill stopped at key "+cp, "r resume backfill")
	tm2.keys("r")
	tm2.waitFor("✓ backfill done", "r confirm switch-writes")
	if n := one(t, db, `SELECT rows_done FROM shepherd_state WHERE plan = 'users-email' AND phase = 'backfill'`); n != "3000" {
		t.Fatalf("rows_done %s after the resume, want 3000: no row walked twice", n)
	}
	tm2.keys("q")
	tm2.exited()
}
