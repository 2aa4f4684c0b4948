package engine

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The proof's value for a CHECK must break the plan's condition and
// nothing weaker: one on its boundary (0 for amount > 0), which a weaker
// constraint of the same name (amount > -100) would accept. shepherd's
// candidates, and the numbers of the condition itself with their
// neighbours, are judged by the database (NOT (check) of the row as the try
// would write it, in a SELECT): those that violate the condition are tried,
// the ones nearest a value that satisfies it first.

// boundaryCandidates are values next to the numbers a CHECK names: each
// number n, n-1 and n+1 (amount > 0: 0, -1, 1; BETWEEN 1 AND 100: 1, 0,
// 2, 100, 99, 101). Constants of shepherd's own, from the plan's text.
func boundaryCandidates(check string) []string {
	var out []string
	toks := lexSQL(check)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != 'w' {
			continue
		}
		text := t.text
		// The lexer splits a decimal at its point: 0.5 is 0, ., 5.
		if i+2 < len(toks) && toks[i+1].text == "." && toks[i+2].kind == 'w' {
			text += "." + toks[i+2].text
		}
		n, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			continue
		}
		// A minus sign right before it (after an operator or a parenthesis).
		if j := prevToken(toks, i); j >= 0 && toks[j].text == "-" {
			if k := prevToken(toks, j); k < 0 || toks[k].kind == 'p' && toks[k].text != ")" {
				n = -n
			}
		}
		if text != t.text {
			i += 2
		}
		for _, v := range []float64{n, n - 1, n + 1} {
			if s := strconv.FormatFloat(v, 'f', -1, 64); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func prevToken(toks []sqlToken, i int) int {
	for j := i - 1; j >= 0; j-- {
		if toks[j].kind != ' ' {
			return j
		}
	}
	return -1
}

// verdict is what the database says of a try's row under the plan's CHECK.
type verdict int

const (
	verdictUnknown   verdict = iota // the SELECT failed: the write decides
	verdictViolates                 // NOT (check) holds
	verdictSatisfies                // check holds, or is NULL (a CHECK accepts it)
)

// boundaryFirst keeps, of CHECK tries that each set one column, those
// whose row violates the plan's condition, nearest a satisfying value of
// the same column first; tries the database could not judge come last, in
// their order. It reads inside the proof's transaction, each read within
// a savepoint (a failed one would end PostgreSQL's transaction).
func (s *Session) boundaryFirst(ctx context.Context, tx *sql.Tx, b builder, tries []violatingWrite, keys []any) ([]violatingWrite, error) {
	type judged struct {
		w     violatingWrite
		v     verdict
		col   string
		num   float64
		isNum bool
	}
	var all []judged
	for _, w := range tries {
		v, err := s.judge(ctx, tx, b, w, keys)
		if err != nil {
			return nil, err
		}
		j := judged{w: w, v: v}
		// The one column the try sets (an update), or where its row
		// differs from its satisfying twin (an insert).
		row, cols := w.set, w.columns(s.plan.Tighten.Constraint)
		if len(w.insert) > 0 {
			row = w.insert[len(w.insert)-1]
		}
		if len(cols) == 1 {
			for _, e := range row {
				if e.Column == cols[0] {
					j.col = e.Column
					j.num, j.isNum = number(e.Expr)
				}
			}
		}
		all = append(all, j)
	}
	// How far a violating value is from the nearest satisfying one of its
	// column: the boundary is nearest.
	distance := func(j judged) float64 {
		d := math.Inf(1)
		if !j.isNum {
			return d
		}
		for _, o := range all {
			if o.v == verdictSatisfies && o.isNum && o.col == j.col {
				d = min(d, math.Abs(o.num-j.num))
			}
		}
		return d
	}
	var violating, unknown []judged
	for _, j := range all {
		switch j.v {
		case verdictViolates:
			violating = append(violating, j)
		case verdictUnknown:
			unknown = append(unknown, j)
		}
	}
	slices.SortStableFunc(violating, func(a, b judged) int {
		da, db := distance(a), distance(b)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return 0
	})
	var out []violatingWrite
	for _, j := range append(violating, unknown...) {
		out = append(out, j.w)
	}
	return out, nil
}

// judge asks the database whether w's row violates the plan's CHECK.
func (s *Session) judge(ctx context.Context, tx *sql.Tx, b builder, w violatingWrite, keys []any) (verdict, error) {
	d := b.constraintData()
	vals := map[string]any{}
	if len(w.insert) > 0 {
		d.Key = ""
		d.Set = w.insert[len(w.insert)-1]
	} else {
		if b.live == nil || len(keys) == 0 {
			return verdictUnknown, nil
		}
		vals["key"] = keys[0]
		d.Set = nil
		for _, col := range b.live.Columns {
			e := setExpr{Column: col.Name, Expr: "shepherd_row." + s.sql.Quote(col.Name)}
			for _, x := range w.set {
				if x.Column == col.Name {
					e.Expr = x.Expr
				}
			}
			d.Set = append(d.Set, e)
		}
	}
	if _, err := s.exec(ctx, tx, "savepoint", nil, nil); err != nil {
		return 0, &StepError{Phase: failurePathPhase, SQL: "SAVEPOINT", Err: s.dsn.scrub(err)}
	}
	var n sql.NullInt64
	qerr := s.queryRow(ctx, tx, "check-verdict", d, vals, &n)
	if _, err := s.exec(ctx, tx, "rollback-to-savepoint", nil, nil); err != nil {
		return 0, &StepError{Phase: failurePathPhase, SQL: "ROLLBACK TO SAVEPOINT", Err: s.dsn.scrub(err)}
	}
	switch {
	case qerr != nil:
		return verdictUnknown, nil
	case n.Valid && n.Int64 == 1:
		return verdictViolates, nil
	}
	return verdictSatisfies, nil
}

// number reads a candidate constant ("-1", "(0)") as a number.
func number(expr string) (float64, bool) {
	e := strings.TrimSpace(expr)
	for strings.HasPrefix(e, "(") && strings.HasSuffix(e, ")") {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	n, err := strconv.ParseFloat(e, 64)
	return n, err == nil
}
