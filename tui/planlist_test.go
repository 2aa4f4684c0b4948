package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// twelvePlans is a plan list of 12: the three example files and nine plans
// the database records with no file here.
func twelvePlans(t *testing.T, w, h int) *harness {
	t.Helper()
	var status []engine.PlanStatus
	for i := 1; i <= 9; i++ {
		status = append(status, engine.PlanStatus{Name: fmt.Sprintf("orders-cleanup-%02d", i), Playbook: "add-column", Table: "orders",
			Phases: []engine.PhaseStatus{{ID: "add-column", Status: phases.Done}, {ID: "deploy-readers", Status: phases.Waiting}}})
	}
	eng := &fakeEngine{status: status}
	hn := &harness{t: t, eng: eng}
	hn.m = New(t.Context(), Config{Engine: eng, Plans: []string{
		"../examples/orders-amount-positive.yaml", "../examples/users-email.yaml", "../examples/users-full-name.yaml"}})
	hn.send(tea.WindowSizeMsg{Width: w, Height: h})
	hn.run(hn.m.Init())
	return hn
}

// The list scrolls: with 12 plans the cursor stays on screen at 80x24 and
// at 60x16, and what enter says about the selected plan is always shown.
func TestPlanListScrollsToKeepTheCursorAndItsMessage(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {60, 16}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			h := twelvePlans(t, size[0], size[1])
			for i := 0; i < 11; i++ {
				h.key("down")
				it, _ := h.m.list.Selected()
				h.contains("› " + it.name)
			}
			h.key("enter")
			h.contains("› orders-cleanup-09", "no plan file for it here",
				"orders-cleanup-09 is recorded in this database")
			h.contains("more above")
			if lines := strings.Split(h.screen(), "\n"); len(lines) != size[1] {
				t.Fatalf("%d lines at %dx%d", len(lines), size[0], size[1])
			}
			if size[0] == 80 {
				golden(t, h, "plan-list-scrolled")
			}
			// And back to the top.
			for i := 0; i < 11; i++ {
				h.key("up")
			}
			h.contains("› orders-amount-positive", "more below")
			h.lacks("more above")
		})
	}
}
