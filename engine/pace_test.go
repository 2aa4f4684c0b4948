package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Under --max-rate a batch is at most one second of the rate, and waits
// for its rows before it runs: from an empty bucket, so the first batch is
// paced like the others. The times here are given, not measured, so the
// test does not depend on the machine's speed.
func TestPacerReservations(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer(100, t0, 0)
	if got := p.size(500); got != 100 {
		t.Fatalf("a batch of 500 under 100 rows/s is capped at %d rows, want 100", got)
	}
	if got := p.size(40); got != 40 {
		t.Fatalf("a batch of 40 is %d rows, want 40", got)
	}
	at := t0
	for i, c := range []struct {
		rows int
		wait time.Duration
	}{
		{100, time.Second},            // the bucket starts empty
		{100, 2 * time.Second},        // reserved at the same time: queued behind the first
		{50, 2500 * time.Millisecond}, // and behind both
	} {
		if wait, _ := p.reserve(at, c.rows); wait != c.wait {
			t.Fatalf("reservation %d of %d rows waits %s, want %s", i+1, c.rows, wait, c.wait)
		}
	}
	// 2.5 s later every reserved row is paid for: the next batch waits
	// its own rows' time, no more.
	at = t0.Add(2500 * time.Millisecond)
	if wait, _ := p.reserve(at, 30); wait != 300*time.Millisecond {
		t.Fatalf("30 rows wait %s, want 300ms", wait)
	}
	// A cancelled wait gives its rows back.
	at = at.Add(300 * time.Millisecond)
	_, cancel := p.reserve(at, 100)
	cancel(at)
	if tokens := p.lim.TokensAt(at); tokens < -1 || tokens > 1 {
		t.Fatalf("after a cancelled reservation the bucket holds %.1f rows, want about 0", tokens)
	}

	// More than a second of rows at once (a duplicate batch) is reserved
	// in buckets' worth, never refused.
	q := newPacer(10, t0, 0)
	if wait, _ := q.reserve(t0, 25); wait != 2500*time.Millisecond {
		t.Fatalf("25 rows at 10 rows/s wait %s, want 2.5s", wait)
	}

	// A rate past the largest batch: the bucket is a batch's worth.
	if h := newPacer(1e12, t0, 0); h.size(1<<40) != maxBatch {
		t.Fatalf("at 1e12 rows/s a batch is capped at %d rows, want %d", h.size(1<<40), maxBatch)
	}

	// No cap: no wait, no size limit.
	n := newPacer(0, t0, 0)
	if wait, _ := n.reserve(t0, 1_000_000); wait != 0 || n.size(100_000) != 100_000 {
		t.Fatalf("without a cap: wait %s, size %d", wait, n.size(100_000))
	}
}

// The rate is measured over the last rateWindow, waits included and a
// pause left out: a walk paced at 100 rows/s reports 100, whatever each
// batch took on its own.
func TestPacerRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer(100, t0, 1000) // resumed at 1,000 rows done
	if got := p.rate(); got != 0 {
		t.Fatalf("before any batch: %v rows/s, want 0", got)
	}
	// Batches of 100 that run in 5 ms, a second apart.
	for i := 1; i <= 3; i++ {
		p.done(t0.Add(time.Duration(i)*time.Second+5*time.Millisecond), int64(1000+100*i))
	}
	if got := p.rate(); got < 99 || got > 100 {
		t.Fatalf("paced at 100 rows/s: reported %.1f", got)
	}
	// A 10 s pause, then the walk goes on at the same pace.
	now := t0.Add(13 * time.Second)
	p.resumed(now, 10*time.Second)
	if tokens := p.lim.TokensAt(now); tokens > 0 {
		t.Fatalf("after a pause the bucket holds %.0f rows, want none: no burst", tokens)
	}
	p.done(now.Add(time.Second), 1400)
	if got := p.rate(); got < 99 || got > 100 {
		t.Fatalf("after a pause: reported %.1f rows/s, want 100: the pause is left out", got)
	}
	// The pace halves: within a window the rate says so.
	at := now.Add(time.Second)
	rows := int64(1400)
	for i := 0; i < 8; i++ {
		at, rows = at.Add(time.Second), rows+50
		p.done(at, rows)
	}
	if got := p.rate(); got < 49 || got > 51 {
		t.Fatalf("at 50 rows/s for 8 s: reported %.1f", got)
	}
}

// A backfill under --max-rate on a real database: no batch is over one
// second of the rate, the walk takes at least its rows' time at the rate,
// and every reported rows_per_sec is within the cap. R is small, so the
// limiter, not the machine, sets the time (150 rows at 100/s: 1.5 s).
func TestMaxRatePacesTheBackfill(t *testing.T) {
	t.Parallel()
	const rate, rows = 100, 150
	for _, c := range []struct {
		dialect string
		opts    Options
	}{
		{"sqlite", Options{MaxRate: rate}},
		{"postgres", Options{MaxRate: rate, BatchSize: 1000}}, // a fixed size over the cap is capped
	} {
		t.Run(c.dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, c.dialect)
			db.Seed(rows)
			s, rec := session(t, db, mustPlan(t, usersEmailPlan), c.opts)
			start := time.Now()
			if _, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true}); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if min := time.Duration(rows) * time.Second / rate; took < min-50*time.Millisecond {
				t.Fatalf("%d rows at %d rows/s took %s, want at least %s", rows, rate, took, min)
			}
			var sizes []int
			for _, e := range rec.of(EventProgress) {
				if e.Phase != "backfill" || e.BatchSize == 0 {
					continue
				}
				sizes = append(sizes, e.BatchSize)
				if e.BatchSize > rate {
					t.Errorf("a batch of %d rows: over one second of %d rows/s", e.BatchSize, rate)
				}
				// The cap bounds the rate; a third of it is slack for a
				// slow machine's batches, which run beside the waits.
				if e.RowsPerSec > rate*1.01 || e.RowsPerSec < rate/3 {
					t.Errorf("after %d rows: reported %.0f rows/s under a cap of %d", *e.RowsDone, e.RowsPerSec, rate)
				}
			}
			if len(sizes) != 2 || sizes[0] != 100 || sizes[1] != 50 {
				t.Errorf("batches %v, want [100 50]", sizes)
			}
			if got := db.Query("SELECT count(*) FROM users WHERE email = lower(username)"); got[0][0] != "150" {
				t.Errorf("%s rows filled, want %d", got[0][0], rows)
			}
			if c.opts.BatchSize > 0 {
				said := false
				for _, e := range rec.of(EventNotice) {
					said = said || strings.Contains(e.Message, "--batch-size 1000 is over what --max-rate 100 allows in one batch")
				}
				if !said {
					t.Error("no notice that --batch-size was capped")
				}
			}
		})
	}
}
