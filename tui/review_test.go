package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"gotest.tools/v3/assert"
	gold "gotest.tools/v3/golden"

	"github.com/shepherd-db/shepherd/review"
)

// rharness drives the review screen through Update, as Bubble Tea would.
type rharness struct {
	t *testing.T
	m ReviewModel
}

func (h *rharness) send(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	m, cmd := h.m.Update(msg)
	h.m = m.(ReviewModel)
	return cmd
}

func (h *rharness) key(k string) tea.Cmd { return h.send(keyPress(k)) }

func (h *rharness) run(cmd tea.Cmd) {
	for _, msg := range collect(cmd, 30*time.Second) {
		h.send(msg)
	}
}

func (h *rharness) screen() string { return ansi.Strip(h.m.View().Content) }

func (h *rharness) contains(texts ...string) {
	h.t.Helper()
	scr := h.screen()
	for _, s := range texts {
		if !strings.Contains(scr, s) {
			h.t.Fatalf("the screen does not show %q:\n%s", s, scr)
		}
	}
}

// golden compares the screen at its size with testdata/golden/NAME.txt
// (go test ./tui -run Review -update rewrites them).
func (h *rharness) golden(name string) {
	h.t.Helper()
	lines := strings.Split(h.screen(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	assert.Check(h.t, gold.String(strings.Join(lines, "\n")+"\n", filepath.Join("golden", name+".txt")))
}

// newReviewHarness opens the review screen at w×h on a rehearsal that
// answers rep and err; the rehearsal has not run yet.
func newReviewHarness(t *testing.T, w, h int, rep *review.Report, err error) (*rharness, *atomic.Int32) {
	t.Helper()
	calls := &atomic.Int32{}
	cfg := ReviewConfig{Path: "db/migrations", Target: "postgres db.internal/app", NoColor: true, Replayed: 2, New: 2,
		Rehearse: func(context.Context) (*review.Report, error) {
			calls.Add(1)
			return rep, err
		}}
	hn := &rharness{t: t, m: NewReview(t.Context(), cfg)}
	hn.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hn, calls
}

// findings are three findings as a PostgreSQL rehearsal reports them.
func findings() *review.Report {
	return &review.Report{Files: 2, Statements: 5, Scratch: "shepherd_review_1_ab", Findings: []review.Finding{
		{File: "db/migrations/0003_users.sql", Line: 1, Statement: `ALTER TABLE "users" ADD COLUMN "token" uuid DEFAULT gen_random_uuid()`,
			Check: "add-column-rewrite", Table: "users", Lock: "ACCESS EXCLUSIVE", Rewrite: true, Rows: 1_200_000, OnTarget: true,
			Problem:  "ACCESS EXCLUSIVE on users while its 1.2M rows are rewritten",
			Rule:     "Add the column as nullable or with a safe default.",
			Why:      "the rehearsal saw the table rewritten: the column's value is computed per row, so PostgreSQL writes every row again",
			Playbook: "add-column", Safe: "add the column nullable, deploy code that writes it, backfill in batches, then enforce NOT NULL"},
		{File: "db/migrations/0003_users.sql", Line: 4, Statement: `CREATE INDEX "orders_lower_idx" ON "orders" (lower(note))`,
			Check: "create-index", Table: "orders", Lock: "SHARE", Scan: true, Rows: 35_000, OnTarget: true,
			Problem:  "SHARE on orders while its 35k rows are scanned",
			Why:      "CREATE INDEX without CONCURRENTLY holds SHARE on the table while it reads every row: writes wait until the index is built",
			Playbook: "add-index", Safe: "CREATE INDEX CONCURRENTLY (outside a transaction), check it is valid, and prove the planner uses it"},
		{File: "db/migrations/0004_names.sql", Line: 2, Statement: `ALTER TABLE "users" RENAME COLUMN "age" TO "years"`,
			Check: "rename-column", Table: "users", Lock: "ACCESS EXCLUSIVE", Rows: -1, OnTarget: true,
			Problem:  "ACCESS EXCLUSIVE on users, then running code that uses users.age fails",
			Rule:     "Add the new column. Write to both old and new columns.",
			Why:      "code already running reads and writes the old name and fails as soon as the rename commits",
			Playbook: "rename-column", Safe: "add the new column, write both, backfill, switch reads, stop writing the old one, drop it in a later release"},
	}}
}

// plans are the findings' plans: the expression index has none.
func plans(rep *review.Report) []reviewItem {
	return []reviewItem{
		{f: rep.Findings[0], plan: []byte("# Written by shepherd review for 0003_users.sql line 1: add-column-rewrite.\nname: users-token-add-column\nplaybook: add-column\ntable: users\ncolumn: token\ntype: uuid\nbackfill: gen_random_uuid()\n")},
		{f: rep.Findings[1]},
		{f: rep.Findings[2], plan: []byte("name: users-age-rename-column\nplaybook: rename-column\ntable: users\ncolumn: age\nto: years\n")},
	}
}

// The rehearsal is a command: the screen shows it under way until its
// answer arrives, and the model never calls it outside a tea.Cmd.
func TestReviewRehearsesInACommand(t *testing.T) {
	h, calls := newReviewHarness(t, 80, 24, findings(), nil)
	init := h.m.Init()
	if calls.Load() != 0 {
		t.Fatal("the rehearsal ran while the model was built")
	}
	h.contains("rehearsing 2 new migration files on a scratch database", "The 2 migration files before them are replayed there first.",
		"The findings show here once the rehearsal ends.")
	h.golden("review-rehearsing")
	h.key("enter") // nothing to open yet
	h.contains("rehearsing 2 new migration files")
	h.run(init)
	if calls.Load() != 1 {
		t.Fatalf("the rehearsal ran %d times, want 1", calls.Load())
	}
	h.contains("rehearsed 5 statements in 2 new migration files: 3 unsafe", "Findings  3 unsafe",
		"0003_users.sql:1", "0003_users.sql:4", "0004_names.sql:2")
	rep, err := h.m.Report()
	if err != nil || rep == nil || len(rep.Findings) != 3 {
		t.Fatalf("Report() = %v, %v", rep, err)
	}
}

func TestGoldenReviewScreens(t *testing.T) {
	rep := findings()
	h, _ := newReviewHarness(t, 80, 24, rep, nil)
	h.send(reviewedMsg{rep: rep, items: plans(rep)})
	h.golden("review-list")
	h.key("enter")
	h.golden("review-detail")
	h.key("esc")
	h.key("j")
	h.key("enter")
	h.golden("review-detail-no-plan")
}

// ↑/↓ and j/k move, enter opens the selected finding, esc comes back to
// it, q quits; in the detail ↑/↓ scroll it.
func TestReviewKeys(t *testing.T) {
	tests := []struct {
		keys []string
		want []string // on the screen after the keys
	}{
		{[]string{"down", "enter"}, []string{"0003_users.sql:4 · create-index on orders · 2 of 3", "no playbook carries this change"}},
		{[]string{"j", "j", "enter"}, []string{"0004_names.sql:2 · rename-column on users · 3 of 3", "to: years",
			"users was never counted on the target: run ANALYZE there"}},
		{[]string{"j", "j", "j", "k", "enter"}, []string{"create-index on orders · 2 of 3"}},
		{[]string{"up", "enter"}, []string{"add-column-rewrite on users · 1 of 3", "backfill: gen_random_uuid()",
			`"Add the column as nullable or with a safe default." (the Migration Operations guide)`,
			"took ACCESS EXCLUSIVE on users · rewrote the table", "users has about 1,200,000 rows"}},
		{[]string{"j", "enter", "esc"}, []string{"› 0003_users.sql:4", "SHARE on orders while its 35k rows are scanned"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.keys, ","), func(t *testing.T) {
			rep := findings()
			h, _ := newReviewHarness(t, 100, 40, rep, nil)
			h.send(reviewedMsg{rep: rep, items: plans(rep)})
			for _, k := range tc.keys {
				h.key(k)
			}
			h.contains(tc.want...)
		})
	}
	rep := findings()
	h, _ := newReviewHarness(t, 80, 24, rep, nil)
	h.send(reviewedMsg{rep: rep, items: plans(rep)})
	if cmd := h.key("q"); cmd == nil || !isQuit(cmd) {
		t.Fatal("q does not quit")
	}
}

func isQuit(cmd tea.Cmd) bool {
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

// A detail taller than the terminal scrolls, and says there is more.
func TestReviewDetailScrolls(t *testing.T) {
	rep := findings()
	h, _ := newReviewHarness(t, 60, 16, rep, nil)
	h.send(reviewedMsg{rep: rep, items: plans(rep)})
	h.key("enter")
	h.contains("↓ more below")
	if strings.Contains(h.screen(), "backfill: gen_random_uuid()") {
		t.Fatalf("the plan fits at 60x16: the test needs a longer detail\n%s", h.screen())
	}
	for range 30 {
		h.key("down")
	}
	h.contains("backfill: gen_random_uuid()", "↑ more above")
	h.key("esc")
	h.contains("Findings  3 unsafe")
}

// Nothing unsafe, a failed rehearsal, a terminal too small.
func TestReviewOtherScreens(t *testing.T) {
	h, _ := newReviewHarness(t, 80, 24, &review.Report{Files: 1, Statements: 3, Leftovers: []string{"shepherd_review_1_aa"}}, nil)
	h.run(h.m.Init())
	h.contains("rehearsed 3 statements in 1 new migration file: nothing unsafe", "✓ nothing unsafe", "dropped 1 scratch database left by a killed review")
	h.golden("review-clean")

	failed := errors.New("review: 002_bad.sql line 3: rehearse on the scratch database: relation \"nope\" does not exist")
	h, _ = newReviewHarness(t, 80, 24, &review.Report{}, failed)
	h.run(h.m.Init())
	h.contains("✗ the rehearsal failed", `relation "nope"`, "the scratch database is dropped all the same")
	if _, err := h.m.Report(); !errors.Is(err, failed) {
		t.Fatalf("Report() error %v, want the rehearsal's", err)
	}

	h, _ = newReviewHarness(t, 50, 12, findings(), nil)
	h.contains("shepherd needs a terminal of at least 60x16", "one is 50x12", "q quits")
}

// A list longer than the screen scrolls: the selected finding, and what it
// costs under the list, always show.
func TestReviewListScrolls(t *testing.T) {
	rep := &review.Report{Files: 1, Statements: 14}
	for i := 1; i <= 14; i++ {
		rep.Findings = append(rep.Findings, review.Finding{File: "db/migrations/0009_many.sql", Line: i, Check: "create-index",
			Table: "orders", Lock: "SHARE", Scan: true, Problem: fmt.Sprintf("SHARE on orders while finding %d's rows are scanned", i)})
	}
	h, _ := newReviewHarness(t, 60, 16, rep, nil)
	h.send(reviewedMsg{rep: rep, items: itemsOf(rep)})
	h.contains("› 0009_many.sql:1 ", "↓", "more below", "finding 1's rows")
	for i := 2; i <= 14; i++ {
		h.key("j")
		h.contains(fmt.Sprintf("› 0009_many.sql:%d ", i), fmt.Sprintf("finding %d's rows", i))
	}
	h.contains("more above")
	h.key("enter")
	h.contains("0009_many.sql:14 · create-index on orders · 14 of 14")
}
