package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-db/shepherd/phases"
)

// Building and checking add-index's index: the build runs the dialect's
// create-index script (its least-locking form, each step skipped when its
// applied probe says it took effect, so a rerun after a crash goes on), and
// while it runs a watcher reads how far the database has got, where the
// database tells (index-progress), as progress events.

// phaseCreateIndex builds the plan's index and records create-index done
// once the index is there, valid and ready.
func (s *Session) phaseCreateIndex(ctx context.Context, b builder) error {
	script, err := b.createIndex()
	if err != nil {
		return err
	}
	stop := s.watchIndexBuild(ctx, b)
	err = s.runScript(ctx, createIndexPhase, script, s.finishIn(createIndexPhase, s.verifyIndex(b, createIndexPhase)))
	stop()
	return err
}

// indexBuildPoll is how often the watcher reads the build's progress.
const indexBuildPoll = 500 * time.Millisecond

// watchIndexBuild reads the build's progress until the returned stop is
// called, and emits it (s.emit serializes it with the build's own events,
// which come from the caller's goroutine).
func (s *Session) watchIndexBuild(ctx context.Context, b builder) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d := b.indexData()
		var last int64 = -1
		// The rate is measured within one stage of the build (its units
		// change from stage to stage), for an ETA.
		var stage string
		var stageFrom int64
		var stageAt time.Time
		for sleep(ctx, indexBuildPoll) == nil {
			var phase string
			var blocksDone, blocksTotal, tuplesDone, tuplesTotal int64
			err := s.queryRow(ctx, s.db, "index-progress", d, nil, &phase, &blocksDone, &blocksTotal, &tuplesDone, &tuplesTotal)
			if err != nil {
				continue // no build under way (yet, or any more), or no report: nothing to show
			}
			done, total := tuplesDone, tuplesTotal
			if blocksTotal > 0 {
				done, total = blocksDone, blocksTotal
			}
			if total <= 0 || done == last {
				continue
			}
			last = done
			if phase != stage || done < stageFrom {
				stage, stageFrom, stageAt = phase, done, time.Now()
			}
			var rate float64
			if secs := time.Since(stageAt).Seconds(); secs > 0 && done > stageFrom {
				rate = float64(done-stageFrom) / secs
			}
			msg := d.Name
			if phase != "" {
				msg += ": " + phase
			}
			s.emit(Event{Event: EventProgress, Phase: createIndexPhase, Message: msg, RowsDone: int64p(done), RowsTotal: int64p(total), RowsPerSec: rate})
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// indexState is the plan's index as the catalog holds it.
type indexState struct {
	valid, ready bool
	method       string
	partial      bool
	columns      string // key columns, comma-separated; "" for an expression
}

// readIndex reads the plan's index from the catalog; ok is false when there
// is no index of its name on the table.
func (s *Session) readIndex(ctx context.Context, q querier, b builder) (st indexState, ok bool, err error) {
	var valid, ready, partial int64
	var method, cols sql.NullString
	err = s.queryRow(ctx, q, "index-state", b.indexData(), nil, &valid, &ready, &method, &partial, &cols)
	if err == sql.ErrNoRows {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("read index %s of %s: %w", b.plan.IndexName(), s.plan.Table, err)
	}
	return indexState{valid: valid != 0, ready: ready != 0, method: method.String, partial: partial != 0, columns: cols.String}, true, nil
}

// indexPresent reports whether an index of the plan's name is on the table,
// valid or not.
func (s *Session) indexPresent(ctx context.Context, q querier, b builder) (bool, error) {
	_, ok, err := s.readIndex(ctx, q, b)
	return ok, err
}

// verifyIndex checks that the index is there, is the plan's (its columns,
// its method, a predicate where the plan gives one) and is valid and ready:
// an INVALID index, which a failed or killed concurrent build leaves, is
// never taken as done.
func (s *Session) verifyIndex(b builder, phase string) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		ix := s.plan.AddIndex.Index
		st, ok, err := s.readIndex(ctx, q, b)
		if err != nil {
			return "", err
		}
		fail := func(what, hint string) (string, error) {
			return "", &VerifyError{Phase: phase, What: what, Hint: hint}
		}
		switch {
		case !ok:
			return fail(fmt.Sprintf("%s has no index %s", s.plan.Table, ix.Name), "it was dropped, or never built: rerun to build it")
		case !st.valid || !st.ready:
			return fail(fmt.Sprintf("index %s is INVALID (a concurrent build that failed or was stopped left it)", ix.Name),
				"rerun: create-index drops it and builds it again")
		case !sameOrder(strings.Split(st.columns, ","), ix.Columns):
			return fail(fmt.Sprintf("index %s is on (%s), not on the plan's (%s)", ix.Name, st.columns, strings.Join(ix.Columns, ", ")),
				"an index of that name that is not the plan's was there: drop it, or give the plan another name")
		case st.partial != (b.indexData().Where != ""):
			return fail(fmt.Sprintf("index %s has %s, the plan's %s", ix.Name, predicateWord(st.partial), predicateWord(!st.partial)), "drop it, or give the plan another name")
		}
		want := ix.Using
		if want == "" {
			want = "btree"
		}
		if st.method != "" && !strings.EqualFold(st.method, want) {
			return fail(fmt.Sprintf("index %s is a %s index, the plan's is %s", ix.Name, st.method, want), "drop it, or give the plan another name")
		}
		return fmt.Sprintf("%s is valid and ready, on (%s)", ix.Name, strings.Join(ix.Columns, ", ")), nil
	}
}

func predicateWord(partial bool) string {
	if partial {
		return "a WHERE"
	}
	return "no WHERE"
}

// revertCreateIndex drops the plan's index (an INVALID one left by a failed
// build too) and records create-index rolled back.
func (s *Session) revertCreateIndex(ctx context.Context, b builder) error {
	present, err := s.indexPresent(ctx, s.db, b)
	if err != nil {
		return err
	}
	name := s.plan.AddIndex.Index.Name
	// A partitioned table's run that did not finish may have left
	// partitions' indexes without the parent's: the drop script finds them.
	if !present && !b.seen.partitioned() {
		return s.moveNow(ctx, createIndexPhase, phases.Revert, name+" was not there: nothing to drop")
	}
	script, err := b.dropIndex()
	if err != nil {
		return err
	}
	return s.runScript(ctx, createIndexPhase, script, func(ctx context.Context, q querier) error {
		if present, err := s.indexPresent(ctx, q, b); err != nil {
			return err
		} else if present {
			return &VerifyError{Phase: createIndexPhase, What: name + " should be gone"}
		}
		return s.move(ctx, q, createIndexPhase, phases.Revert, name+" dropped")
	})
}
