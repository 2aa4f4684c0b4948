package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Every notice says its level, a warning's message starts "warning: " as
// it always did, and the too-soon warning carries its name: the layers
// that act on notices read these, never the words.
func TestNoticesSayTheirLevelAndTheTooSoonWarningItsName(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Seed(20)
	ctx := context.Background()
	s, rec := session(t, db, mustPlan(t, "name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"), Options{})
	out, err := s.Run(ctx, "", confirm("dual-write", "switch-reads", "stop-old-writes"))
	if err != nil || out != AtGate {
		t.Fatalf("run to the drop: %v %v", out, err)
	}
	s.touched = map[string]time.Time{} // a later run, within the hour
	if _, err := s.Run(ctx, "", confirm("drop-old-column")); err != nil {
		t.Fatalf("drop-old-column: %v", err)
	}
	soon := 0
	for _, e := range rec.of(EventNotice) {
		want := LevelInfo
		if strings.HasPrefix(e.Message, "warning: ") {
			want = LevelWarning
		}
		if e.Level != want {
			t.Errorf("notice %q has level %q, want %q", e.Message, e.Level, want)
		}
		if e.Notice == NoticeTooSoon {
			soon++
			if e.Phase != "drop-old-column" || e.Level != LevelWarning || !strings.HasPrefix(e.Message, "warning: stop-old-writes was confirmed ") {
				t.Errorf("the too-soon warning reads %+v", e)
			}
		}
	}
	if soon != 1 {
		t.Errorf("%d too-soon warnings, want 1: %+v", soon, rec.of(EventNotice))
	}
	for _, e := range rec.all() {
		if e.Event != EventNotice && (e.Level != "" || e.Notice != "") {
			t.Errorf("a %s event has a level or a notice name: %+v", e.Event, e)
		}
	}
}
