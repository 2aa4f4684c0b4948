package engine

import (
	"context"
	"time"
)

// Before each batch, the batch loop asks the database whether it is under
// pressure, with one cheap read (the "pressure" template; a dialect without
// one is never asked), and holds between batches while it is:
//
//   - PostgreSQL: a session waits for a lock on the table (a DDL, a LOCK
//     TABLE). A batch would queue behind it, and everything after the batch
//     behind both; holding lets it through first.
//   - MySQL/MariaDB: Threads_running is over the limit (25, or a fifth over
//     what it was when the walk began, as pt-online-schema-change does): the
//     server is busy with the application's work.
//
// Between batches no transaction is open and no row is locked.

// pressureNoticeEvery is how often a long hold says it is still holding.
const pressureNoticeEvery = 30 * time.Second

// pressureGauge reads the pressure before each batch.
type pressureGauge struct {
	s        *Session
	phase    string
	baseline int64
	poll     time.Duration
	// off: the load could not be read; the replicas are still watched.
	off bool
	// replicas, when set, hold batches while a replica is behind
	// (replica.go).
	replicas *replicaGauge
}

// newPressureGauge reads the starting level, or returns nil when the
// dialect has no pressure reading.
func (s *Session) newPressureGauge(ctx context.Context, phase string) *pressureGauge {
	if !s.sql.Has("pressure") {
		return nil
	}
	g := &pressureGauge{s: s, phase: phase, poll: max(s.opts.BatchTime, 50*time.Millisecond), replicas: s.newReplicaGauge(ctx, phase)}
	n, err := g.read(ctx)
	if err != nil {
		s.notice(phase, "cannot read the database's load (%v): batches will not hold for it", s.dsn.scrub(err))
		g.off = true
	}
	g.baseline = n
	return g
}

// close ends the replicas' connections.
func (g *pressureGauge) close() {
	if g != nil {
		g.replicas.close()
	}
}

// read takes the "pressure" template's reading: a row of what it reads
// and the number (MySQL's SHOW STATUS has that shape; the others follow it).
func (g *pressureGauge) read(ctx context.Context) (int64, error) {
	var what string
	var n int64
	err := g.s.queryRow(ctx, g.s.db, "pressure", sqlData{Schema: g.s.plan.Schema, Table: g.s.plan.Table}, nil, &what, &n)
	return n, err
}

// wait holds while the database is under pressure. A failed reading does
// not hold the walk: the batch's own lock timeout still protects the
// application.
func (g *pressureGauge) wait(ctx context.Context) error {
	if g == nil {
		return nil
	}
	if err := g.waitLoad(ctx); err != nil {
		return err
	}
	return g.replicas.wait(ctx)
}

// waitLoad holds while the database is under load.
func (g *pressureGauge) waitLoad(ctx context.Context) error {
	if g.off {
		return nil
	}
	return g.s.holdWhile(ctx, g.phase, "the database's load", g.poll, func(ctx context.Context) (bool, string, error) {
		n, err := g.read(ctx)
		if err != nil {
			return false, "", ctx.Err() // a failed reading does not hold the walk
		}
		busy, what := pressure(g.s.d, n, g.baseline)
		return busy, what, nil
	})
}

// holdWhile holds the walk between batches while busy says so: it says
// why when the hold begins, again every pressureNoticeEvery, and for how
// long once it goes on (for cause). An error from busy ends the walk.
func (s *Session) holdWhile(ctx context.Context, phase, cause string, poll time.Duration, busy func(context.Context) (bool, string, error)) error {
	var since, told time.Time
	for {
		hold, what, err := busy(ctx)
		if err != nil {
			return err
		}
		if !hold {
			if !since.IsZero() {
				s.notice(phase, "going on after holding %s between batches for %s", time.Since(since).Round(time.Millisecond), cause)
			}
			return nil
		}
		now := time.Now()
		if since.IsZero() {
			since, told = now, now
			s.notice(phase, "holding between batches: %s; no transaction is open on %s", what, s.plan.Table)
		} else if now.Sub(told) >= pressureNoticeEvery {
			told = now
			s.notice(phase, "still holding after %s: %s", now.Sub(since).Round(time.Second), what)
		}
		if err := sleep(ctx, poll); err != nil {
			return err
		}
	}
}
