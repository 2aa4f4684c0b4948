package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// Before each batch, beside the pressure check (pressure.go), the batch loop
// reads how far the replicas are behind, and holds between batches while
// any is further behind than --max-replica-lag (Options.MaxReplicaLag,
// default 1s): a backfill writes as fast as the primary takes it, and a
// replica that applies one thread's writes at a time falls behind, serving
// stale reads (or failing over to a stale primary).
//
//   - PostgreSQL: the primary knows: pg_stat_replication's replay_lag, one
//     row a standby (replica_postgres.go).
//   - MySQL/MariaDB: the primary does not know its replicas' apply lag:
//     each replica is asked (SHOW SLAVE STATUS / SHOW REPLICA STATUS), on
//     a connection of its own (replica_mysql.go).
//   - SQLite has no replicas.
//
// Between batches no transaction is open and no row is locked.

// defaultMaxReplicaLag is --max-replica-lag's default.
const defaultMaxReplicaLag = time.Second

// replicaLagLimit is the lag batches hold over; 0 when the check is off.
func (o Options) replicaLagLimit() time.Duration {
	switch {
	case o.MaxReplicaLag < 0:
		return 0
	case o.MaxReplicaLag == 0:
		return defaultMaxReplicaLag
	}
	return o.MaxReplicaLag
}

// replicaLagLimit is the limit the walk holds at: a live `shepherd tune
// --max-replica-lag` (control_live.go) over the run's own.
func (s *Session) replicaLagLimit() time.Duration {
	if s.tunedReplicaLag > 0 {
		return s.tunedReplicaLag
	}
	return s.opts.replicaLagLimit()
}

// replicaLag is one replica's reading.
type replicaLag struct {
	// name says which replica, without a password: host:port, or the
	// standby's application name and address.
	name string
	// lag is how far behind it is, when known.
	lag time.Duration
	// unknown, when set, says why the lag is not known although the
	// replica is behind (a stopped SQL thread, WAL not replayed): it
	// counts as behind.
	unknown string
	// unread, when set, says why this replica could not be read: it does
	// not hold the batches (as a failed pressure reading does not), and is
	// said once.
	unread string
}

// behind reports whether the replica holds the batches, and says how far
// behind it is.
func (r replicaLag) behind(limit time.Duration) (bool, string) {
	switch {
	case r.unread != "":
		return false, ""
	case r.unknown != "":
		return true, fmt.Sprintf("replica %s is behind: %s", r.name, r.unknown)
	case r.lag > limit:
		return true, fmt.Sprintf("replica %s is %s behind (over --max-replica-lag %s)", r.name, roundLag(r.lag), limit)
	}
	return false, ""
}

// roundLag shows a lag to the millisecond below ten seconds, else to the
// second.
func roundLag(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// replicaReader reads every replica's lag: one reading a replica.
type replicaReader interface {
	read(ctx context.Context) ([]replicaLag, error)
	close()
}

// replicaGauge holds batches while a replica is behind.
type replicaGauge struct {
	s      *Session
	phase  string
	reader replicaReader
	poll   time.Duration
	// told are the replicas whose unread reason was said, with it: each
	// is said again only when it changes.
	told map[string]string
}

// newReplicaGauge finds the replicas to watch; nil when there are none to
// ask, or the check is off.
func (s *Session) newReplicaGauge(ctx context.Context, phase string) *replicaGauge {
	if s.replicaLagLimit() == 0 {
		return nil
	}
	g := &replicaGauge{s: s, phase: phase, poll: max(s.opts.BatchTime, 100*time.Millisecond), told: map[string]string{}}
	switch s.d.name() {
	case "postgres":
		if len(s.plan.Replicas) > 0 {
			s.notice(phase, "the plan's replicas: list is for MySQL/MariaDB: PostgreSQL's standbys are read from the primary's pg_stat_replication")
		}
		g.reader = &postgresReplicas{s: s}
	case "mysql":
		r, err := s.mysqlReplicas(ctx, phase, os.Getenv(ReplicasEnv))
		if err != nil {
			s.notice(phase, "cannot find the replicas to watch (%v): batches will not hold for replica lag", s.dsn.scrub(err))
			return nil
		}
		if r == nil {
			return nil
		}
		g.reader = r
	default:
		return nil // SQLite: no replicas
	}
	return g
}

// close ends the replicas' connections.
func (g *replicaGauge) close() {
	if g != nil {
		g.reader.close()
	}
}

// check reads the replicas once: whether one is behind, and which. A
// failed reading does not hold the walk: it is said once.
func (g *replicaGauge) check(ctx context.Context) (bool, string, error) {
	lags, err := g.reader.read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		g.tell("", fmt.Sprintf("cannot read the replicas' lag (%v): batches do not hold for it meanwhile", g.s.dsn.scrub(err)))
		return false, "", nil
	}
	g.tell("", "")
	var whats []string
	for _, r := range lags {
		if r.unread != "" {
			g.tell(r.name, fmt.Sprintf("cannot read replica %s's lag (%s): batches do not hold for it meanwhile", r.name, r.unread))
			continue
		}
		g.tell(r.name, "")
		if b, what := r.behind(g.s.replicaLagLimit()); b {
			whats = append(whats, what)
		}
	}
	return len(whats) > 0, strings.Join(whats, "; "), nil
}

// tell says why a replica (or, for "", the reading as a whole) cannot be
// read, once until it changes.
func (g *replicaGauge) tell(name, why string) {
	if g.told[name] == why {
		return
	}
	g.told[name] = why
	if why != "" {
		g.s.notice(g.phase, "%s", why)
	}
}

// wait holds while a replica is behind, saying which and how far, again
// every pressureNoticeEvery, and goes on by itself once none is.
func (g *replicaGauge) wait(ctx context.Context) error {
	if g == nil {
		return nil
	}
	return g.s.holdWhile(ctx, g.phase, "replica lag", g.poll, func(ctx context.Context) (bool, string, error) {
		if g.s.replicaLagLimit() == 0 {
			return false, "", nil // turned off while holding
		}
		return g.check(ctx)
	})
}
