package engine

import (
	"context"
	"encoding/json"
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

// Every event a session emits says when it happened, in order, and its
// JSON time is RFC 3339 in UTC with milliseconds, whatever the zone.
func TestEventsCarryTheirTime(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Seed(20)
	before := time.Now()
	s, rec := session(t, db, mustPlan(t, "name: users-email\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: \"lower(username)\"\n"), Options{})
	if out, err := s.Run(context.Background(), "", confirm("deploy-readers")); err != nil || out != AtGate {
		t.Fatalf("run: %v %v", out, err)
	}
	after := time.Now()
	last := before
	for _, e := range rec.all() {
		if e.Time.Before(last) || e.Time.After(after) {
			t.Errorf("%s event at %v: want it between %v and %v, after the one before", e.Event, e.Time, last, after)
		}
		last = e.Time.Time
	}
	if len(rec.all()) < 5 {
		t.Fatalf("only %d events", len(rec.all()))
	}

	at := Timestamp{time.Date(2026, 12, 5, 23, 59, 26, 123456789, time.FixedZone("CET", 3600))}
	b, err := json.Marshal(Event{Event: EventGate, Plan: "p", Phase: "g", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"event":"gate","plan":"p","phase":"g","time":"2026-12-05T22:59:26.123Z"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || !back.Time.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("read back: %v, %v; want %v", back.Time, err, at)
	}
	if b, _ := json.Marshal(Event{Event: EventGate}); strings.Contains(string(b), "time") {
		t.Errorf("an event without a time: %s", b)
	}
}
