package engine

import (
	"context"
	"fmt"
)

// switch-writes' catch-up walks the rows still NULL, not the table. After
// the backfill, the rows left to fill are the few that old code wrote
// since; a keyset walk of the whole table found them at the cost of a
// probe of the key's index per batch, which fetches every row's page once
// the fill has left the pages not all-visible (a fifth of the playbook,
// filling nothing). Here one read of the table (the template null-keys)
// lists the rows where the column is NULL past the cursor, in key order,
// at most nullChunk at a time; each batch fills the range from the next of
// them to the n-th with the usual fill-batch statement (its lower bound
// inclusive: FromLo), which fills any row of the range still NULL, so a
// row that turned NULL since the search is filled too. When the search
// finds none, the catch-up is that one read.
//
// A fresh catch-up's first search starts past the end of the backfill's
// walk (batchJob.after), where old code's inserts are, and the walk then
// looks from the start: the table is read once in full, not twice.
//
// The checkpoint is the end of the last range filled, as for a keyset
// walk: a rerun looks past it. Once the walk has reached the end it looks
// again from the start (rows committed behind it: an id taken before a
// slow insert committed, a key that does not increase), at most
// nullRescans times. A look from the start that finds no row to fill is
// switch-writes' verification (verifyFilled): see nullSource.proof.

const (
	// nullChunk bounds the keys held in memory: one search finds up to
	// this many.
	nullChunk = 100_000
	// nullRescans bounds the looks from the start once the walk has
	// reached the end: old code that still writes NULLs would have them
	// found again at every look; verifyFilled names them.
	nullRescans = 2
)

// nullSource is the walk of the rows switch-writes' catch-up fills.
type nullSource struct {
	s   *Session
	job batchJob
	// cursor is the end of the last range walked (nil: before the first),
	// where the next search starts.
	cursor any
	// keys are the rows to fill found past the cursor, in key order; pos
	// is the next to walk.
	keys []any
	pos  int
	// full is set when the last search found as many as it may hold:
	// more may follow its last.
	full bool
	// clear is set when a search from the table's first key to its end
	// found no row to fill.
	clear bool
	// stay is how many rows the last search found NULL whose expression
	// gives NULL too: the fill leaves them, and they are not walked.
	stay    int64
	rescans int
	chunk   int
}

// newNullSource finds the first rows to fill past the phase's checkpoint.
func (s *Session) newNullSource(ctx context.Context, job batchJob, chunk int) (*nullSource, error) {
	n := &nullSource{s: s, job: job, chunk: chunk}
	if cp := s.st(job.phase).Checkpoint; cp != nil {
		n.cursor = s.walkArg(*cp)
	} else if cp := s.st(job.after).Checkpoint; job.after != "" && cp != nil {
		// A fresh catch-up looks first past where the backfill's walk
		// ended, where old code's inserts since are (a read of those rows
		// only), and then from the start, which it must do once anyway:
		// one read of the whole table instead of two. That first look
		// from the start is not one of the rescans.
		n.cursor = s.walkArg(*cp)
		n.rescans = -1
	}
	return n, n.search(ctx)
}

func (w *nullSource) next(ctx context.Context, n int) (batchRange, bool, error) {
	for w.pos == len(w.keys) {
		if !w.full {
			// The last search reached the table's end.
			if w.clear || w.rescans == nullRescans {
				return batchRange{}, false, nil
			}
			w.rescans++
			w.cursor = nil
		}
		if err := w.search(ctx); err != nil {
			return batchRange{}, false, err
		}
	}
	n = min(n, len(w.keys)-w.pos)
	// The batch runs from its first row found to its last (FromLo): the
	// rows between the cursor and the first were not NULL when searched,
	// and a range from the cursor would read them all again (after a
	// search from the start, the whole table up to the first NULL row,
	// which old code's inserts put at the end). A row that turned NULL in
	// such a gap since is found by the next search from the start.
	b := batchRange{lo: w.keys[w.pos], hi: w.keys[w.pos+n-1], rows: int64(n)}
	w.pos += n
	w.cursor = b.hi
	return b, true, nil
}

// total is the rows walked and those found ahead, not yet walked.
func (w *nullSource) total(done int64) int64 {
	return done + int64(len(w.keys)-w.pos)
}

// proof says whether the walk's last search proves switch-writes'
// verification: it read the whole table, from its first key to its end,
// after the last batch committed, and found no row the fill could fill;
// stay rows were NULL there with an expression that gives NULL. That is
// what a count of the NULL rows at the same moment would say. A row that
// code not writing the column commits after the search is not in it; nor
// is it in a count made after the walk, for a row committed after the
// count: either is a look at one moment, once writes are switched, and
// enforce's constraint is what holds for every row after.
func (w *nullSource) proof() nullProof {
	return nullProof{ok: w.clear, stay: w.stay}
}

// nullProof is what a catch-up's walk proved (nullSource.proof): ok when
// its last search read the whole table after the last batch and found no
// row to fill, and then stay rows NULL that the expression leaves NULL.
type nullProof struct {
	ok   bool
	stay int64
}

// search finds the next rows to fill past the cursor. A chunk that holds
// only rows the fill leaves moves the cursor past them and looks on.
func (w *nullSource) search(ctx context.Context) error {
	s := w.s
	fromStart := w.cursor == nil
	w.stay = 0
	for {
		data := w.job.data
		data.HasLo = w.cursor != nil
		vals := map[string]any{"limit": w.chunk}
		bindKey(vals, "lo", w.cursor)
		if s.watchBatch != nil {
			at := "search"
			if data.HasLo {
				at = "search-past"
			}
			s.watchBatch(ctx, nil, at, nil, nil)
		}
		var keys []any
		var stay int64
		var last any
		found := 0
		err := s.retryLocked(ctx, true, func() error {
			keys, stay, last, found = nil, 0, nil, 0
			rows, err := s.query(ctx, s.db, "null-keys", data, vals)
			if err != nil {
				return err
			}
			defer rows.Close()
			dest, key := s.walkDest()
			var leaves int64
			dest = append(dest, &leaves)
			for rows.Next() {
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				k := ownKey(key())
				found++
				last = k
				if leaves != 0 {
					stay++
					continue
				}
				keys = append(keys, k)
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("search %s for the rows where %s is NULL: %w", s.plan.Table, s.plan.AddColumn.Column, err)
		}
		w.stay += stay
		w.keys, w.pos = keys, 0
		w.full = found == w.chunk
		if w.full && len(keys) == 0 {
			// Only rows the fill leaves: look on past them.
			w.cursor = last
			continue
		}
		// The proof is one look from the start, with no batch in it.
		w.clear = fromStart && !w.full && len(keys) == 0
		return nil
	}
}
