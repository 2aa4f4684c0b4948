package tui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/demo"
	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// pump runs commands as Bubble Tea does, delivering their messages to the
// model and running the commands it answers, until cond holds.
func (h *harness) pump(cmd tea.Cmd, cond func() bool) {
	h.t.Helper()
	msgs := make(chan tea.Msg, 256)
	launch := func(c tea.Cmd) {
		if c != nil {
			go func() { msgs <- c() }()
		}
	}
	launch(cmd)
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case m := <-msgs:
			switch m := m.(type) {
			case nil, spinner.TickMsg, tea.QuitMsg:
			case tea.BatchMsg:
				for _, c := range m {
					launch(c)
				}
			default:
				launch(h.send(m))
			}
		case <-deadline:
			h.t.Fatalf("waited in vain; the screen shows:\n%s", h.screen())
		}
	}
}

// The real engine on a real SQLite database: a TUI open on a plan keeps
// no release job out; an action the lock refuses names the holder and
// leaves the plan open; the lock is let go when an action ends.
func TestLiveTUIHoldsTheLockOnlyWhileItActs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.db")
	if _, err := demo.Create(ctx, path, 500); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	email, rename := example(t, "users-email"), example(t, "users-full-name")

	h := &harness{t: t}
	h.m = New(ctx, Config{Engine: Live(eng), Open: rename, Options: engine.Options{Operator: "operator@tui"}})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.pump(h.send(openPlanMsg{}), func() bool { return h.m.plan.viewed && h.m.plan.op == opNone })
	h.contains("users-full-name · rename-column on users", "r run add-column")

	// A release job on the same table runs while the TUI is open.
	job, err := eng.Start(ctx, email, engine.Options{Operator: "release-job"})
	if err != nil {
		t.Fatalf("a release job was kept out by the open TUI: %v", err)
	}
	out, err := job.Run(ctx, "", nil)
	if err != nil || out != engine.AtGate {
		t.Fatalf("the release job: %v, %v; want it to stop at deploy-readers", out, err)
	}

	// While it holds the lock, the operator's r is refused, saying who
	// holds it, and the plan stays open.
	h.pump(h.key("r"), func() bool { return h.m.plan.op == opNone })
	host, _ := os.Hostname()
	h.contains("another runner holds users: release-job, pid "+strconv.Itoa(os.Getpid())+" on host "+host,
		"running plan users-email", "Nothing ran;", "r run add-column", "Phases")
	var held *engine.LockHeldError
	if _, err := eng.Start(ctx, rename, engine.Options{}); !errors.As(err, &held) || held.Holder != "release-job" {
		t.Fatalf("the refused action should leave the release job's lock alone: %v", err)
	}
	job.Close()

	// The job is done: r runs add-column, and the lock is let go after.
	h.pump(h.key("r"), func() bool { return h.m.plan.op == opNone })
	h.contains("✓ add-column done", "r confirm dual-write")
	again, err := eng.Start(ctx, email, engine.Options{Operator: "release-job"})
	if err != nil {
		t.Fatalf("the TUI kept the lock after its action: %v", err)
	}
	// The job moves its own plan on meanwhile; R shows the TUI's plan as
	// the database has it, without the lock.
	again.Close()
	h.pump(h.key("R"), func() bool { return h.m.plan.op == opNone })
	h.contains("read again at", "✓ add-column")
	if st := infoOf(h.m.plan.infos, "add-column").Status; st != phases.Done {
		t.Fatalf("add-column is %s after R", st)
	}
}
