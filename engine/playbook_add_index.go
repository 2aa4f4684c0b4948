package engine

import (
	"context"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// addIndexUnit is the engine's add-index playbook: build the index without
// blocking writes where the dialect can (index_build.go), then prove it is
// valid and ready and, given the query it is for, that the database's own
// planner uses it (explain.go).
type addIndexUnit struct{}

const (
	createIndexPhase = "create-index"
	verifyIndexPhase = "verify-index"
)

func (addIndexUnit) phase(id string) phaseOps {
	switch id {
	case createIndexPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseCreateIndex(ctx, b)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.createIndex())
				pr.revert(builder.dropIndex)
				pr.check("index-state", pr.b.indexData())
				if n := indexerOf(pr.b.d).indexBuildNote(); n != "" {
					pr.note(n)
				}
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.verifyIndex(b, createIndexPhase)(ctx, s.db)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertCreateIndex(ctx, b)
			},
			leftBehind: func(ctx context.Context, s *Session) bool {
				present, err := s.indexPresent(ctx, s.db, s.builder())
				return err != nil || present
			},
		}
	case verifyIndexPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.finishNow(ctx, verifyIndexPhase, s.verifyIndexUse(b))
			},
			preview: func(pr *previewer) {
				pr.check("index-state", pr.b.indexData())
				if q, ok := pr.b.indexQuery(); ok {
					d := pr.b.base()
					d.Expr = q
					if indexerOf(pr.b.d).analyzesBeforeExplain() {
						pr.check("analyze", pr.b.base())
						pr.note("ANALYZE first brings the planner's statistics up to date (a sampled read; reads and writes go on), so that EXPLAIN plans the table as it is now")
					}
					pr.check("explain", d)
					pr.note("the query is EXPLAINed, not run: the phase fails, naming what the planner chose, unless its plan uses " + pr.p.AddIndex.Index.Name)
				} else {
					pr.note("the plan has no query: the phase checks the index only; give query: to have the planner's choice checked too")
				}
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.verifyIndexUse(b)(ctx, s.db)
			},
			keptData: func(*phases.Plan) string { return "it changed nothing (EXPLAIN does not run the query)" },
		}
	}
	return phaseOps{}
}

// indexData is the data of the plan's index, as this dialect gives it.
func (b builder) indexData() sqlData {
	d := b.base()
	d.Name = b.plan.IndexName()
	if a := b.plan.AddIndex; a != nil {
		d.Columns, d.Using = a.Index.Columns, a.Index.Using
		d.Where, _ = a.Index.Where.For(b.d.name())
	}
	return d
}

// indexQuery is the plan's query: on this dialect, if it gives one.
func (b builder) indexQuery() (string, bool) {
	if b.plan.AddIndex == nil {
		return "", false
	}
	q, ok := b.plan.AddIndex.Query.For(b.d.name())
	return strings.TrimSuffix(strings.TrimSpace(q), ";"), ok
}

// createIndex is the build; on a partitioned table (PostgreSQL), one
// partition at a time, then the parent's index attached to them.
func (b builder) createIndex() (templates.Script, error) {
	return b.indexScript("create-index")
}

func (b builder) dropIndex() (templates.Script, error) {
	return b.indexScript("drop-index")
}

func (b builder) indexScript(op string) (templates.Script, error) {
	d := b.indexData()
	if b.seen.partitioned() {
		d.Partitions = b.seen.Partition.indexes(d.Name)
		op += "-partitioned"
	}
	return b.script(op, d)
}

// checkTable: the index's columns are the table's, and its name is free
// until create-index ran (an index left by this plan's own failed build is
// create-index's to drop and build again).
func (addIndexUnit) checkTable(ctx context.Context, s *Session, t *Table, ran, done func(string) bool, problems *[]string) {
	ix := s.plan.AddIndex.Index
	for _, col := range ix.Columns {
		if !t.has(col) {
			addProblem(problems, "index.columns: %s has no column %q (columns: %s)", t.Name, col, columnList(t))
		}
	}
	*problems = append(*problems, addIndexUnit{}.dialectProblems(s.plan, s.d.name())...)
	checkPartitionedIndex(t, ix.Name, ran(createIndexPhase), problems)
	switch _, exists := t.Index(ix.Name); {
	case !ran(createIndexPhase) && exists:
		addProblem(problems, "index.name: %s already has an index %q (indexes: %s); choose another name, or drop it first if it is left over", t.Name, ix.Name, indexNames(t))
	case done(createIndexPhase) && !exists:
		addProblem(problems, "index.name: %q was built by this plan but is gone from %s; it was dropped outside shepherd: roll back create-index and run again", ix.Name, t.Name)
	case !ran(createIndexPhase):
		d := s.builder().indexData()
		d.Kind, d.Table = "unique", t.Name // name-clashes: an index's name
		*problems = append(*problems, s.nameClashesOf(ctx, t, "index.name", d)...)
	}
}

// indexNames lists the table's indexes, for problems.
func indexNames(t *Table) string {
	var names []string
	for _, ix := range t.Indexes {
		names = append(names, ix.Name)
	}
	return listOrNone(names)
}

// dialectProblems: query: given per dialect must give this one where it
// is given at all, and the dialect must be able to build the index
// (indexer.indexProblems).
func (addIndexUnit) dialectProblems(p *phases.Plan, dialect string) []string {
	a := p.AddIndex
	var problems []string
	// where: given for other dialects only is no predicate here (MySQL
	// has no partial indexes, so a plan for every dialect gives it so).
	where, _ := a.Index.Where.For(dialect)
	if !a.Query.IsZero() {
		if _, ok := a.Query.For(dialect); !ok {
			problems = append(problems, missingForDialect("query", "query", dialect, a.Query))
		}
	}
	if d, err := dialectFor(dialect); err == nil {
		problems = append(problems, indexerOf(d).indexProblems(a.Index, where)...)
	}
	return problems
}

// checkExpressions: the predicate compiles as a condition over the row,
// and the database can plan the query (EXPLAIN, before anything changes).
func (addIndexUnit) checkExpressions(ec *exprCheck) ([]string, error) {
	a := ec.s.plan.AddIndex
	if w, ok := a.Index.Where.For(ec.dialect); ok && w != "" {
		ec.condition("index.where", w)
	}
	if q, ok := ec.s.builder().indexQuery(); ok {
		if problem := ec.s.explainProblem(ec.ctx, q); problem != "" {
			ec.problems = append(ec.problems, problem)
		}
	}
	return ec.problems, nil
}

func (addIndexUnit) newColumn(b builder) (string, string, error) { return noNewColumn(b) }

func (addIndexUnit) batchUpdates(*phases.Plan, func(string) bool) []batchUpdate { return nil }
