package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// MySQL's and MariaDB's statement timeouts (timeout.go). The two servers
// name them differently and mean different things:
//
//   - MariaDB: max_statement_time, in seconds, for every statement; SET
//     STATEMENT max_statement_time=N FOR … bounds one statement alone.
//   - MySQL 5.7.8 and later: max_execution_time, in milliseconds, for
//     SELECT only (5.7.4 to 5.7.7 called it max_statement_time). An UPDATE
//     cannot be bounded there.
//
// shepherd asks the server which it has (SHOW VARIABLES), sets it to 0 on
// the connection that asked and has every later connection of the pool set
// it as it connects, and bounds a batch where the server can.

// mysqlTimeout is what the server calls its statement timeout.
type mysqlTimeout struct {
	setting string // max_statement_time, max_execution_time, or "" (none)
	// batches: the setting bounds an UPDATE, one statement at a time
	// (MariaDB's SET STATEMENT … FOR).
	batches bool
}

// readTimeout finds the server's statement timeout, sets it to none on
// conn, and remembers it for the pool's later connections. It runs once,
// in open, after the server's version is known.
func (d *mysqlDialect) readTimeout(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "SHOW VARIABLES WHERE Variable_name IN ('max_statement_time', 'max_execution_time')")
	if err != nil {
		return fmt.Errorf("read the server's statement timeout: %w", err)
	}
	defer rows.Close()
	t := &mysqlTimeout{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return fmt.Errorf("read the server's statement timeout: %w", err)
		}
		// MariaDB has max_statement_time only; MySQL 8 has
		// max_execution_time only.
		if t.setting == "" || name == "max_execution_time" {
			t.setting = name
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the server's statement timeout: %w", err)
	}
	t.batches = t.setting == "max_statement_time" && d.srv != nil && d.srv.mariadb
	if t.setting != "" {
		if _, err := conn.ExecContext(ctx, "SET SESSION "+t.setting+" = 0"); err != nil {
			return fmt.Errorf("set the session's %s: %w", t.setting, err)
		}
	}
	d.timeout.Store(t)
	return nil
}

// timeoutParams adds, to a connection's parameters (which the driver SETs
// as it connects), no statement timeout, once readTimeout knows its name.
func (d *mysqlDialect) timeoutParams(params map[string]string) {
	if t := d.timeout.Load(); t != nil && t.setting != "" {
		params[t.setting] = "0"
	}
}

func (d *mysqlDialect) timeoutSetting() string {
	if t := d.timeout.Load(); t != nil {
		return t.setting
	}
	return ""
}

// batchBound prefixes each of a batch's statements with MariaDB's SET
// STATEMENT, which bounds that statement alone, in seconds. MySQL cannot
// bound an UPDATE.
func (d *mysqlDialect) batchBound(bound time.Duration) (string, string) {
	if t := d.timeout.Load(); t == nil || !t.batches {
		return "", ""
	}
	secs := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", max(bound, time.Millisecond).Seconds()), "0"), ".")
	return "", fmt.Sprintf("SET STATEMENT max_statement_time=%s FOR ", secs)
}
