package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// dropIndexUnit is the engine's drop-index playbook: a gate for the deploy
// that stops relying on the index, with the database's own count of its
// use as evidence, then the drop, with the index's definition recorded
// first so that rollback builds it again.
type dropIndexUnit struct{}

const (
	stopUsingPhase = "stop-using"
	dropIndexPhase = "drop-index"
)

func (dropIndexUnit) phase(id string) phaseOps {
	switch id {
	case stopUsingPhase:
		return phaseOps{
			arrive: func(ctx context.Context, s *Session) error {
				s.recordUsageAtArrival(ctx)
				return nil
			},
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				evidence := s.usageSinceArrival(ctx, b)
				if evidence.used > 0 {
					s.warn(stopUsingPhase, "%s", evidence.text)
				}
				return s.finishNow(ctx, stopUsingPhase, func(context.Context, querier) (string, error) {
					return "confirmed by " + s.opts.Operator + "; " + evidence.text, nil
				})
			},
			preview: func(pr *previewer) {
				if !indexerOf(pr.b.d).countsIndexUse() {
					pr.note(indexerOf(pr.b.d).noUsageCount())
					return
				}
				pr.check("index-usage", pr.b.indexData())
				pr.note("the count is read when the gate is reached and again when it is confirmed: the difference is how often the database used the index meanwhile (PostgreSQL's pg_stat_user_indexes; MySQL's performance_schema, where it is on)")
			},
		}
	case dropIndexPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseDropIndex(ctx, b)
			},
			preview: func(pr *previewer) {
				if pr.b.seen.partitioned() {
					pr.check("partitioned-index-definition", pr.b.indexData())
				} else {
					pr.check("index-definition", pr.b.indexData())
				}
				pr.steps(pr.b.droppedIndexScript())
				pr.revert(func(b builder) (templates.Script, error) {
					if b.seen.partitioned() {
						return b.rebuildScript(`{"tail": "/* the definition recorded before the drop */"}`)
					}
					return b.rebuildScript("/* the definition recorded before the drop */")
				})
				pr.note("before the drop, shepherd records the index's definition (the query above) in its state, so that rollback builds it again")
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.verifyIndexGone(b)(ctx, s.db)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertDropIndex(ctx, b)
			},
			leftBehind: func(ctx context.Context, s *Session) bool {
				present, err := s.indexPresent(ctx, s.db, s.builder())
				return err != nil || !present
			},
		}
	}
	return phaseOps{}
}

// indexDefinition is what the catalog says of the index before the drop.
type indexDefinition struct {
	sql        string // the statement (or ADD clause) that builds it again
	backs      string // the constraints it backs, or ""
	expression bool   // MySQL: a functional part, which cannot be restated
}

func (s *Session) readIndexDefinition(ctx context.Context, b builder) (indexDefinition, bool, error) {
	var def, backs sql.NullString
	var expr, valid int64
	err := s.queryRow(ctx, s.db, "index-definition", b.indexData(), nil, &def, &backs, &expr, &valid)
	if err == sql.ErrNoRows {
		return indexDefinition{}, false, nil
	}
	if err != nil {
		return indexDefinition{}, false, fmt.Errorf("read the definition of %s: %w", b.plan.IndexName(), err)
	}
	return indexDefinition{sql: def.String, backs: backs.String, expression: expr != 0}, true, nil
}

// checkTable: the index is there until drop-index ran, and it is one
// shepherd can drop and build again.
func (dropIndexUnit) checkTable(ctx context.Context, s *Session, t *Table, ran, _ func(string) bool, problems *[]string) {
	name := s.plan.IndexName()
	if ran(dropIndexPhase) {
		return
	}
	def, ok, err := s.readIndexDefinition(ctx, s.builder())
	switch {
	case err != nil:
		addProblem(problems, "index.name: %v", err)
	case !ok:
		addProblem(problems, "index.name: %s has no index %q (indexes: %s)", t.Name, name, indexNames(t))
	case def.backs != "":
		addProblem(problems, "index.name: %s backs %s; dropping it would drop or break that constraint: drop the constraint instead (and what references it), not its index", name, def.backs)
	case def.expression:
		addProblem(problems, "index.name: %s has an expression part, which shepherd cannot restate to build it again on rollback; drop it by hand", name)
	}
}

func (dropIndexUnit) dialectProblems(*phases.Plan, string) []string { return nil }

func (dropIndexUnit) checkExpressions(ec *exprCheck) ([]string, error) { return ec.problems, nil }

func (dropIndexUnit) newColumn(b builder) (string, string, error) { return noNewColumn(b) }

func (dropIndexUnit) batchUpdates(*phases.Plan, func(string) bool) []batchUpdate { return nil }

// usage is the evidence at the stop-using gate: how often the database
// used the index since the gate was reached, and how that reads.
type usage struct {
	used int64
	text string
}

// readUsage reads the database's count of the index's use; ok is false
// where it counts none.
func (s *Session) readUsage(ctx context.Context, b builder) (int64, bool) {
	var n sql.NullInt64
	if err := s.queryRow(ctx, s.db, "index-usage", b.indexData(), nil, &n); err != nil || !n.Valid {
		return 0, false
	}
	return n.Int64, true
}

// recordUsageAtArrival keeps the count as the gate is reached, in the
// gate's checkpoint ("count@time"), once: a rerun that arrives again keeps
// the first.
func (s *Session) recordUsageAtArrival(ctx context.Context) {
	st := s.st(stopUsingPhase)
	if st.Checkpoint != nil {
		return
	}
	if n, ok := s.readUsage(ctx, s.builder()); ok {
		cp := strconv.FormatInt(n, 10) + "@" + time.Now().UTC().Format(time.RFC3339)
		st.Checkpoint = &cp
	}
}

// usageSinceArrival compares the count now with the one kept at arrival.
func (s *Session) usageSinceArrival(ctx context.Context, b builder) usage {
	name := s.plan.IndexName()
	now, ok := s.readUsage(ctx, b)
	if !ok || !indexerOf(s.d).countsIndexUse() {
		return usage{text: indexerOf(s.d).noUsageCount()}
	}
	st := s.st(stopUsingPhase)
	if st.Checkpoint == nil {
		return usage{text: fmt.Sprintf("%s was used %d %s since the statistics were last reset (no count was kept when the gate was reached)", name, now, phases.Plural(int(min(now, 2)), "time", "times"))}
	}
	countText, atText, _ := strings.Cut(*st.Checkpoint, "@")
	then, err1 := strconv.ParseInt(countText, 10, 64)
	at, err2 := time.Parse(time.RFC3339, atText)
	if err1 != nil || err2 != nil || now < then {
		return usage{text: fmt.Sprintf("%s was used %d %s since the statistics were last reset (they were reset since the gate was reached)", name, now, phases.Plural(int(min(now, 2)), "time", "times"))}
	}
	ago := time.Since(at).Round(time.Second)
	if now == then {
		return usage{text: fmt.Sprintf("%s was used 0 times in the %s since the gate was reached", name, ago)}
	}
	return usage{used: now - then, text: fmt.Sprintf("%s was used %d %s since the gate was reached %s ago: code that relies on it may still run, and its queries would scan %s once it is dropped",
		name, now-then, phases.Plural(int(min(now-then, 2)), "time", "times"), ago, s.plan.Table)}
}

// phaseDropIndex records the index's definition in the phase's state,
// then drops it.
func (s *Session) phaseDropIndex(ctx context.Context, b builder) error {
	st := s.st(dropIndexPhase)
	if st.Checkpoint == nil {
		def, ok, err := s.readIndexDefinition(ctx, b)
		if err != nil {
			return err
		}
		if !ok {
			return &VerifyError{Phase: dropIndexPhase, What: fmt.Sprintf("%s has no index %s, and no definition of it was recorded", s.plan.Table, s.plan.IndexName()),
				Hint: "it was dropped outside shepherd: nothing is left to drop"}
		}
		st.Checkpoint = &def.sql
		if b.seen.partitioned() {
			pdef, err := s.readPartitionedIndexDef(ctx, b)
			if err != nil {
				return err
			}
			st.Checkpoint = &pdef
		}
		if err := s.save(ctx, s.db, st); err != nil {
			return err
		}
	}
	script, err := b.droppedIndexScript()
	if err != nil {
		return err
	}
	return s.runScript(ctx, dropIndexPhase, script, s.finishIn(dropIndexPhase, s.verifyIndexGone(b)))
}

// verifyIndexGone checks the drop: the index is gone.
func (s *Session) verifyIndexGone(b builder) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		present, err := s.indexPresent(ctx, q, b)
		if err != nil {
			return "", err
		}
		if present {
			return "", &VerifyError{Phase: dropIndexPhase, What: s.plan.IndexName() + " should be gone"}
		}
		return s.plan.IndexName() + " dropped; its definition is recorded for rollback", nil
	}
}

// revertDropIndex builds the index again from the definition recorded
// before the drop.
func (s *Session) revertDropIndex(ctx context.Context, b builder) error {
	name := s.plan.IndexName()
	st := s.st(dropIndexPhase)
	if present, err := s.indexPresent(ctx, s.db, b); err != nil {
		return err
	} else if present {
		return s.moveNow(ctx, dropIndexPhase, phases.Revert, name+" is there: nothing to build")
	}
	if st.Checkpoint == nil || *st.Checkpoint == "" {
		return fmt.Errorf("%s: no definition of %s was recorded before the drop; build it again by hand", dropIndexPhase, name)
	}
	script, err := b.rebuildScript(*st.Checkpoint)
	if err != nil {
		return err
	}
	return s.runScript(ctx, dropIndexPhase, script, func(ctx context.Context, q querier) error {
		st, ok, err := s.readIndex(ctx, q, b)
		if err != nil {
			return err
		}
		if !ok || !st.valid {
			return &VerifyError{Phase: dropIndexPhase, What: name + " should be there and valid again"}
		}
		return s.move(ctx, q, dropIndexPhase, phases.Revert, name+" built again from its recorded definition")
	})
}
