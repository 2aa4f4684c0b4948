package engine

import (
	"context"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// rateWindow is how far back a walk's rows per second are measured: long
// enough to span several batches and their waits, short enough that the
// rate (and the ETA from it) follows a change of pace.
const rateWindow = 5 * time.Second

// pacer paces a batched walk under --max-rate and measures its rate.
//
// The cap is a token bucket (golang.org/x/time/rate) of one second of
// rows: a batch is never larger than the bucket, and waits for its rows
// before it runs, so rows go at the rate from the first one, batch by
// batch, without the bursts and long sleeps of paying for a batch after
// it ran. The bucket starts empty, and is emptied again after a pause: the
// rows per second never run ahead of the cap, not even for one batch.
//
// The rate reported is the rows done over the last rateWindow of the walk
// (a pause left out), waits included: under a cap it is the cap's pace,
// and the ETA from it is when the walk will end.
type pacer struct {
	lim   *rate.Limiter // nil: no cap
	burst int           // the most rows one batch may have under the cap
	marks []rateMark    // oldest first
	// share is how many workers share the cap (workers.go): each paces
	// its walk at its share of a tuned rate; 0 and 1 are one.
	share float64
}

type rateMark struct {
	at   time.Time
	rows int64
}

// newPacer starts a walk at now with rows already done (a resumed walk's).
func newPacer(maxRate float64, now time.Time, rows int64) *pacer {
	p := &pacer{marks: []rateMark{{now, rows}}}
	if maxRate > 0 {
		// One second of rows, within the sizes a batch can have.
		p.burst = max(1, int(min(math.Ceil(maxRate), maxBatch)))
		p.lim = rate.NewLimiter(rate.Limit(maxRate), p.burst)
		p.lim.AllowN(now, p.burst) // start empty
	}
	return p
}

// size caps a batch of n rows at one second of the rate.
func (p *pacer) size(n int) int {
	if p.lim == nil {
		return n
	}
	return min(n, p.burst)
}

// reserve takes rows from the bucket at now and returns how long the batch
// must wait before it runs. cancel gives the rows back when the wait is
// cut short.
func (p *pacer) reserve(now time.Time, rows int) (wait time.Duration, cancel func(at time.Time)) {
	if p.lim == nil || rows <= 0 {
		return 0, func(time.Time) {}
	}
	var made []*rate.Reservation
	for rows > 0 {
		n := min(rows, p.burst)
		r := p.lim.ReserveN(now, n) // n <= burst: always OK
		made = append(made, r)
		wait = max(wait, r.DelayFrom(now))
		rows -= n
	}
	return wait, func(at time.Time) {
		for _, r := range made {
			r.CancelAt(at)
		}
	}
}

// wait blocks until the bucket has a batch's rows, or ctx ends.
func (p *pacer) wait(ctx context.Context, rows int) error {
	d, cancel := p.reserve(time.Now(), rows)
	if d <= 0 {
		return nil
	}
	if err := sleep(ctx, d); err != nil {
		cancel(time.Now())
		return err
	}
	return nil
}

// resumed leaves a pause of d, which ended at now, out of the rate, and
// empties the bucket, which filled while the walk was paused.
func (p *pacer) resumed(now time.Time, d time.Duration) {
	if d <= 0 {
		return
	}
	for i := range p.marks {
		p.marks[i].at = p.marks[i].at.Add(d)
	}
	if p.lim != nil {
		if n := int(p.lim.TokensAt(now)); n > 0 {
			p.lim.AllowN(now, n)
		}
	}
}

// done records that rows are done at now.
func (p *pacer) done(now time.Time, rows int64) {
	p.marks = append(p.marks, rateMark{now, rows})
	// Keep one mark at or before the window's start, to measure from.
	drop := 0
	for drop+1 < len(p.marks) && !p.marks[drop+1].at.After(now.Add(-rateWindow)) {
		drop++
	}
	p.marks = p.marks[drop:]
}

// rate is the rows per second over the window: 0 before any time passed.
func (p *pacer) rate() float64 {
	first, last := p.marks[0], p.marks[len(p.marks)-1]
	if !last.at.After(first.at) {
		return 0
	}
	return float64(last.rows-first.rows) / last.at.Sub(first.at).Seconds()
}
