package training

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// A step whose traffic had failed requests is never marked "ok": its line
// says how many requests failed (and the incidents), ok or not.
func TestAStepThatBrokeRequestsIsNotOK(t *testing.T) {
	var out bytes.Buffer
	if _, err := Script(context.Background(), &out, "add-column", []string{"add-not-null-column", "add-column"}, false); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "step ") {
			steps = append(steps, l)
		}
	}
	if len(steps) != 2 {
		t.Fatalf("step lines %q", steps)
	}
	if strings.Contains(steps[0], "— ok") || !strings.Contains(steps[0], "— went through, but 12 of 36 requests failed during the step (1 incident)") {
		t.Fatalf("the step that broke 12 writes reads:\n  %s", steps[0])
	}
	// A safe step with no failure is ok.
	var safe bytes.Buffer
	if _, err := Script(context.Background(), &safe, "add-column", []string{"add-column"}, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(safe.String(), "step 1: add-column — ok\n") {
		t.Fatalf("a safe step:\n%s", safe.String())
	}
}

// Incident lines count one way, per step, and say so: the line at an
// incident's first hit carries no count (it is one hit, as it happened);
// the line at the step's end has the step's count; the text output's
// INCIDENT line too.
func TestIncidentCountsArePerStepAndSaySo(t *testing.T) {
	m := newTestUI(t, 160, 60)
	press(t, m, "enter")
	press(t, m, fmt.Sprint(slices.Index(m.lesson.ActionNames(), "add-not-null-column")+1))
	var incidentLines []string
	for _, l := range m.log {
		if strings.HasPrefix(strings.TrimSpace(l.text), "✗") {
			incidentLines = append(incidentLines, l.text)
		}
	}
	if len(incidentLines) != 2 {
		t.Fatalf("incident lines %q, want the first hit and the step's count", incidentLines)
	}
	first, end := incidentLines[0], incidentLines[1]
	if !strings.Contains(first, "first hit at tick") || strings.Contains(first, "writes failed") {
		t.Errorf("the first hit's line counts hits: %s", first)
	}
	if !strings.Contains(end, "failed-write in this step: 12 hits, by app-1, app-2 and app-3 running v1") {
		t.Errorf("the step's line: %s", end)
	}

	var out bytes.Buffer
	if _, err := Script(context.Background(), &out, "add-column", []string{"add-not-null-column"}, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "INCIDENT failed-write, 12 hits in this step:") {
		t.Errorf("the text output's incident line does not say its count is the step's:\n%s", out.String())
	}
}

// At 60x16 the compact action menu keeps the cursor on its own item, a
// space from the one before it.
func TestCompactMenuCursorSitsOnItsItem(t *testing.T) {
	m := newTestUI(t, 60, 16)
	press(t, m, "enter")
	for i := 0; i < 5; i++ {
		press(t, m, "down")
	}
	screen := strings.Join(screenLines(m), "\n")
	if !strings.Contains(screen, "5 add-not-null-column ▸ 6 enforce") {
		t.Errorf("the cursor is not on its own item:\n%s", screen)
	}
	if strings.Contains(screen, "column▸") {
		t.Errorf("the cursor is glued to the item before it:\n%s", screen)
	}
	goldenScreen(t, m, "lesson-60x16")
}

// goldenScreen compares the screen, as text, with testdata/golden/NAME.txt
// (gotest.tools/v3/golden: a difference is shown as a unified diff; go test
// ./training -run NAME -update rewrites it).
func goldenScreen(t *testing.T, m *uiModel, name string) {
	t.Helper()
	lines := strings.Split(ansi.Strip(m.View().Content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	got := strings.Join(lines, "\n") + "\n"
	assert.Check(t, golden.String(got, filepath.Join("golden", name+".txt")))
}

// drop-old-column, the point of no return, runs in the sandbox only where
// real shepherd runs it: when every phase before it is done. Too early it
// is a step refused by shepherd, and nothing is dropped.
func TestDropOldColumnTooEarlyIsRefusedAsShepherdRefusesIt(t *testing.T) {
	r, results, incidents := runLesson(t, "rename-column", []string{"add-column", "deploy-dual-write", "backfill", "drop-old-column"})
	last := results[len(results)-1]
	if last.OK || !last.Refused || last.RefusedBy != "shepherd" || last.Rule != ruleDropLater || last.Why == "" {
		t.Fatalf("drop-old-column before reads switched: %+v, want it refused by shepherd with the rule and why", last)
	}
	for _, inc := range incidents {
		if inc.Step == len(results) {
			t.Errorf("the refused drop caused an incident: %+v", inc)
		}
	}
	var n int
	if err := r.app.QueryRow(`SELECT count(*) FROM pragma_table_info('users') WHERE name = 'name'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("users.name: %d columns (%v): the refused drop dropped it", n, err)
	}
	if s := r.Score(); s.Refused != 1 {
		t.Fatalf("%d refused steps, want 1", s.Refused)
	}
}
