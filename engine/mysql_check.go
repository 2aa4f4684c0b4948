package engine

import (
	"context"
	"database/sql"
	"fmt"

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
