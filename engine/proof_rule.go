package engine

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// provesConstraint is the rule of what counts as the proof. A try whose
// statement at was refused with werr proves the plan's constraint only
// when all of these hold:
//
//  1. the refused statement is the try's violating one, its last: a row
//     written before it (the first of UNIQUE's pair) that is refused
//     proves nothing, whatever refused it;
//  2. the refusal is a violation of the plan's kind of constraint (NOT
//     NULL, CHECK, UNIQUE, FOREIGN KEY);
//  3. the database names the plan's constraint (see rejectedBy); or, where
//     it names none (SQLite's foreign keys, PostgreSQL's NOT NULL), the
//     same write with values that satisfy the plan's constraint (for an
//     update, the row as it was) is accepted in the same rolled-back
//     transaction, so that the violating values, which only the plan's
//     constraint is about, are what the database refused.
//
// It returns what the proof adds to the detail when it holds, or why the
// try proves nothing.
func (s *Session) provesConstraint(ctx context.Context, tx *sql.Tx, b builder, w violatingWrite, keys []any, write tryWrite, at int, werr error) (proof, why string, err error) {
	refused := oneLine(write.stmts[at].SQL)
	msg := s.dsn.scrub(werr).Error()
	if at < len(write.stmts)-1 {
		return "", fmt.Sprintf("%s, a row written before the violating one, was refused: %s", refused, msg), nil
	}
	switch s.rejectedBy(s.d.classify(werr)) {
	case rejectedByPlan:
		return "", "", nil
	case rejectedOther:
		return "", fmt.Sprintf("%s was refused for another reason: %s", refused, msg), nil
	}
	return s.compareSatisfying(ctx, tx, b, w, keys, refused, msg)
}

// compareSatisfying is rule 3's comparison, for a rejection that names no
// constraint: the same write with values that satisfy the plan's
// constraint must be accepted (any of the ways renderSatisfying gives).
func (s *Session) compareSatisfying(ctx context.Context, tx *sql.Tx, b builder, w violatingWrite, keys []any, refused, msg string) (proof, why string, err error) {
	name := s.plan.Tighten.Constraint.Name
	if name == "" {
		name = s.plan.ConstraintLabel()
	}
	cols := strings.Join(w.columns(s.plan.Tighten.Constraint), ", ")
	compare, err := s.renderSatisfying(b, w, keys)
	if err != nil {
		return "", "", err
	}
	if len(compare) == 0 {
		return "", fmt.Sprintf("%s was refused (%s), but the database does not say by which constraint, and shepherd has no values of %s that satisfy %s to compare with", refused, msg, cols, name), nil
	}
	var also []string
	for _, t := range compare {
		cat, cerr, err := s.runTry(ctx, tx, t)
		if err != nil {
			return "", "", err
		}
		if cerr == nil {
			if len(w.insert) == 0 {
				return fmt.Sprintf("; the same update leaving %s as it was was accepted", cols), "", nil
			}
			return fmt.Sprintf("; the same row with %s satisfying %s was accepted", cols, name), "", nil
		}
		also = append(also, fmt.Sprintf("%s: %s", oneLine(t.stmts[cat].SQL), s.dsn.scrub(cerr).Error()))
	}
	return "", fmt.Sprintf("%s was refused (%s), but the database does not say by which constraint, and the same write with %s satisfying %s was refused too (%s), so something else refuses it",
		refused, msg, cols, name, strings.Join(also, "; ")), nil
}

// rejection says what refused a try's violating statement.
type rejection int

const (
	rejectedOther   rejection = iota // another constraint or kind of error: no proof
	rejectedByPlan                   // the database names the plan's constraint
	rejectedUnnamed                  // the plan's kind, but no name shepherd can match
)

// rejectedBy reads which constraint the database says a violation broke
// (failure.constraint). PostgreSQL and MySQL name a CHECK, UNIQUE or
// FOREIGN KEY; SQLite names a CHECK by its name, a UNIQUE by its columns
// ("acct.email") and a FOREIGN KEY not at all. A NOT NULL violation names
// its column (MySQL "email", SQLite "acct.email"), or nothing shepherd can
// match (PostgreSQL: no name, or, from 18, the column's own not-null
// constraint).
func (s *Session) rejectedBy(f failure) rejection {
	c := s.plan.Tighten.Constraint
	want := map[phases.ConstraintKind]failureKind{phases.NotNullConstraint: failNotNull, phases.UniqueConstraint: failUnique, phases.CheckConstraint: failCheck, phases.ForeignKeyConstraint: failForeignKey}[c.Kind()]
	switch {
	case f.kind != want:
		return rejectedOther
	case f.constraint == "":
		return rejectedUnnamed
	case c.Kind() == phases.NotNullConstraint:
		if s.namesColumns(f.constraint, []string{c.NotNull}) {
			return rejectedByPlan
		}
		return rejectedUnnamed
	case strings.EqualFold(f.constraint, c.Name):
		return rejectedByPlan
	case c.Kind() == phases.UniqueConstraint && s.namesColumns(f.constraint, c.Unique):
		return rejectedByPlan
	case c.Kind() == phases.UniqueConstraint && s.table.ownsIndex(c.Name, f.constraint):
		return rejectedByPlan // a partition's part of it (partition.go)
	}
	return rejectedOther
}

// namesColumns says whether a database's list of columns ("acct.a,
// acct.b", or "a") is exactly cols of the plan's table.
func (s *Session) namesColumns(list string, cols []string) bool {
	parts := strings.Split(list, ",")
	if len(parts) != len(cols) {
		return false
	}
	prefix := s.plan.Table + "."
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) > len(prefix) && strings.EqualFold(p[:len(prefix)], prefix) {
			p = p[len(prefix):]
		}
		if !slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, p) }) {
			return false
		}
	}
	return true
}
