package engine

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shepherd-db/shepherd/templates"
)

// checkDefinitions: both CHECK clauses from SHOW CREATE TABLE, which
// prints them the server's way; the plan's from an empty temporary copy
// of the table that has it (information_schema shows no temporary table's
// constraints).
func (d *mysqlDialect) checkDefinitions(ctx context.Context, conn *sql.Conn, set *templates.Set, data sqlData) (string, string, error) {
	create, err := showCreateTable(ctx, conn, set, data)
	if err != nil {
		return "", "", err
	}
	live, ok := checkClause(create, data.Name)
	if !ok {
		return "", "", nil
	}
	script, err := set.Script("check-normalise", data)
	if err != nil {
		return "", "", err
	}
	if err := runConnSteps(ctx, conn, script); err != nil {
		return "", "", fmt.Errorf("add the plan's check to an empty temporary copy of %s: %w", data.Table, err)
	}
	probe := data
	probe.Schema, probe.Table = "", "shepherd_check_probe"
	pc, err := showCreateTable(ctx, conn, set, probe)
	if err != nil {
		return "", "", err
	}
	plan, _ := checkClause(pc, "shepherd_plan_check")
	return live, plan, nil
}

// showCreateTable is SHOW CREATE TABLE's text.
func showCreateTable(ctx context.Context, q querier, set *templates.Set, d sqlData) (string, error) {
	st, err := set.Query("table-definition", d)
	if err != nil {
		return "", err
	}
	args, _ := st.Args(nil)
	var name, create string
	if err := q.QueryRowContext(ctx, st.SQL, args...).Scan(&name, &create); err != nil {
		return "", err
	}
	return create, nil
}

// Copy rates, for how long a copying ALTER blocks writes: what shepherd
// measured on MariaDB 10.11 (200,000 rows of 10 MB with an application
// writing: ALGORITHM=COPY, LOCK=SHARED took 2.5 to 4.1 s on a shared
// 2-core machine, about 50,000 to 80,000 rows a second) and what was
// reported on other hardware (1,000,000 rows in 7.0 s, about 140,000 a
// second). The estimate is a range over those rates: the server's row
// count is itself an estimate, and the rate depends on the hardware, the
// row size, the indexes to rebuild and the load.
const (
	copyRowsPerSecLow  = 50_000
	copyRowsPerSecHigh = 150_000
)

// blockedFor: how long a copy of t takes at those rates.
func (d *mysqlDialect) blockedFor(t *Table) string {
	if t == nil {
		return ""
	}
	lo := time.Duration(float64(t.Rows) / copyRowsPerSecHigh * float64(time.Second))
	hi := time.Duration(float64(t.Rows) / copyRowsPerSecLow * float64(time.Second))
	how := "at 50,000 to 150,000 rows a second, what copying ALTERs did in shepherd's measurements; the time grows with the rows, their size and the indexes"
	if hi < time.Second {
		return "writes would stop for under a second, " + how
	}
	return fmt.Sprintf("writes would stop for about %s to %s, %s", roughly(lo), roughly(hi), how)
}

// roughly says a duration to a second, a minute from ten minutes on.
func roughly(d time.Duration) string {
	if d >= 10*time.Minute {
		return d.Round(time.Minute).String()
	}
	if d < time.Second {
		return "under a second"
	}
	return d.Round(time.Second).String()
}

// foreignKeyReference: from information_schema.key_column_usage.
func (*mysqlDialect) foreignKeyReference(ctx context.Context, q querier, set *templates.Set, d sqlData) (string, []string, error) {
	return foreignKeyReference(ctx, q, set, d)
}
