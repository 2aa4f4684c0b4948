package engine

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// postgresReplicas reads the standbys' lag from the primary's
// pg_stat_replication, one cheap read of a view in memory.
//
// replay_lag is how long the standby took to replay the primary's latest
// WAL it has replayed, and it keeps growing while replay is stuck (the
// primary interpolates it between the standby's replies). Once a standby
// has caught up on an idle primary, replay_lag is NULL: not behind. A NULL
// replay_lag with WAL sent but not replayed is a standby that has not yet
// replied with its lag: it is taken to be behind by as long as it has been
// seen so, which holds the batches only once that passes the limit.
type postgresReplicas struct {
	s *Session
	// unreplayedSince is when each standby was first seen with WAL not
	// replayed and no replay_lag, while it still is.
	unreplayedSince map[string]time.Time
}

func (r *postgresReplicas) read(ctx context.Context) ([]replicaLag, error) {
	rows, err := r.s.query(ctx, r.s.db, "replica-lag", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_replication: %w", err)
	}
	defer rows.Close()
	var out []replicaLag
	seen := map[string]time.Time{}
	now := time.Now()
	for rows.Next() {
		var l replicaLag
		var lag sql.NullFloat64
		var unreplayed int64
		var visible bool
		if err := rows.Scan(&l.name, &lag, &unreplayed, &visible); err != nil {
			return nil, fmt.Errorf("read pg_stat_replication: %w", r.s.dsn.scrub(err))
		}
		switch {
		case !visible:
			l.unread = "its lag is not shown to this user: grant it pg_monitor"
		case lag.Valid:
			l.lag = time.Duration(lag.Float64 * float64(time.Second))
		case unreplayed > 0:
			since, ok := r.unreplayedSince[l.name]
			if !ok {
				since = now
			}
			seen[l.name] = since
			if l.lag = now.Sub(since); l.lag > r.s.replicaLagLimit() {
				l.unknown = fmt.Sprintf("%d bytes of WAL not replayed for %s, and no replay_lag reported", unreplayed, roundLag(l.lag))
			}
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pg_stat_replication: %w", r.s.dsn.scrub(err))
	}
	r.unreplayedSince = seen
	return out, nil
}

func (*postgresReplicas) close() {}
