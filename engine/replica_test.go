package engine

import (
	"database/sql"
	"strings"
	"testing"
	"time"
)

// --max-replica-lag: 0 is the default (1s), below 0 is off.
func TestReplicaLagLimit(t *testing.T) {
	for _, c := range []struct{ set, want time.Duration }{{0, time.Second}, {-1, 0}, {250 * time.Millisecond, 250 * time.Millisecond}} {
		if got := (Options{MaxReplicaLag: c.set}).replicaLagLimit(); got != c.want {
			t.Errorf("MaxReplicaLag %s: limit %s, want %s", c.set, got, c.want)
		}
	}
}

// A replica status row, as MariaDB and MySQL 8 name its columns: its lag,
// or why it counts as behind.
func TestSlaveStatusLag(t *testing.T) {
	ns := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	for _, c := range []struct {
		row    map[string]sql.NullString
		lag    time.Duration
		why    string
		behind bool // at the default limit
	}{
		{map[string]sql.NullString{"Slave_SQL_Running": ns("Yes"), "Slave_IO_Running": ns("Yes"), "Seconds_Behind_Master": ns("0")}, 0, "", false},
		{map[string]sql.NullString{"Slave_SQL_Running": ns("Yes"), "Slave_IO_Running": ns("Yes"), "Seconds_Behind_Master": ns("1")}, time.Second, "", false},
		{map[string]sql.NullString{"Replica_SQL_Running": ns("Yes"), "Replica_IO_Running": ns("Yes"), "Seconds_Behind_Source": ns("7")}, 7 * time.Second, "", true},
		{map[string]sql.NullString{"Slave_SQL_Running": ns("No"), "Slave_IO_Running": ns("Yes"), "Seconds_Behind_Master": {}}, 0, "its SQL thread is stopped (Slave_SQL_Running: No)", true},
		{map[string]sql.NullString{"Replica_SQL_Running": ns("Yes"), "Replica_IO_Running": ns("Connecting"), "Seconds_Behind_Source": {}}, 0, "Seconds_Behind_Source is NULL; Replica_IO_Running: Connecting", true},
	} {
		lag, why := slaveStatusLag(c.row)
		if lag != c.lag || !strings.Contains(why, c.why) || (why == "") != (c.why == "") {
			t.Errorf("%v: lag %s, %q; want %s, %q", c.row, lag, why, c.lag, c.why)
		}
		r := replicaLag{name: "db-r1:3306", lag: lag, unknown: why}
		if behind, what := r.behind(time.Second); behind != c.behind || (behind && !strings.Contains(what, "replica db-r1:3306 ")) {
			t.Errorf("%v: behind %v (%s), want %v", c.row, behind, what, c.behind)
		}
	}
	// A replica that cannot be read does not hold the batches.
	if behind, _ := (replicaLag{name: "db-r1:3306", unread: "connection refused"}).behind(time.Second); behind {
		t.Error("an unreadable replica holds the batches")
	}
}
