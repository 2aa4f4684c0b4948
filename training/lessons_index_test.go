package training

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A timeout is the database's own plan, not a guess: with the index there,
// v1's lookup is served (SEARCH … USING INDEX); once it is dropped, the
// same statement's plan is a SCAN of orders, and the fleet's incident says
// so. The replicas the rolling deploy reached first (v2) hit nothing.
func TestIndexTimeoutIsThePlan(t *testing.T) {
	r, _, incidents := runLesson(t, "drop-index", []string{"deploy-and-drop-index"})
	var got []string
	for _, inc := range incidents {
		if inc.Kind != "timeout" {
			t.Errorf("incident %s: %s", inc.Kind, inc.Detail)
			continue
		}
		got = append(got, inc.Replicas...)
		plan, err := queryPlan(context.Background(), r.app, request{sql: inc.SQL, args: []any{1}})
		if err != nil || !strings.Contains(strings.Join(plan, ";"), "SCAN orders") {
			t.Errorf("plan of %s now: %v (%v), want a SCAN of orders", inc.SQL, plan, err)
		}
	}
	if strings.Join(got, ",") != "app-2,app-3" {
		t.Fatalf("timeouts hit %v: want app-2 and app-3, which the rolling deploy reached after the drop", got)
	}
}

// check-plans reads the running code's plans from the database: before
// the deploy, v1's lookup by user_id uses orders_user; after it, nothing
// the fleet sends does, and the drop then breaks nothing.
func TestCheckPlans(t *testing.T) {
	_, results, incidents := runLesson(t, "drop-index", []string{"check-plans", "deploy-stop-using", "check-plans", "drop-index"})
	before, after := strings.Join(results[0].Messages, "\n"), strings.Join(results[2].Messages, "\n")
	if !strings.Contains(before, "SELECT amount FROM orders WHERE user_id = ?: SEARCH orders USING INDEX orders_user (user_id=?): uses orders_user") ||
		!strings.Contains(before, "1 query of the running code uses orders_user") {
		t.Errorf("check-plans under v1 says:\n%s", before)
	}
	if strings.Contains(after, ": uses orders_user") || !strings.Contains(after, "no query of the running code uses orders_user") {
		t.Errorf("check-plans under v2 says:\n%s", after)
	}
	if len(incidents) != 0 {
		t.Errorf("incidents: %+v", incidents)
	}
}

// The new lessons' screens fit as the others' do, in a standard terminal
// and in the small ones, after a step that broke something (with its
// incident, rule and safe order on screen); and the menu lists them.
func TestNewLessonScreensFit(t *testing.T) {
	for _, c := range []struct{ lesson, step, kind string }{
		{"drop-column", "drop-now", "✗ failed-write"},
		{"drop-index", "drop-index", "✗ timeout"},
		{"add-index", "deploy-new-lookup", "✗ timeout"},
	} {
		for _, size := range [][2]int{{80, 24}, {60, 16}, {48, 14}, {120, 40}} {
			t.Run(fmt.Sprintf("%s %dx%d", c.lesson, size[0], size[1]), func(t *testing.T) {
				m := newTestUI(t, size[0], size[1])
				menu := strings.Join(checkFits(t, m, "q quit"), "\n")
				if !strings.Contains(menu, c.lesson) {
					t.Errorf("the menu does not list %s:\n%s", c.lesson, menu)
				}
				m.cursor = slices.Index(LessonNames(), c.lesson)
				press(t, m, "enter")
				if m.screen != lessonScreen || m.lesson.Name != c.lesson {
					t.Fatalf("%s not started: %v", c.lesson, m.err)
				}
				press(t, m, fmt.Sprint(slices.Index(m.lesson.ActionNames(), c.step)+1))
				text := strings.Join(checkFits(t, m, "score"), "\n")
				if m.incidents == 0 {
					t.Fatalf("%s broke nothing:\n%s", c.step, text)
				}
				if size[0] >= 80 && !strings.Contains(text, c.kind) {
					t.Errorf("%q is not on screen:\n%s", c.kind, text)
				}
			})
		}
	}
}
