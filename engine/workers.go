package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// A backfill's walk split among workers (--workers N): the rows after
// the checkpoint, cut into N contiguous ranges of the key of about as many
// rows each (rowBounds), each walked by its own connection with its own
// sizer, pacing (--max-rate shared out) and holds (pause, pressure,
// replicas). The last range has no end: rows inserted past the split are
// walked too. Only a key of one integer column is split; SQLite has one
// writer at a time, and walks with one.
//
// Each worker keeps its range and checkpoint in a row of shepherd_walk,
// moved in its batch's transaction as a lone walk moves the phase's state:
// workers never write the same row, so none waits for another's commit,
// and a kill -9 leaves each at its last committed batch. A rerun that
// resumes the phase resumes the workers' rows (as many as were split,
// whatever --workers says now); when all are walked, one transaction puts
// the phase's checkpoint at the last range's end, with the rows of all,
// and deletes the rows, so that what follows (the verification, the walk
// again behind) reads the phase's state as after a lone walk.

// WorkersAuto asks for a split walk's workers to be chosen from the server
// (the "default-workers" template): PostgreSQL's
// max_parallel_workers_per_gather, half of MariaDB's CPUs, one on MySQL.
const WorkersAuto = -1

// maxWorkers bounds a walk's workers: each holds a connection and adds
// its share of the server's load. maxAutoWorkers bounds the server's
// choice (WorkersAuto, --workers 0): more is the operator's to ask for.
const (
	maxWorkers     = 8
	maxAutoWorkers = 4
)

// walkBook is where a walk keeps its position and counts: the phase's
// state row, or a worker's row of a split walk. A batch moves it in its
// own transaction.
type walkBook struct {
	st *phaseState
	// save records st in the batch's transaction.
	save func(ctx context.Context, q querier, st *phaseState) error
	// recorded reads back whether the recorded checkpoint is cp, with the
	// rows done and changed it records (a commit whose acknowledgement was
	// lost).
	recorded func(ctx context.Context, cp string) (done bool, rows, changed int64, err error)
	// changed is told that a batch changed rows.
	changed func()
	// held checks the runner lock.
	held func(ctx context.Context) error
}

// phaseBook is the walk of a phase that keeps its position in its state.
func (s *Session) phaseBook(phase string) *walkBook {
	return &walkBook{
		st:   s.st(phase),
		save: s.save,
		recorded: func(ctx context.Context, cp string) (bool, int64, int64, error) {
			return s.checkpointIs(ctx, phase, cp)
		},
		changed: func() { s.markChanged(phase) },
		held:    s.lock.held,
	}
}

// keyBefore reports whether the integer key value a comes before b.
func keyBefore(a, b any) bool {
	x, errA := strconv.ParseInt(keyText(a), 10, 64)
	y, errB := strconv.ParseInt(keyText(b), 10, 64)
	return errA == nil && errB == nil && x < y
}

// rangeCount counts the rows of the range after lo up to hi.
func (s *Session) rangeCount(ctx context.Context, job batchJob, lo, hi any) (int64, error) {
	data := job.data
	data.HasLo = lo != nil
	vals := map[string]any{}
	bindKey(vals, "lo", lo)
	bindKey(vals, "hi", hi)
	var n int64
	err := s.queryRow(ctx, s.db, "range-count", data, vals, &n)
	return n, err
}

// walkWorkers is how many workers a fresh walk of phase gets: one unless
// asked for more, where the walk can be split.
func (s *Session) walkWorkers(ctx context.Context, phase string) int {
	want := s.opts.Workers
	if want == 0 || want == 1 {
		return 1
	}
	why := ""
	switch {
	case !s.sql.Has("walk-ddl"):
		why = "SQLite has one writer at a time"
	case !s.keyIsInteger() || s.rowid != "":
		why = fmt.Sprintf("the key %s is not one integer column, whose values give the ranges", s.key)
	}
	if why != "" {
		if want > 1 {
			s.notice(phase, "--workers %d: %s; the walk runs with one worker", want, why)
		}
		return 1
	}
	if want < 0 {
		var n sql.NullInt64
		if err := s.queryRow(ctx, s.db, "default-workers", nil, nil, &n); err != nil || !n.Valid {
			return 1 // MySQL has no such variable: one, as before
		}
		want = min(maxAutoWorkers, int(n.Int64))
	}
	return max(1, min(maxWorkers, want))
}

// walkWorker is one worker's range (after lo, up to hi; nil: from the
// start, to the end) and its progress.
type walkWorker struct {
	n      int
	lo, hi *string
	st     phaseState // its own goroutine's while it walks
	// shown is its rows done as last reported, under the walk's mutex.
	shown int64
}

// fillSplit runs a backfill's walk split among workers, from the workers'
// rows when the phase resumes (resuming) and they are there, or split
// afresh into workers ranges. ok is false when the walk is not split (one
// worker, or a table too small): the caller walks it alone.
func (s *Session) fillSplit(ctx context.Context, job batchJob, resuming bool, workers int) (changed int64, ok bool, err error) {
	var ws []*walkWorker
	if resuming {
		if ws, err = s.loadWorkers(ctx, job.phase); err != nil {
			return 0, false, err
		}
	} else if err := s.dropWorkers(ctx, job.phase); err != nil {
		return 0, false, err
	}
	if len(ws) == 0 {
		if workers < 2 {
			return 0, false, nil
		}
		if ws, err = s.splitWalk(ctx, job, workers); err != nil || len(ws) < 2 {
			return 0, false, err
		}
	} else {
		s.notice(job.phase, "resuming the walk split among %d workers", len(ws))
	}
	if err := s.logBatchStatement(ctx, job); err != nil {
		return 0, true, err
	}
	return s.walkSplit(ctx, job, ws)
}

// dropWorkers forgets a split walk of the phase, where one was recorded.
func (s *Session) dropWorkers(ctx context.Context, phase string) error {
	var n int64
	if err := s.queryRow(ctx, s.db, "walk-exists", nil, nil, &n); err != nil || n == 0 {
		return s.dsn.scrub(err)
	}
	_, err := s.exec(ctx, s.db, "walk-delete", nil, map[string]any{"plan": s.plan.Name, "phase": phase})
	return err
}

// loadWorkers reads the workers' rows of a split walk of the phase.
func (s *Session) loadWorkers(ctx context.Context, phase string) ([]*walkWorker, error) {
	var n int64
	if err := s.queryRow(ctx, s.db, "walk-exists", nil, nil, &n); err != nil || n == 0 {
		return nil, s.dsn.scrub(err)
	}
	rows, err := s.query(ctx, s.db, "walk-load", nil, map[string]any{"plan": s.plan.Name, "phase": phase})
	if err != nil {
		return nil, fmt.Errorf("%s: read the workers' checkpoints: %w", phase, err)
	}
	defer rows.Close()
	var ws []*walkWorker
	for rows.Next() {
		w := &walkWorker{}
		var lo, hi, cp sql.NullString
		if err := rows.Scan(&w.n, &lo, &hi, &cp, &w.st.RowsDone, &w.st.RowsChanged); err != nil {
			return nil, fmt.Errorf("%s: read the workers' checkpoints: %w", phase, s.dsn.scrub(err))
		}
		w.lo, w.hi, w.st.Checkpoint = nullText(lo), nullText(hi), nullText(cp)
		w.st.ID = phase
		ws = append(ws, w)
	}
	return ws, s.dsn.scrub(rows.Err())
}

func nullText(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// splitWalk cuts the rows after the phase's checkpoint into workers
// contiguous ranges of the key of about as many rows each, and records
// them; fewer where there are fewer rows than workers.
func (s *Session) splitWalk(ctx context.Context, job batchJob, workers int) ([]*walkWorker, error) {
	st := s.st(job.phase)
	var lo any
	if st.Checkpoint != nil {
		lo = s.walkArg(*st.Checkpoint)
	}
	bounds, err := s.rowBounds(ctx, job, lo, workers)
	if err != nil || len(bounds) == 0 {
		return nil, err
	}
	ws := make([]*walkWorker, len(bounds)+1)
	for i := range ws {
		w := &walkWorker{n: i}
		w.st.ID = job.phase
		if i == 0 {
			w.lo = st.Checkpoint
		} else {
			w.lo = ptr(bounds[i-1])
		}
		if i < len(bounds) {
			w.hi = ptr(bounds[i])
		}
		w.st.Checkpoint = w.lo
		ws[i] = w
	}
	if _, err := s.exec(ctx, s.db, "walk-ddl", nil, nil); err != nil {
		return nil, fmt.Errorf("%s: create shepherd_walk, where a split walk keeps its workers' checkpoints: %w", job.phase, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "walk-delete", nil, map[string]any{"plan": s.plan.Name, "phase": job.phase}); err != nil {
			return err
		}
		for _, w := range ws {
			if _, err := s.exec(ctx, tx, "walk-insert", nil, map[string]any{"plan": s.plan.Name, "phase": job.phase, "worker": w.n, "lo": textOrNil(w.lo), "hi": textOrNil(w.hi)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: record the workers' ranges: %w", job.phase, err)
	}
	var ranges []string
	for _, w := range ws {
		ranges = append(ranges, s.workerRange(w))
	}
	s.notice(job.phase, "the walk is split among %d workers, each on its own connection, by the key's index into ranges of about as many rows: %s", len(ws), strings.Join(ranges, "; "))
	return ws, nil
}

// rowBounds finds the keys that cut the rows after lo into workers ranges
// of about as many rows each (the rows estimated, less those the walk has
// done), each key the per-th after the last, read from the key's index as
// a batch's end is (upper-bound). A split by the key's values instead
// would give one worker nearly every row where the values are spread
// unevenly: a table whose rows are ids 1 to a million and a few rows
// past a billion would be cut at half a billion. No key is found where
// fewer than workers rows are left.
func (s *Session) rowBounds(ctx context.Context, job batchJob, lo any, workers int) ([]string, error) {
	total, err := s.estimateRows(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: split the walk: %w", job.phase, err)
	}
	per := (total - s.st(job.phase).RowsDone) / int64(workers)
	if per < 1 {
		return nil, nil
	}
	var bounds []string
	for at := lo; len(bounds) < workers-1; {
		hi, rows, more, err := s.upperBound(ctx, job, at, int(per))
		if err != nil {
			return nil, fmt.Errorf("%s: find where to split the walk: %w", job.phase, s.dsn.scrub(err))
		}
		if more && rows < per && len(bounds) == 0 && rows >= int64(workers) {
			// The estimate was high (MySQL's is InnoDB's guess): the
			// probe counted the rows left, which give the share.
			per = rows / int64(workers)
			continue
		}
		if !more || rows < per {
			break // the rest is the last worker's
		}
		bounds = append(bounds, keyText(hi))
		at = hi
	}
	return bounds, nil
}

func textOrNil(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// workerRange is a worker's range for people.
func (s *Session) workerRange(w *walkWorker) string {
	switch {
	case w.lo == nil && w.hi == nil:
		return s.key + " all"
	case w.lo == nil:
		return fmt.Sprintf("%s <= %s", s.key, *w.hi)
	case w.hi == nil:
		return fmt.Sprintf("%s > %s", s.key, *w.lo)
	}
	return fmt.Sprintf("%s > %s AND %s <= %s", s.key, *w.lo, s.key, *w.hi)
}

// walkSplit runs the workers to the ends of their ranges, then records
// the phase's walk as done in one transaction. The first worker to fail
// stops the others; each keeps its checkpoint.
func (s *Session) walkSplit(ctx context.Context, job batchJob, ws []*walkWorker) (int64, bool, error) {
	st := s.st(job.phase)
	baseDone, baseChanged := st.RowsDone, st.RowsChanged
	total, err := s.estimateRows(ctx)
	if err != nil {
		return st.RowsChanged, true, err
	}
	var mu sync.Mutex // the workers' progress, the runner lock's checks, s.changed
	sum := func() (done, changed int64) {
		done, changed = baseDone, baseChanged
		for _, w := range ws {
			done, changed = done+w.st.RowsDone, changed+w.st.RowsChanged
		}
		return done, changed
	}
	// Each worker reports its own rows; the event says the sum.
	progress := func(w *walkWorker) func(Event) {
		return func(e Event) {
			mine := w.st.RowsDone // read in w's own goroutine
			mu.Lock()
			w.shown = mine
			done := baseDone
			for _, o := range ws {
				done += o.shown
			}
			total = max(total, done)
			e.RowsDone, e.RowsTotal = int64p(done), int64p(total)
			mu.Unlock()
			s.emit(e)
		}
	}
	for _, w := range ws {
		w.shown = w.st.RowsDone
	}
	done0, _ := sum()
	s.emit(Event{Event: EventProgress, Phase: job.phase, RowsDone: int64p(done0), RowsTotal: int64p(max(total, done0))})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		book := s.workerBook(job.phase, w, &mu)
		src := &keysetSource{s: s, job: job, st: &w.st, estimate: total}
		if w.hi != nil {
			src.end = s.walkArg(*w.hi)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.walkBatches(wctx, job, src, book, len(ws), progress(w)); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := s.splitError(ctx, job.phase, ws, errs); err != nil {
		return st.RowsChanged, true, err
	}
	done, changed := sum()
	prev := *st
	st.Checkpoint, st.RowsDone, st.RowsChanged = ws[len(ws)-1].st.Checkpoint, done, changed
	st.TookEffect = st.TookEffect || changed > baseChanged
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.save(ctx, tx, st); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, "walk-delete", nil, map[string]any{"plan": s.plan.Name, "phase": job.phase})
		return err
	})
	if err != nil {
		*st = prev
		return st.RowsChanged, true, fmt.Errorf("%s: record the end of the split walk: %w", job.phase, err)
	}
	return st.RowsChanged, true, nil
}

// splitError is the error a split walk stops with: a batch's or a lost
// lock's first; an interruption names each worker's checkpoint.
func (s *Session) splitError(ctx context.Context, phase string, ws []*walkWorker, errs []error) error {
	var first error
	for _, err := range errs {
		var ie *InterruptedError
		if err != nil && !errors.As(err, &ie) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	if first == nil && ctx.Err() == nil {
		return nil
	}
	var at []string
	for _, w := range ws {
		cp := "its start"
		if w.st.Checkpoint != nil {
			cp = s.walkAt(*w.st.Checkpoint)
		}
		at = append(at, fmt.Sprintf("worker %d (%s) at %s", w.n+1, s.workerRange(w), cp))
	}
	return &InterruptedError{Phase: phase, Checkpoint: strings.Join(at, ", ")}
}

// workerBook keeps a worker's walk in its row of shepherd_walk.
func (s *Session) workerBook(phase string, w *walkWorker, mu *sync.Mutex) *walkBook {
	key := map[string]any{"plan": s.plan.Name, "phase": phase, "worker": w.n}
	return &walkBook{
		st: &w.st,
		save: func(ctx context.Context, q querier, st *phaseState) error {
			vals := map[string]any{"checkpoint": textOrNil(st.Checkpoint), "rows_done": st.RowsDone, "rows_changed": st.RowsChanged}
			for k, v := range key {
				vals[k] = v
			}
			res, err := s.exec(ctx, q, "walk-save", nil, vals)
			if err != nil {
				return fmt.Errorf("record worker %d's checkpoint: %w", w.n+1, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				return fmt.Errorf("record worker %d's checkpoint: shepherd_walk has no row for plan %s, phase %s, worker %d: it was changed outside shepherd; rerun to walk again", w.n+1, s.plan.Name, phase, w.n)
			}
			return nil
		},
		recorded: func(ctx context.Context, cp string) (bool, int64, int64, error) {
			var got sql.NullString
			var rows, changed int64
			if err := s.queryRow(ctx, s.db, "walk-get", nil, key, &got, &rows, &changed); err != nil {
				return false, 0, 0, err
			}
			return got.Valid && got.String == cp, rows, changed, nil
		},
		changed: func() {
			mu.Lock()
			defer mu.Unlock()
			s.markChanged(phase)
		},
		held: func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return s.lock.held(ctx)
		},
	}
}
