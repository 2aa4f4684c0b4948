package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// The reads a walk makes besides its batches: the rows to expect, the
// rows a condition matches, the checkpoint recorded.

// estimateRows is a cheap row count for progress and ETA.
func (s *Session) estimateRows(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	data := sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Key: s.key, Keys: s.keys, IntKey: s.keyIsInteger(), Rowid: s.rowid}
	if err := s.queryRow(ctx, s.db, "estimate-rows", data, nil, &n); err != nil {
		return 0, fmt.Errorf("estimate the rows of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	return n.Int64, nil
}

// countWhere counts the rows matching a condition (null, diff, violates)
// and returns up to five of their keys.
func (s *Session) countWhere(ctx context.Context, q querier, data sqlData, vals map[string]any) (int64, []string, error) {
	var n int64
	data.Keys, data.Rowid = s.keys, s.rowid
	vals = expandKeys(vals)
	if err := s.queryRow(ctx, q, "count-where", data, vals, &n); err != nil {
		return 0, nil, s.cancelled(stmtScan, 0, s.dsn.scrub(err))
	}
	if n == 0 {
		return 0, nil, nil
	}
	rows, err := s.query(ctx, q, "sample-where", data, vals)
	if err != nil {
		return n, nil, s.cancelled(stmtScan, 0, s.dsn.scrub(err))
	}
	defer rows.Close()
	var sample []string
	dest, key := s.keyDest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, nil, s.dsn.scrub(err)
		}
		sample = append(sample, s.keyShown(keyText(key())))
	}
	return n, sample, s.dsn.scrub(rows.Err())
}

// checkpointIs reports whether the recorded checkpoint of a phase is cp,
// with the rows done and changed that it records.
func (s *Session) checkpointIs(ctx context.Context, phase, cp string) (done bool, rows, changed int64, err error) {
	var got sql.NullString
	err = s.queryRow(ctx, s.db, "state-checkpoint", nil, map[string]any{"plan": s.plan.Name, "phase": phase}, &got, &rows, &changed)
	if err != nil {
		return false, 0, 0, s.dsn.scrub(err)
	}
	return got.Valid && got.String == cp, rows, changed, nil
}

// keyStuckError is a walk whose key did not advance: its values do not sort
// as they are read back. The key value is for the operator, not for
// shepherd's tables.
type keyStuckError struct{ phase, key, at string }

func (e *keyStuckError) text(keys bool) string {
	at := " past " + e.at
	if !keys {
		at = ""
	}
	return fmt.Sprintf("%s: the key %s did not advance%s: its values do not sort as they are read back; set key: to another column", e.phase, e.key, at)
}

func (e *keyStuckError) Error() string       { return e.text(true) }
func (e *keyStuckError) withoutKeys() string { return e.text(false) }
