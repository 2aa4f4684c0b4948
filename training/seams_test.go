package training

import (
	"strings"
	"testing"
)

// What training says of the engine's events and errors comes from their
// types (a notice's name, phase-done events, *engine.NotReadyError), never
// from the engine's wording.
func TestTrainingReadsTheEngineByType(t *testing.T) {
	t.Run("too soon", func(t *testing.T) {
		t.Parallel()
		var l *Lesson
		for _, c := range Lessons() {
			if c.Safe[len(c.Safe)-1] == "drop-old-column" {
				l = c
			}
		}
		_, results, _ := runLesson(t, l.Name, l.Safe)
		last := results[len(results)-1]
		found := false
		for _, n := range last.Notices {
			if strings.HasPrefix(n, "warning: stop-old-writes was confirmed") {
				found = true
				if !strings.HasSuffix(n, "(in this sandbox every replica has run the last release for a whole step, so no running code uses the old column)") {
					t.Errorf("the too-soon warning lacks the sandbox's note: %s", n)
				}
			}
		}
		if !found {
			t.Errorf("no too-soon warning at %s: %q", last.Action, last.Notices)
		}
	})
	t.Run("replicas", func(t *testing.T) {
		t.Parallel()
		_, results, _ := runLesson(t, "multi-replica", []string{"start-replicas", "startup-migrate-locked"})
		all := func(i int) string { return strings.Join(results[i].Messages, "\n") }
		if want := "new-1 is not ready: this database has no shepherd state table (no plan has run here). Readiness fails closed"; !strings.Contains(all(0), want) {
			t.Errorf("start-replicas says\n%s\nwant %q", all(0), want)
		}
		if !strings.Contains(all(1), "released the lock") {
			t.Errorf("startup-migrate-locked says\n%s\nwant a replica that ran the migration and released the lock", all(1))
		}
	})
}
