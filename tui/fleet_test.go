package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/fleet"
	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// fleetHarness drives the fleet screen with Update and reads its View.
type fleetHarness struct {
	t *testing.T
	m FleetModel
}

func (h *fleetHarness) send(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	m, cmd := h.m.Update(msg)
	h.m = m.(FleetModel)
	return cmd
}

func (h *fleetHarness) key(k string) tea.Cmd { return h.send(keyPress(k)) }

// screen is the view as text, without colours or the spaces that pad its
// lines.
func (h *fleetHarness) screen() string {
	lines := strings.Split(ansi.Strip(h.m.View().Content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func (h *fleetHarness) contains(texts ...string) {
	h.t.Helper()
	scr := h.screen()
	for _, s := range texts {
		if !strings.Contains(scr, s) {
			h.t.Fatalf("the screen does not show %q:\n%s", s, scr)
		}
	}
}

// row is the screen's line that starts with label, its words joined by
// one space: "eu-2 ✗ ◇ ○ ◇ ○".
func (h *fleetHarness) row(label string) string {
	h.t.Helper()
	for _, l := range strings.Split(h.screen(), "\n") {
		l = strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "›")), " ")
		if strings.HasPrefix(l, label+" ") {
			return l
		}
	}
	h.t.Fatalf("no line starts with %q:\n%s", label, h.screen())
	return ""
}

// fakeFleet is four SQLite targets in two groups (nothing is opened: the
// screen is handed their status).
func fakeFleet(t *testing.T) *fleet.Fleet {
	t.Helper()
	fl, err := fleet.Parse([]byte(`groups: [canary, rest]
targets:
  - {name: eu-1, db: 'sqlite:/data/eu-1.db', group: rest}
  - {name: canary-1, db: 'sqlite:/data/canary-1.db', group: canary}
  - {name: eu-2, db: 'sqlite:/data/eu-2.db', group: rest}
  - {name: eu-3, db: 'sqlite:/data/eu-3.db', group: rest}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

// usersEmail is the users-email plan's record with the given states (the
// rest pending).
func usersEmail(st map[string]phases.Status, detail map[string]string) []engine.PlanStatus {
	p := engine.PlanStatus{Name: "users-email", Playbook: "add-column", Table: "users"}
	for _, id := range []string{"add-column", "deploy-readers", "backfill", "switch-writes", "enforce"} {
		s, ok := st[id]
		if !ok {
			s = phases.Pending
		}
		p.Phases = append(p.Phases, engine.PhaseStatus{ID: id, Status: s, Detail: detail[id]})
	}
	return []engine.PlanStatus{p}
}

// fakeStatus: the canary at switch-writes, eu-1 at deploy-readers, eu-2's
// add-column failed, eu-3 not read.
func fakeStatus(fl *fleet.Fleet) []fleet.TargetStatus {
	out := make([]fleet.TargetStatus, len(fl.Targets))
	for i, t := range fl.Targets {
		out[i].Target = t
		switch t.Name {
		case "canary-1":
			out[i].Plans = usersEmail(map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done, "switch-writes": phases.Waiting}, nil)
		case "eu-1":
			out[i].Plans = usersEmail(map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Waiting}, nil)
		case "eu-2":
			out[i].Plans = usersEmail(map[string]phases.Status{"add-column": phases.Failed}, map[string]string{"add-column": "ALTER TABLE users: attempt to write a readonly database"})
		case "eu-3":
			out[i].Err = errors.New("eu-3: cannot connect to sqlite eu-3.db: no such file")
		}
	}
	return out
}

func openFleet(t *testing.T, w, h int) *fleetHarness {
	t.Helper()
	fl := fakeFleet(t)
	fh := &fleetHarness{t: t, m: NewFleet(t.Context(), FleetConfig{File: "fleet.yaml", Fleet: fl, Targets: fl.Targets, NoColor: true})}
	fh.send(tea.WindowSizeMsg{Width: w, Height: h})
	fh.contains("reading the state of 4 targets…", "reading…")
	if cmd := fh.send(fleetReadMsg{all: fakeStatus(fl), at: at, gen: fh.m.gen}); cmd == nil {
		t.Fatal("a read scheduled no next read")
	}
	return fh
}

func TestFleetMatrixShowsTargetsByGroupWithCounts(t *testing.T) {
	h := openFleet(t, 100, 30)
	h.contains("shepherd fleet · fleet.yaml · 4 targets", "read "+clock(at),
		"users-email · add-column on users",
		"target", "add-column", "deploy-readers", "switch-writes",
		"state not read on 1 of 4 targets (eu-3)")
	// The canary group first, as the fleet runs it; then the rest.
	scr := h.screen()
	if c, r := strings.Index(scr, " canary\n"), strings.Index(scr, " rest\n"); c < 0 || r < c ||
		strings.Index(scr, "canary-1") < c || strings.Index(scr, "eu-1") < r {
		t.Fatalf("the targets are not under their groups' headings, canary first:\n%s", scr)
	}
	for label, want := range map[string]string{
		"canary-1":  "✓ ✓ ✓ ◆ ○",
		"eu-1":      "✓ ◆ ○ ◇ ○",
		"eu-2":      "✗ ◇ ○ ◇ ○",
		"eu-3":      "✗ state not read",
		"✓ done":    "2 1 1 · ·",
		"◆ waiting": "· 1 · 1 ·",
		"✗ failed":  "1 · · · ·",
		"▶ running": "· · · · ·",
	} {
		if got := h.row(label); got != label+" "+want {
			t.Errorf("row %q: %q, want %q", label, got, label+" "+want)
		}
	}
	h.contains("› canary-1")
}

func TestFleetRefreshShowsTheNewRead(t *testing.T) {
	h := openFleet(t, 100, 30)
	// r reads again at once, as a command; a tick of the read before is
	// then stale, and so is that read's answer.
	before := h.m.gen
	if cmd := h.key("r"); cmd == nil || !h.m.loading || h.m.gen != before+1 {
		t.Fatalf("r did not start a read: loading %v, gen %d", h.m.loading, h.m.gen)
	}
	h.contains("reading…")
	if cmd := h.key("r"); cmd != nil {
		t.Fatal("r while a read is in flight started another")
	}
	if cmd := h.send(fleetTickMsg{gen: before}); cmd != nil {
		t.Fatal("a stale tick started a read")
	}
	st := fakeStatus(fakeFleet(t))
	for i := range st {
		if st[i].Target.Name == "eu-1" {
			st[i].Plans = usersEmail(map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Running}, nil)
		}
		if st[i].Target.Name == "eu-3" {
			st[i].Err = nil
			st[i].Plans = usersEmail(map[string]phases.Status{"add-column": phases.Done}, nil)
		}
	}
	h.send(fleetReadMsg{all: st, at: at.Add(5 * time.Second), gen: before})
	if got := h.row("eu-1"); got != "eu-1 ✓ ◆ ○ ◇ ○" {
		t.Fatalf("a stale read was shown: %q", got)
	}
	tick := h.send(fleetReadMsg{all: st, at: at.Add(5 * time.Second), gen: h.m.gen})
	if tick == nil || h.m.loading {
		t.Fatal("the read's answer did not end it and schedule the next")
	}
	h.contains("read " + clock(at.Add(5*time.Second)))
	for label, want := range map[string]string{
		"eu-1":      "✓ ✓ ⏸ ◇ ○", // running with no runner: stopped
		"eu-3":      "✓ ◇ ○ ◇ ○",
		"✓ done":    "3 2 1 · ·",
		"▶ running": "· · 1 · ·",
	} {
		if got := h.row(label); got != label+" "+want {
			t.Errorf("after the refresh, row %q: %q, want %q", label, got, label+" "+want)
		}
	}
	if strings.Contains(h.screen(), "state not read") {
		t.Errorf("eu-3 was read, yet the screen says it was not:\n%s", h.screen())
	}
	// The tick of the current read starts the next one.
	if cmd := h.send(fleetTickMsg{gen: h.m.gen}); cmd == nil || !h.m.loading {
		t.Fatal("the tick did not read the fleet again")
	}
}

func TestFleetEnterShowsATargetsDetailAndEscHidesIt(t *testing.T) {
	h := openFleet(t, 100, 30)
	h.key("down")
	h.key("down") // canary-1, eu-1, eu-2
	h.key("enter")
	h.contains("eu-2 · group rest · sqlite eu-2.db", "users-email · add-column on users",
		"✗ add-column", "failed", "ALTER TABLE users: attempt to write a readonly database",
		"◇ deploy-readers", "gate · pending", "esc back")
	if strings.Contains(h.screen(), "/data/") {
		t.Errorf("the detail shows the DSN in full, not shortened:\n%s", h.screen())
	}
	h.key("down")
	h.contains("eu-3 · group rest", "✗ state not read", "cannot connect to sqlite eu-3.db: no such file")
	h.key("esc")
	h.contains("✓ done", "eu-2", "enter detail")
	if strings.Contains(h.screen(), "gate · pending") {
		t.Fatalf("esc did not hide the detail:\n%s", h.screen())
	}
	h.key("?")
	h.contains("r read the fleet now (it is read every 5s)", "? fewer keys")
	if cmd := h.key("q"); cmd == nil || fmt.Sprint(cmd()) != fmt.Sprint(tea.Quit()) {
		t.Fatal("q does not quit")
	}
}

func TestFleetFitsANarrowWindow(t *testing.T) {
	h := openFleet(t, 60, 16)
	lines := strings.Split(h.screen(), "\n")
	if len(lines) != 16 {
		t.Fatalf("%d lines in a window of 16:\n%s", len(lines), h.screen())
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 60 {
			t.Errorf("line %d is %d cells wide: %q", i, w, l)
		}
	}
	h.contains("q quit", "? more")
	if got := h.row("canary-1"); got != "canary-1 ✓ ✓ ✓ ◆ ○" {
		t.Errorf("at 60 columns, canary-1's row is %q", got)
	}
	if got := h.row("✗ failed"); got != "✗ failed 1 · · · ·" {
		t.Errorf("at 60 columns, the failed count is %q", got)
	}
	// The cursor stays on screen at the last target.
	for range 5 {
		h.key("down")
	}
	h.contains("› eu-3")
}

func TestAbbreviateKeepsEachWord(t *testing.T) {
	for _, c := range []struct {
		id   string
		w    int
		want string
	}{{"backfill", 8, "backfill"}, {"switch-writes", 7, "swi-wri"}, {"deploy-readers", 6, "de-re"}, {"switch-writes", 2, "sw"}} {
		if got := abbreviate(c.id, c.w); got != c.want {
			t.Errorf("abbreviate(%q, %d) = %q, want %q", c.id, c.w, got, c.want)
		}
	}
}

// The real fleet status, read by the screen's command, against three
// SQLite targets: one through deploy-readers, one the plan has not touched,
// one that cannot be opened.
func TestFleetScreenReadsARealFleet(t *testing.T) {
	ctx := context.Background()
	ran, fresh := testdb.New(t, "sqlite"), testdb.New(t, "sqlite")
	ran.Seed(20)
	fresh.Seed(20)
	plan := example(t, "users-email")
	eng, err := engine.Open(ctx, ran.DSN)
	if err != nil {
		t.Fatal(err)
	}
	job, err := eng.Start(ctx, plan, engine.Options{Operator: "release-job"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(ctx, "deploy-readers", nil); err != nil {
		t.Fatal(err)
	}
	job.Close()
	eng.Close()
	gone := filepath.Join(t.TempDir(), "no", "such.db")
	fl, err := fleet.Parse([]byte(fmt.Sprintf("targets:\n  - {name: ran, db: '%s'}\n  - {name: fresh, db: '%s'}\n  - {name: gone, db: 'sqlite:%s'}\n",
		ran.DSN, fresh.DSN, gone)), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	h := &fleetHarness{t: t, m: NewFleet(ctx, FleetConfig{File: "fleet.yaml", Fleet: fl, Targets: fl.Targets, NoColor: true})}
	h.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	msg := h.m.read(h.m.gen)()
	if _, ok := msg.(fleetReadMsg); !ok {
		t.Fatalf("the read answered %T", msg)
	}
	h.send(msg)
	h.contains("users-email · add-column on users", "3 targets", "state not read on 1 of 3 targets (gone)")
	for label, want := range map[string]string{
		"ran":       "✓ ◆ ○ ◇ ○",
		"fresh":     "- - - - -",
		"gone":      "✗ state not read",
		"✓ done":    "1 · · · ·",
		"◆ waiting": "· 1 · · ·",
	} {
		if got := h.row(label); got != label+" "+want {
			t.Errorf("row %q: %q, want %q", label, got, label+" "+want)
		}
	}
	h.key("down")
	h.key("down")
	h.key("enter")
	h.contains("gone · sqlite such.db", "✗ state not read", "no such file")
}
