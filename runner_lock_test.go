package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The runner lock through the real binary: two runners started at once,
// and a runner that stalls, loses its lock and goes on after another
// runner finished the plan.

// shepherdRows is every row of shepherd_state and shepherd_log, as text.
func shepherdRows(db *testdb.DB) string {
	return fmt.Sprintf("state:\n%v\nlog:\n%v", db.Query(`SELECT * FROM `+stateTable(db.Dialect)+` ORDER BY plan, phase`),
		db.Query(`SELECT * FROM `+logTable(db.Dialect)+` ORDER BY id`))
}

// Two runners of one plan on a fresh database, the second started 0 to
// 150 ms after the first: one takes the lock and works (a slow backfill,
// so that it holds the lock while the other starts); the other exits 4,
// names the holder, and touches nothing. Before, the loser could read the
// state before the winner's add-column committed and the table after it,
// and exit 2 advising to drop the column the winner had just added.
func TestStartRaceLoserExitsFour(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if ok, why := testdb.Available(dialect); !ok {
				t.Skip(why)
			}
			t.Parallel()
			for offset := time.Duration(0); offset <= 150*time.Millisecond; offset += 25 * time.Millisecond {
				t.Run(offset.String(), func(t *testing.T) {
					db := testdb.New(t, dialect)
					db.Seed(3000)
					dir, plan := planDir(t)
					cmds := make([]*exec.Cmd, 2)
					outs := make([]*bytes.Buffer, 2)
					exits := make(chan int, 2)
					for i := range cmds {
						cmds[i] = exec.Command(bin, "run", plan, "--non-interactive", "--confirm", "deploy-readers",
							"--batch-size", "100", "--max-rate", "1000", "--operator", fmt.Sprintf("runner-%d", i), "--db", db.DSN)
						cmds[i].Dir = dir
						outs[i] = &bytes.Buffer{}
						cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
					}
					for i, cmd := range cmds {
						if i == 1 {
							time.Sleep(offset)
						}
						if err := cmd.Start(); err != nil {
							t.Fatal(err)
						}
						go func(i int, cmd *exec.Cmd) {
							err := cmd.Wait()
							exits <- i<<8 | exitOf(err)&0xff
						}(i, cmd)
					}
					defer func() {
						for _, cmd := range cmds {
							cmd.Process.Kill()
						}
					}()
					// The loser ends first, refused; then the winner is
					// stopped with Ctrl-C.
					first := <-exits
					loser, code := first>>8, first&0xff
					winner := 1 - loser
					if code != 4 {
						t.Fatalf("runner-%d (first to end) exited %d, want 4:\n%s\nrunner-%d:\n%s", loser, code, outs[loser], winner, outs[winner])
					}
					if !strings.Contains(outs[loser].String(), "another runner holds") || !strings.Contains(outs[loser].String(), fmt.Sprintf("runner-%d on host", winner)) {
						t.Errorf("the refusal does not name the holder:\n%s", outs[loser])
					}
					// The winner works on: it gets into the backfill.
					waitFor(t, time.Minute, func() bool {
						r, err := db.QueryE(`SELECT rows_done FROM ` + stateTable(dialect) + ` WHERE plan = 'users-email' AND phase = 'backfill'`)
						return err == nil && len(r) == 1 && r[0][0] != "0"
					})
					cmds[winner].Process.Signal(os.Interrupt)
					if c := (<-exits) & 0xff; c != 1 && c != 3 {
						t.Errorf("the winner exited %d after Ctrl-C:\n%s", c, outs[winner])
					}
					if got := db.One(`SELECT count(*) FROM ` + logTable(dialect) + fmt.Sprintf(` WHERE actor = 'runner-%d'`, loser)); got != "0" {
						t.Errorf("the loser wrote %s log rows", got)
					}
					if got := db.Query(`SELECT actor FROM ` + logTable(dialect) + ` WHERE phase = 'add-column' AND event = 'finish'`); len(got) != 1 || got[0][0] != fmt.Sprintf("runner-%d", winner) {
						t.Errorf("add-column was finished by %v, want once, by the winner runner-%d", got, winner)
					}
				})
			}
		})
	}
}

// The window of the race made certain: the loser stops (SIGSTOP) between
// reading the state and reading the table, and goes on only once the winner
// has added the column and works on the backfill. It exits 4.
func TestStartRaceLoserStoppedBetweenItsReadsExitsFour(t *testing.T) {
	fpBin := failpointBinary(t)
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if ok, why := testdb.Available(dialect); !ok {
				t.Skip(why)
			}
			t.Parallel()
			// The stop is exact: the failpoint waits for SIGCONT, so the
			// loser is frozen at the point itself, holding no lock (it once
			// went on past it while SIGSTOP took hold, as far as writing
			// shepherd's tables, and the winner met SQLite's lock).
			loserStoppedBetweenReads(t, dialect, fpBin, bin)
		})
	}
}

// loserStoppedBetweenReads runs the race once, and fails the test on any
// other outcome than the loser's exit 4 with nothing written.
func loserStoppedBetweenReads(t *testing.T, dialect, fpBin, bin string) {
	t.Helper()
	db := testdb.New(t, dialect)
	db.Seed(3000)
	dir, plan := planDir(t)
	shep := func(bin, operator string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "run", plan, "--non-interactive", "--confirm", "deploy-readers",
			"--batch-size", "100", "--max-rate", "1000", "--operator", operator, "--db", db.DSN)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out
	}
	loser, loserOut := shep(fpBin, "loser")
	loser.Env = append(os.Environ(), "SHEPHERD_TEST_STOP_AT=start:state-read#1")
	if err := loser.Start(); err != nil {
		t.Fatal(err)
	}
	defer loser.Process.Kill()
	waitFor(t, time.Minute, func() bool { return stoppedProcess(loser.Process.Pid) })
	winner, winnerOut := shep(bin, "winner")
	if err := winner.Start(); err != nil {
		t.Fatal(err)
	}
	defer winner.Process.Kill()
	winnerExit := make(chan error, 1)
	go func() { winnerExit <- winner.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := db.QueryE(`SELECT rows_done FROM ` + stateTable(dialect) + ` WHERE plan = 'users-email' AND phase = 'backfill'`)
		if err == nil && len(r) == 1 && r[0][0] != "0" {
			break
		}
		select {
		case err := <-winnerExit:
			t.Fatalf("the winner exited %d before its backfill began:\n%s", exitOf(err), winnerOut)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the winner's backfill did not begin within a minute (last read: %v %v); its output:\n%s", r, err, winnerOut)
		}
	}
	loser.Process.Signal(syscall.SIGCONT)
	if code := exitOf(loser.Wait()); code != 4 {
		t.Fatalf("the loser exited %d, want 4:\n%s", code, loserOut)
	}
	if !strings.Contains(loserOut.String(), "another runner holds") || strings.Contains(loserOut.String(), "drop it first") {
		t.Errorf("the loser's message:\n%s", loserOut)
	}
	winner.Process.Signal(os.Interrupt)
	if code := exitOf(<-winnerExit); code != 1 && code != 3 {
		t.Errorf("the winner exited %d:\n%s", code, winnerOut)
	}
	if got := db.One(`SELECT count(*) FROM ` + logTable(dialect) + ` WHERE actor = 'loser'`); got != "0" {
		t.Errorf("the loser wrote %s log rows", got)
	}
}

// loseLock makes a stopped runner lose its runner lock: the server ends
// its sessions (a cut connection), or, on SQLite, its lease expires (the
// lease is moved to another host first, as if the runner ran in another
// container: a stopped process on this host still counts as alive).
func loseLock(t *testing.T, db *testdb.DB) {
	t.Helper()
	switch db.Dialect {
	case "postgres":
		db.Query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	case "mysql":
		for _, r := range db.Query(`SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`) {
			db.SQL.Exec("KILL " + r[0])
		}
	case "sqlite":
		db.Exec(`UPDATE shepherd_lock SET host = 'build-7', expires_at = '2000-01-01T00:00:00Z'`)
	}
}

// stoppedProcess reports whether a process is stopped (SIGSTOP).
func stoppedProcess(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	return len(rest) > 1 && rest[1] == 'T'
}

// Issue 12 item 6 through the binary: runner A stops mid-backfill (between
// two batches) and loses its lock; runner B finishes the plan; A goes on.
// A exits 1 saying it lost the lock, shepherd's tables hold exactly what B
// left, and `ready --phase enforce` answers yes.
func TestStalledRunnerExitsOneAndWritesNothing(t *testing.T) {
	fpBin := failpointBinary(t)
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if ok, why := testdb.Available(dialect); !ok {
				t.Skip(why)
			}
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(3000)
			dir, plan := planDir(t)
			shep := func(bin string, args ...string) *exec.Cmd {
				cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
				cmd.Dir = dir
				return cmd
			}
			a := shep(fpBin, "run", plan, "--non-interactive", "--confirm", "deploy-readers", "--batch-size", "100", "--operator", "first")
			a.Env = append(os.Environ(), "SHEPHERD_TEST_STOP_AT=backfill:batch-done#5")
			var aOut bytes.Buffer
			a.Stdout, a.Stderr = &aOut, &aOut
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			defer a.Process.Kill()
			waitFor(t, time.Minute, func() bool { return stoppedProcess(a.Process.Pid) })
			loseLock(t, db)

			if out, err := shep(bin, "run", plan, "--non-interactive", "--confirm", "deploy-readers", "--confirm", "switch-writes", "--operator", "second").CombinedOutput(); err != nil {
				t.Fatalf("B: %v\n%s", err, out)
			}
			left := shepherdRows(db)

			if err := a.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			if code := exitOf(a.Wait()); code != 1 {
				t.Fatalf("A exited %d, want 1:\n%s", code, aOut.String())
			}
			if !strings.Contains(aOut.String(), "lost the runner lock of") {
				t.Errorf("A does not say it lost the lock:\n%s", aOut.String())
			}
			if now := shepherdRows(db); now != left {
				t.Errorf("A wrote to shepherd's tables after losing its lock:\nB left:\n%s\nnow:\n%s", left, now)
			}
			if out, err := shep(bin, "ready", plan, "--phase", "enforce").CombinedOutput(); err != nil {
				t.Errorf("ready --phase enforce: %v\n%s", err, out)
			}
		})
	}
}
