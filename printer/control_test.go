package printer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// A plan paused or tuned from anywhere says so under its name in status,
// and in status --output json as "control"; a runner's hold and resume
// are lines of a text run, as notices are.
func TestStatusAndEventsShowLiveControl(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local)
	rate := 50.0
	ps := []engine.PlanStatus{{Name: "users-email", Playbook: "add-column", Table: "users",
		Phases: []engine.PhaseStatus{{ID: "backfill", Status: phases.Running}},
		Control: &engine.Control{Paused: true, By: "alice", At: &at, TunedBy: "carol", TunedAt: &at,
			Tuning: engine.Tuning{BatchTime: 20 * time.Millisecond, MaxRate: &rate}}}}
	var b bytes.Buffer
	Status(&b, ps)
	for _, want := range []string{
		"\n  paused by alice at 2026-03-01 10:00:00: `shepherd resume users-email` lets it go on\n",
		"\n  tuned by carol: batch time 20ms, max rate 50 rows/s\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := StatusJSON(&b, ps, nil); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Plans []struct {
			Control map[string]any `json:"control"`
		} `json:"plans"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || len(got.Plans) != 1 {
		t.Fatalf("%v: %s", err, b.String())
	}
	c := got.Plans[0].Control
	if c["paused"] != true || c["by"] != "alice" || c["batch_time"] != "20ms" || c["max_rate"] != 50.0 || c["tuned_by"] != "carol" {
		t.Errorf("status JSON control: %v", c)
	}

	b.Reset()
	ev := NewEvents(&b, "text")
	ev.Event(engine.Event{Event: engine.EventPaused, Phase: "backfill", By: "alice", Message: "paused by alice at 2026-03-01 10:00:00 UTC: holding between batches"})
	ev.Event(engine.Event{Event: engine.EventResumed, Phase: "backfill", By: "bob", Message: "resumed after 3s by bob"})
	if want := "[backfill] paused by alice at 2026-03-01 10:00:00 UTC: holding between batches\n[backfill] resumed after 3s by bob\n"; b.String() != want {
		t.Errorf("text run shows\n%s\nwant\n%s", b.String(), want)
	}
}
