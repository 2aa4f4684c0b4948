package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

func controlTableOf(db *testdb.DB) string {
	return strings.Replace(logTableOf(db), "shepherd_log", "shepherd_control", 1)
}

// shepherd_control is added in place to the state an older shepherd made:
// status reads that state as it is (writing nothing), and a pause or a
// run makes the table. Pause, resume and tune read back as written, each
// logged with who asked; a tune keeps what it does not set, a reset clears
// it, and a resume of a plan that is not paused writes nothing.
func TestControlRowsAndAnOlderState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		if _, err := s.Run(ctx, "add-column", nil); err != nil {
			t.Fatal(err)
		}
		s.Close()
		db.Exec("DROP TABLE " + controlTableOf(db)) // as an older shepherd left it

		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		st, err := eng.Status(ctx)
		if err != nil || len(st) != 1 || st[0].Control != nil {
			t.Fatalf("status of an older state: %v, %+v", err, st)
		}
		if all, err := eng.controls(ctx); err != nil || all != nil {
			t.Fatalf("status made shepherd_control (%v, %v): reading must write nothing", all, err)
		}
		// A run adds it back.
		s2, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		s2.Close()
		if all, err := eng.controls(ctx); err != nil || all == nil {
			t.Fatalf("a run did not make shepherd_control: %v", err)
		}
		db.Exec("DROP TABLE " + controlTableOf(db))

		// A pause makes it, before any runner does.
		before, err := eng.Pause(ctx, "users-email", Requester{Operator: "alice"})
		if err != nil || before.Paused {
			t.Fatalf("pause: %v, before %+v", err, before)
		}
		c, err := eng.Control(ctx, "users-email")
		if err != nil || !c.Paused || c.By != "alice" || c.At == nil || time.Since(*c.At) > time.Minute || c.Tuned() {
			t.Fatalf("after pause: %+v, %v", c, err)
		}
		st, _ = eng.Status(ctx)
		if st[0].Control == nil || !st[0].Control.Paused {
			t.Errorf("status does not show the pause: %+v", st[0].Control)
		}

		rate := 50.0
		if c, err = eng.Tune(ctx, "users-email", Requester{Operator: "carol"}, Tuning{MaxRate: &rate, BatchTime: 20 * time.Millisecond}, false); err != nil {
			t.Fatal(err)
		}
		if c, err = eng.Tune(ctx, "users-email", Requester{Operator: "dave"}, Tuning{MaxReplicaLag: 3 * time.Second}, false); err != nil {
			t.Fatal(err)
		}
		if c.BatchTime != 20*time.Millisecond || c.MaxRate == nil || *c.MaxRate != 50 || c.MaxReplicaLag != 3*time.Second || c.TunedBy != "dave" || !c.Paused {
			t.Errorf("after two tunes: %+v (a tune keeps what it does not set, and the pause)", c)
		}
		if got := c.Tuning.String(); got != "batch time 20ms, max rate 50 rows/s, max replica lag 3s" {
			t.Errorf("tuning reads %q", got)
		}
		if c, err = eng.Tune(ctx, "users-email", Requester{Operator: "erin"}, Tuning{}, true); err != nil || c.Tuned() || !c.Paused {
			t.Errorf("after a reset: %+v, %v", c, err)
		}

		if before, err = eng.Resume(ctx, "users-email", Requester{Operator: "bob"}); err != nil || !before.Paused || before.By != "alice" {
			t.Fatalf("resume: %v, before %+v", err, before)
		}
		if c, _ = eng.Control(ctx, "users-email"); c.Paused || c.By != "bob" {
			t.Errorf("after resume: %+v", c)
		}
		if before, err = eng.Resume(ctx, "users-email", Requester{Operator: "bob"}); err != nil || before.Paused {
			t.Fatalf("a second resume: %v, before %+v", err, before)
		}
		log, err := eng.Log(ctx, "users-email")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			switch e.Event {
			case "pause", "resume", "tune":
				got = append(got, e.Event+" "+e.Actor)
				if e.Version == "" {
					t.Errorf("%s logged without a version", e.Event)
				}
			}
		}
		if strings.Join(got, ", ") != "pause alice, tune carol, tune dave, tune erin, resume bob" {
			t.Errorf("the log has %v", got)
		}
	})
}

// A tune reaches a walk under way: a batch time sizes batches although
// the run pinned a batch size, a rate caps them at a second of rows, and
// a reset gives the run's own settings back.
func TestLiveControlAppliesATune(t *testing.T) {
	s := &Session{Engine: &Engine{}, plan: mustPlan(t, usersEmailPlan), opts: Options{BatchSize: 300, MaxRate: 1000}.withDefaults()}
	z := newSizer(s.opts)
	pace := newPacer(s.opts.MaxRate, time.Now(), 0)
	var notes []string
	s.opts.Emit = func(e Event) { notes = append(notes, e.Message) }
	c := s.newLiveControl("backfill", z, pace)
	rate := 40.0
	c.apply(Control{TunedBy: "carol", Tuning: Tuning{BatchTime: 20 * time.Millisecond, MaxRate: &rate}})
	if z.fixed || z.target != 20*time.Millisecond || pace.size(300) != 40 {
		t.Errorf("after the tune: fixed %v, target %s, a batch of %d", z.fixed, z.target, pace.size(300))
	}
	zero := 0.0
	c.apply(Control{TunedBy: "carol", Tuning: Tuning{MaxRate: &zero}})
	if !z.fixed || z.n != 300 || pace.size(5000) != 5000 {
		t.Errorf("after the cap is lifted: fixed %v, n %d, a batch of %d", z.fixed, z.n, pace.size(5000))
	}
	c.apply(Control{TunedBy: "erin"})
	if pace.size(5000) != 1000 {
		t.Errorf("after a reset a batch has %d rows, want the run's --max-rate 1000", pace.size(5000))
	}
	want := []string{"tuned by carol: batch time 20ms, max rate 40 rows/s", "tuned by carol: no max rate", "tuned by erin: back to the runner's own settings"}
	if strings.Join(notes, "|") != strings.Join(want, "|") {
		t.Errorf("notices %q, want %q", notes, want)
	}
}

// The batch loop reads the control row at most once a second however
// small its batches: a pause written in between is seen at the next read.
func TestLiveControlReadsAtMostOnceASecond(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		defer s.Close()
		c := s.newLiveControl("backfill", newSizer(s.opts), newPacer(0, time.Now(), 0))
		if err := c.refresh(ctx, false); err != nil || c.cur.Paused || c.read.IsZero() {
			t.Fatalf("first read: %v, %+v", err, c.cur)
		}
		if _, err := s.Pause(ctx, "users-email", Requester{Operator: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := c.refresh(ctx, false); err != nil || c.cur.Paused {
			t.Fatalf("read again within a second: %v, %+v", err, c.cur)
		}
		c.read = c.read.Add(-controlEvery) // a second later
		if err := c.refresh(ctx, false); err != nil || !c.cur.Paused || c.cur.By != "alice" {
			t.Fatalf("read a second later: %v, %+v", err, c.cur)
		}
	})
}
