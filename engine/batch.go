package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/templates"
)

// Batches walk the key in ranges (key > lo AND key <= hi): the upper bound
// comes from the key's index (ORDER BY key LIMIT 1 OFFSET n-1), so each
// batch touches about n rows through the index and the whole table is never
// scanned per batch. Each batch is its own short transaction that also
// moves the checkpoint, so an interrupted run resumes with no row skipped
// and none updated twice. Only the current range's two bounds are held in
// memory, whatever the table's size. A composite key is walked the same
// way in the order of its tuple of values (compositekey.go).

const (
	minBatch     = 10
	maxBatch     = 100_000
	initialBatch = 500
)

// sizer sizes batches to a target duration: it starts small, grows at most
// 1.5x a batch while batches run under the target, and shrinks at once to
// fit when one runs over it by a quarter or more. Between 0.8x and 1.25x it
// holds: a batch's time varies by that much anyway. (With a band up to 2x,
// batches settled anywhere below twice the target, and the p99 with them.)
type sizer struct {
	n      int
	fixed  bool
	target time.Duration
}

func newSizer(opts Options) *sizer {
	if opts.BatchSize > 0 {
		return &sizer{n: opts.BatchSize, fixed: true}
	}
	return &sizer{n: initialBatch, target: opts.BatchTime}
}

func (z *sizer) observe(took time.Duration) {
	if z.fixed || took <= 0 {
		return
	}
	fit := float64(z.n) * float64(z.target) / float64(took)
	switch {
	case took > z.target*5/4:
		z.n = int(fit)
	case took < z.target*4/5:
		z.n = int(min(fit, float64(z.n)*1.5))
	}
	z.n = max(minBatch, min(maxBatch, z.n))
}

// batchJob is one keyset walk over the table that runs an update per range.
type batchJob struct {
	phase  string
	update string // template: fill-batch, copy-batch, clean-batch, clean-duplicates
	data   sqlData
	// fix says what to do about a row the update fails on; empty for the
	// default (fix the rows).
	fix string
	// dups walks the duplicates of the plan's UNIQUE instead of the whole
	// table (dupwalk.go).
	dups bool
	// noneLeft, when set, is told whether such a walk ended on a search of
	// the whole table that found no duplicate: the clean's verification,
	// without one more read of the table.
	noneLeft *bool
	// nulls walks the rows where the column is NULL instead of the whole
	// table (nullwalk.go); filled, when set, is told what its last search
	// proved.
	nulls  bool
	filled *nullProof
	// after, for such a walk, is the phase whose walk ended where the
	// first search starts (the backfill): the rows old code wrote since
	// are mostly past it, and the search from the start that follows is
	// the proof anyway.
	after string
}

// batchRange is one batch: the keys after lo up to hi, rows of them. A walk
// of duplicates gives the keys of its rows and of their groups' first rows.
type batchRange struct {
	lo, hi       any
	rows         int64
	keys, firsts []any
}

// batchSource finds the batches of a walk, one after another.
type batchSource interface {
	// next returns the next batch, of about n rows; false once the walk
	// is over.
	next(ctx context.Context, n int) (batchRange, bool, error)
	// total is how many rows the walk covers, for its progress, when done
	// of them are walked.
	total(done int64) int64
}

// keysetSource walks the whole table in ranges of the key, from the
// phase's checkpoint.
type keysetSource struct {
	s        *Session
	job      batchJob
	st       *phaseState // where the walk is
	estimate int64
	// end, when set, ends the walk at this key (a worker's range,
	// workers.go); nil walks to the table's end.
	end any
}

func (k *keysetSource) next(ctx context.Context, n int) (batchRange, bool, error) {
	s := k.s
	var lo any
	if cp := k.st.Checkpoint; cp != nil {
		lo = s.walkArg(*cp)
	}
	if k.end != nil && lo != nil && !keyBefore(lo, k.end) {
		return batchRange{}, false, nil // the worker's range is walked
	}
	var hi any
	var rows int64
	var more bool
	err := s.retryLocked(ctx, true, func() error {
		var err error
		hi, rows, more, err = s.upperBound(ctx, k.job, lo, n)
		if err == nil && k.end != nil && (!more || !keyBefore(hi, k.end)) {
			// The range's last batch ends at its end, with the rows
			// left in it.
			hi, more = k.end, true
			rows, err = s.rangeCount(ctx, k.job, lo, hi)
		}
		return err
	})
	if err != nil || !more {
		return batchRange{}, false, err
	}
	if lo != nil && keyText(hi) == keyText(lo) {
		return batchRange{}, false, &keyStuckError{phase: k.job.phase, key: s.key, at: s.walkShown(keyText(lo))}
	}
	return batchRange{lo: lo, hi: hi, rows: rows}, true, nil
}

// total is the estimate, corrected as the walk goes when it was low.
func (k *keysetSource) total(done int64) int64 {
	k.estimate = max(k.estimate, done)
	return k.estimate
}

// keyIsInteger reports whether the key is one integer column: a surrogate
// whose new values come after the old ones. A composite key is not, even
// of integers: a new row may land anywhere in the order of its tuple.
func (s *Session) keyIsInteger() bool {
	return !s.composite() && s.colIsInteger(s.key)
}

// keyArg turns a checkpoint back into a value of the key's type (a
// keyTuple for a composite key; nil, a walk from the start, when a
// composite checkpoint is not one of this key's).
func (s *Session) keyArg(text string) any {
	if s.composite() {
		if t := s.tupleArg(text); t != nil {
			return t
		}
		return nil
	}
	if s.keyIsInteger() {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	}
	return text
}

// keyText is how a key value is kept as a checkpoint and shown. It is text
// the database reads back as the key's type (keyArg binds it as text unless
// the key is an integer): a uuid in its canonical form, a time in RFC 3339.
func keyText(v any) string {
	switch t := v.(type) {
	case keyTuple:
		return tupleText(t)
	case []byte:
		return string(t)
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", t[0:4], t[4:6], t[6:8], t[8:10], t[10:16])
	case time.Time:
		return t.Format(time.RFC3339Nano)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// runBatches walks the table from the phase's checkpoint to the end. It
// returns how many rows the walk's updates changed, from its first batch:
// with the rows changed before an interruption that it resumes from (the
// phase's state keeps the count with the checkpoint).
func (s *Session) runBatches(ctx context.Context, job batchJob) (changed int64, err error) {
	st := s.st(job.phase)
	book := s.phaseBook(job.phase)
	if err := s.logBatchStatement(ctx, job); err != nil {
		return 0, err
	}
	var src batchSource
	if job.dups {
		if src, err = s.newDupSource(ctx, job, dupChunk); err != nil {
			if ctx.Err() != nil {
				return 0, s.interrupted(job.phase)
			}
			return 0, fmt.Errorf("%s: %w", job.phase, s.dsn.scrub(err))
		}
	} else if job.nulls {
		if src, err = s.newNullSource(ctx, job, nullChunk); err != nil {
			if ctx.Err() != nil {
				return 0, s.interrupted(job.phase)
			}
			return 0, fmt.Errorf("%s: %w", job.phase, s.dsn.scrub(err))
		}
	} else {
		total, err := s.estimateRows(ctx)
		if err != nil {
			return 0, err
		}
		src = &keysetSource{s: s, job: job, st: st, estimate: total}
	}
	// The total is known before the first batch, which may wait for its
	// locks: say so at once.
	s.emit(Event{Event: EventProgress, Phase: job.phase, RowsDone: int64p(st.RowsDone), RowsTotal: int64p(src.total(st.RowsDone))})
	err = s.walkBatches(ctx, job, src, book, 1, func(e Event) {
		e.RowsDone, e.RowsTotal = int64p(st.RowsDone), int64p(src.total(st.RowsDone))
		s.emit(e)
	})
	if err != nil {
		return st.RowsChanged, err
	}
	if d, ok := src.(*dupSource); ok && job.noneLeft != nil {
		*job.noneLeft = d.clear
	}
	if n, ok := src.(*nullSource); ok && job.filled != nil {
		*job.filled = n.proof()
	}
	return st.RowsChanged, nil
}

// walkBatches runs the batches src finds, moving book, until src has no
// more: between batches it holds for pause, pressure, replicas and
// --max-rate (a share-th of it: the walk is one of share workers'), and
// it reports each batch through progress (an event whose rows done and
// total progress fills in).
func (s *Session) walkBatches(ctx context.Context, job batchJob, src batchSource, book *walkBook, share int, progress func(Event)) error {
	st := book.st
	z := newSizer(s.opts)
	gauge := s.newPressureGauge(ctx, job.phase)
	defer gauge.close()
	maxRate := s.opts.MaxRate / float64(share)
	pace := newPacer(maxRate, time.Now(), st.RowsDone)
	pace.share = float64(share)
	if s.opts.BatchSize > pace.size(s.opts.BatchSize) {
		s.notice(job.phase, "--batch-size %d is over what --max-rate %g allows in one batch (one second of rows): batches of %d rows", s.opts.BatchSize, maxRate, pace.size(s.opts.BatchSize))
	}
	ctl := s.newLiveControl(job.phase, z, pace) // pause, resume and tune (control_live.go)
	lockChecked := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return s.interrupted(job.phase)
		}
		paused, err := ctl.between(ctx, st.RowsDone, st.Checkpoint)
		pace.resumed(time.Now(), paused) // rows per second leave the pause out
		if err != nil {
			return s.interrupted(job.phase)
		}
		// The pressure reading, then the next batch's bound, on the
		// connection the batches use. (Read side by side on two
		// connections they gained nothing measurable, and cost every run
		// a third connection: on PostgreSQL a server process.)
		if gauge != nil {
			if err := gauge.wait(ctx); err != nil {
				return s.interrupted(job.phase)
			}
		}
		asked := time.Now()
		b, more, err := src.next(ctx, pace.size(z.n))
		if err != nil {
			if ctx.Err() != nil {
				return s.interrupted(job.phase)
			}
			if ks := (*keyStuckError)(nil); errors.As(err, &ks) {
				return ks
			}
			if s.d.classify(err).kind == failConnection {
				// retryLocked waited for it through its tries.
				return fmt.Errorf("%s: find the next batch of %s: %w; the connection to the database was lost, and the database stayed unreachable through every try over %s; nothing is wrong with the rows: rerun when it is back, and the run resumes from the checkpoint",
					job.phase, s.plan.Table, s.dsn.scrub(err), time.Since(asked).Round(time.Second))
			}
			return fmt.Errorf("%s: find the next batch of %s: %w", job.phase, s.plan.Table, s.dsn.scrub(err))
		}
		if !more {
			return nil
		}
		// Under --max-rate the batch waits for its rows before it runs.
		if err := pace.wait(ctx, int(b.rows)); err != nil {
			return s.interrupted(job.phase)
		}
		took, err := s.runBatchIn(ctx, job, b, book)
		if err != nil {
			return err
		}
		s.opts.Failpoint(job.phase + ":batch-done")
		// The pool reconnects by itself; the runner lock's session does
		// not. Check it now and then: a lost lock is taken again, or the
		// run stops before another runner's work is disturbed.
		if time.Since(lockChecked) > 2*time.Second {
			if err := book.held(ctx); err != nil {
				return err
			}
			lockChecked = time.Now()
		}
		z.observe(took) // sizes the next batch
		if gap := batchGap(s.d, took); gap > 0 {
			if err := sleep(ctx, gap); err != nil {
				return s.interrupted(job.phase)
			}
		}
		pace.done(time.Now(), st.RowsDone)
		progress(Event{Event: EventProgress, Phase: job.phase, RowsPerSec: pace.rate(), BatchSize: int(b.rows),
			BatchMS: float64(took.Microseconds()) / 1000, Checkpoint: s.checkpointShown(keyText(b.hi))})
	}
}

// logBatchStatement records in shepherd_log, once each time a batched
// phase starts its walk, the statement every batch runs: its text with
// placeholders for the range's bounds, never their values.
func (s *Session) logBatchStatement(ctx context.Context, job batchJob) error {
	data := job.data
	data.HasLo = true
	var text []string
	how := fmt.Sprintf("run once per batch of rows on %s: the range's bounds are bound parameters (the first batch has no lower bound)", s.walkLabel())
	if job.dups {
		search, err := s.sql.Query("duplicate-rows", data)
		if err != nil {
			return err
		}
		text = append(text, search.SQL)
		data = duplicatesShown(data)
		how = fmt.Sprintf("the first statement finds the duplicates past the last one cleaned (up to %d at a time; once the walk reaches the end, it looks again from the start); the second runs once per batch of them: the keys of its rows and of their groups' first rows are bound parameters, one pair per row", dupChunk)
	}

	script, err := s.sql.Script(job.update, data)
	if err != nil {
		return err
	}
	for _, st := range script {
		text = append(text, st.SQL)
	}
	if job.nulls {
		// The batch's statement first, as for any walk; then the search.
		search, err := s.sql.Query("null-keys", data)
		if err != nil {
			return err
		}
		text = append(text, search.SQL)
		how = fmt.Sprintf("the first statement runs once per batch, on %s: the range's bounds are bound parameters, the first and the last of the batch's rows found NULL; the second finds the rows where %s is NULL that the batches fill, first past the backfill's last key, then past the last range filled (up to %d at a time; once the walk reaches the end, it looks again from the start)", s.walkLabel(), job.data.Column, nullChunk)
	}
	if bound, _, _ := s.batchTimeout(); bound > 0 {
		how += fmt.Sprintf("; each batch's statements may run %s before the database cancels them (%s)", bound, timeoutSetting(s.d))
	}
	return s.log(ctx, s.db, job.phase, "sql", strings.Join(text, ";\n"), how)
}

// batchTimeout is the bound of a batch's statements (0 where the server
// cannot bound an UPDATE: MySQL), and how the dialect sets it.
func (s *Session) batchTimeout() (bound time.Duration, setup, prefix string) {
	bound = s.opts.batchBound()
	setup, prefix = batchBound(s.d, bound)
	if setup == "" && prefix == "" {
		bound = 0
	}
	return bound, setup, prefix
}

func (s *Session) interrupted(phase string) error {
	cp := ""
	if st := s.st(phase); st.Checkpoint != nil {
		cp = s.walkAt(*st.Checkpoint)
	}
	return &InterruptedError{Phase: phase, Checkpoint: cp}
}

// upperBound finds the key that ends the next batch of n rows after lo, and
// how many rows the batch covers. more is false when no row is left.
func (s *Session) upperBound(ctx context.Context, job batchJob, lo any, n int) (hi any, rows int64, more bool, err error) {
	data := job.data
	data.HasLo = lo != nil
	vals := map[string]any{"offset": n - 1}
	bindKey(vals, "lo", lo)
	dest, key := s.walkDest()
	err = s.queryRow(ctx, s.db, "upper-bound", data, vals, dest...)
	if err == nil {
		return key(), int64(n), true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, 0, false, err
	}
	// Fewer than n rows are left: the last batch ends at the largest key.
	// A composite key's last-key has no row when none is left.
	var count int64
	err = s.queryRow(ctx, s.db, "last-key", data, vals, append(dest, &count)...)
	if s.composite() && s.rowid == "" && errors.Is(err, sql.ErrNoRows) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	return key(), count, count > 0, nil
}

// runBatch updates one range (or one batch of duplicates) and moves the
// checkpoint, with the count of rows changed, in one transaction. A lock
// timeout rolls the batch back and retries it; any other error stops with
// the range named and the checkpoint where it was.
func (s *Session) runBatch(ctx context.Context, job batchJob, b batchRange) (time.Duration, error) {
	return s.runBatchIn(ctx, job, b, s.phaseBook(job.phase))
}

// runBatchIn is runBatch for a walk that keeps its position in book.
func (s *Session) runBatchIn(ctx context.Context, job batchJob, b batchRange, book *walkBook) (time.Duration, error) {
	lo, hi, rows := b.lo, b.hi, b.rows
	data := job.data
	data.HasLo = lo != nil
	vals := map[string]any{}
	bindKey(vals, "lo", lo)
	bindKey(vals, "hi", hi)
	if job.dups {
		bindDuplicates(&data, vals, b.keys, b.firsts)
	}
	script, err := s.sql.Script(job.update, data)
	if err != nil {
		return 0, err
	}
	// The last statement is the batch's update; any before it prepare it.
	var args [][]any
	for _, step := range script {
		a, err := step.Args(vals)
		if err != nil {
			return 0, err
		}
		args = append(args, a)
	}
	st := book.st
	label := s.walkLabel()
	rangeText := fmt.Sprintf("%s <= %s", label, s.walkShown(keyText(hi)))
	if lo != nil {
		rangeText = fmt.Sprintf("%s > %s AND %s", label, s.walkShown(keyText(lo)), rangeText)
	}
	// The batch's statements run under shepherd's bound for a batch,
	// whatever the database sets (timeout.go).
	bound, setup, prefix := s.batchTimeout()
	var start time.Time
	prevCP, prevRows, prevTook, prevChanged := st.Checkpoint, st.RowsDone, st.TookEffect, st.RowsChanged
	// once is one try of the batch's transaction.
	once := func() error {
		// The batch's time is from BEGIN to COMMIT, while it holds its
		// locks; waiting to begin (SQLite's write lock) is not the batch.
		var changed int64
		txOpts := batchTx(s.d)
		if s.batchTxDefault {
			txOpts = nil
		}
		err := s.inTxWith(ctx, txOpts, func(tx *sql.Tx) error {
			start = time.Now()
			if s.watchBatch != nil {
				s.watchBatch(ctx, tx, "begin", script, args)
			}
			if setup != "" {
				if _, err := tx.ExecContext(ctx, setup); err != nil {
					return err
				}
			}
			for i, step := range script {
				res, err := tx.ExecContext(ctx, prefix+step.SQL, args[i]...)
				if err != nil {
					return s.cancelled(stmtBatch, bound, err)
				}
				if step.Mode != templates.ConnOp { // a connection setting changes no row
					changed, _ = res.RowsAffected()
				}
			}
			if s.watchBatch != nil {
				s.watchBatch(ctx, tx, "end", script, args)
			}
			st.Checkpoint, st.RowsDone = ptr(keyText(hi)), st.RowsDone+rows
			st.RowsChanged += changed
			// Rows it changed put the phase in force, recorded with them.
			st.TookEffect = st.TookEffect || changed > 0
			if err := book.save(ctx, tx, st); err != nil {
				return err
			}
			s.opts.Failpoint(job.phase + ":batch-commit")
			return nil
		})
		if err == nil {
			if changed > 0 {
				book.changed()
			}
			return nil
		}
		st.Checkpoint, st.RowsDone, st.TookEffect, st.RowsChanged = prevCP, prevRows, prevTook, prevChanged
		return err
	}
	// committed is a retry's finding that the batch had committed before
	// its connection was lost.
	committed := errors.New("the batch had committed")
	var lockErr error // the runner lock's check before a retry failed
	r := &retrier{first: 50 * time.Millisecond, connFirst: 500 * time.Millisecond, jitter: 0.5, lockTries: maxLockRetries, connTries: maxLockRetries}
	err = r.run(ctx, func(err error) failureKind { return s.d.classify(err).kind }, func() error {
		err := once()
		if f := s.d.classify(err); err != nil && f.kind == failIsolationRefused && !s.batchTxDefault {
			s.batchTxDefault = true
			s.notice(job.phase, "%s: they run at its default isolation, where they lock more of the table", f.reason)
			err = once()
		}
		return err
	}, func(kind failureKind) error {
		if kind != failConnection {
			return nil
		}
		if err := book.held(ctx); err != nil {
			lockErr = err
			return err
		}
		// A commit whose acknowledgement was lost moved the checkpoint
		// with it: then the batch is done, and is not run again (a clean:
		// expression that does not fix a row would be applied twice).
		if done, rowsDone, rowsChanged, err := book.recorded(ctx, keyText(hi)); err == nil && done {
			st.Checkpoint, st.RowsDone, st.RowsChanged = ptr(keyText(hi)), rowsDone, rowsChanged
			if rowsChanged > prevChanged {
				st.TookEffect = true
				book.changed()
			}
			s.notice(job.phase, "batch %s had committed before the connection was lost (the checkpoint is at its end): going on after it", rangeText)
			return committed
		}
		return nil
	}, func(_ error, wait time.Duration) {
		why := "waited too long for a lock"
		if r.kind == failConnection {
			// The commit may have gone through with its acknowledgement
			// lost: running the range again is harmless, as each batch
			// statement changes only rows that still need it, and the
			// checkpoint is written, not moved by an increment.
			why = "lost its connection (it may have been rolled back, or committed unacknowledged: the recorded checkpoint decides); reconnecting"
		}
		s.notice(job.phase, "batch %s %s; retry %d in %s", rangeText, why, r.attempts, wait.Round(time.Millisecond))
	})
	switch {
	case err == nil:
		return time.Since(start), nil
	case errors.Is(err, committed):
		return 0, nil
	case lockErr != nil, errors.As(err, new(*LockLostError)):
		return 0, err // the batch rolled back with its checkpoint
	case ctx.Err() != nil:
		return 0, s.interrupted(job.phase)
	}
	cp := ""
	if prevCP != nil {
		cp = s.walkAt(*prevCP)
	}
	be := &BatchError{Phase: job.phase, Range: rangeText, Checkpoint: cp, Err: s.dsn.scrub(err), Fix: job.fix}
	// What happened, when it was not a row of the batch: nothing is wrong
	// with the rows then, and a rerun resumes.
	f := s.d.classify(err)
	switch f.kind {
	case failDiskFull:
		be.Fix = "the database's disk is full: make room, then rerun to resume"
	case failLockTimeout:
		be.Fix = fmt.Sprintf("other sessions held rows of the batch locked through %d tries over %s; nothing is wrong with the rows: rerun when the application holds them less long, and the run resumes from the checkpoint",
			r.attempts, time.Since(r.troubled).Round(time.Second))
	case failConnection:
		be.Fix = fmt.Sprintf("the connection to the database was lost, and the database stayed unreachable through %d tries over %s; nothing is wrong with the rows: rerun when it is back, and the run resumes from the checkpoint",
			r.attempts, time.Since(r.troubled).Round(time.Second))
	case failCancelled:
		be.Fix = s.batchCancelledFix(f.cancel, rows)
	}
	return 0, be
}
