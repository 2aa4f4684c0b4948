package engine

import (
	"context"
	"fmt"
	"strconv"
)

// A UNIQUE clean walks the duplicates, not the table. Which row of a group
// of equal values keeps them is the rule of the violates condition: the one
// with the smallest key; the others are the duplicates. Found from inside
// each batch (a correlated EXISTS, MySQL's GROUP BY of the whole table),
// they cost a pass over the table per batch, and batches shrank to a few
// rows that each held their locks for seconds. Here one sort of the table
// (the template duplicate-rows: a window over the constraint's columns)
// lists them in key order, with the key of their group's first row, at most
// dupChunk at a time; each batch cleans the next ones by their keys, in the
// same statement checking that the group's first row still has the row's
// values (a lookup by key): a row the application changed since, or whose
// first row it changed, is left to the next look.
//
// The checkpoint is the last key cleaned, as for a keyset walk: a rerun
// looks for duplicates past it. Once the walk has reached the end it looks
// again from the start, which finds what became a duplicate while it walked
// (rows written ahead of it or behind it, groups whose first row changed),
// at most dupRescans times. A look that finds none is the clean's
// verification (batchJob.noneLeft); what is still there after the last is
// the verification's to count, as before.

const (
	// dupChunk bounds the duplicates held in memory (two keys each): one
	// sort of the table finds up to this many.
	dupChunk = 100_000
	// dupBatchMax bounds a batch of duplicates: each row binds two or three
	// parameters, and SQLite allows 32,766 a statement.
	dupBatchMax = 5_000
	// dupRescans bounds the looks from the start once the walk has reached
	// the end: rows that a clean: expression leaves duplicate would be
	// found again at every look.
	dupRescans = 2
)

// dupParam names the parameters of one row of a batch of duplicates: its
// key and its group's first key.
type dupParam struct{ Key, First string }

// dupSource is the walk of a UNIQUE clean's duplicates.
type dupSource struct {
	s   *Session
	job batchJob
	// cursor is the last key walked (nil: before the first), where the
	// next search starts.
	cursor any
	// keys are the duplicates found past the cursor, in key order, and
	// firsts the first key of each one's group; pos is the next to walk.
	keys, firsts []any
	pos          int
	// full is set when the last search found as many as it may hold:
	// more may follow its last.
	full bool
	// clear is set when a search from the start found none.
	clear   bool
	rescans int
	chunk   int // how many a search finds at most
}

// newDupSource finds the first duplicates past the phase's checkpoint, up
// to chunk of them.
func (s *Session) newDupSource(ctx context.Context, job batchJob, chunk int) (*dupSource, error) {
	d := &dupSource{s: s, job: job, chunk: chunk}
	if cp := s.st(job.phase).Checkpoint; cp != nil {
		d.cursor = s.keyArg(*cp)
	}
	return d, d.search(ctx)
}

func (d *dupSource) next(ctx context.Context, n int) (batchRange, bool, error) {
	for d.pos == len(d.keys) {
		if !d.full {
			// The last search reached the table's end.
			if d.clear || d.rescans == dupRescans {
				return batchRange{}, false, nil
			}
			d.rescans++
			d.cursor = nil
		}
		if err := d.search(ctx); err != nil {
			return batchRange{}, false, err
		}
	}
	n = min(n, dupBatchMax, len(d.keys)-d.pos)
	b := batchRange{lo: d.cursor, hi: d.keys[d.pos+n-1], rows: int64(n),
		keys: d.keys[d.pos : d.pos+n], firsts: d.firsts[d.pos : d.pos+n]}
	d.pos += n
	d.cursor = b.hi
	return b, true, nil
}

// total is the duplicates walked and those found ahead, not yet walked.
func (d *dupSource) total(done int64) int64 {
	return done + int64(len(d.keys)-d.pos)
}

// search finds the next duplicates past the cursor.
func (d *dupSource) search(ctx context.Context) error {
	s := d.s
	data := d.job.data
	data.HasLo = d.cursor != nil
	vals := map[string]any{"limit": d.chunk}
	bindKey(vals, "lo", d.cursor)
	if s.watchBatch != nil {
		s.watchBatch(ctx, nil, "search", nil, nil)
	}
	var keys, firsts []any
	err := s.retryLocked(ctx, true, func() error {
		keys, firsts = nil, nil
		rows, err := s.query(ctx, s.db, "duplicate-rows", data, vals)
		if err != nil {
			return err
		}
		defer rows.Close()
		// A row's key, then its group's first key: one column each, or
		// each a composite key's columns.
		kDest, k := s.keyDest()
		fDest, f := s.keyDest()
		dest := append(kDest, fDest...)
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			keys, firsts = append(keys, ownKey(k())), append(firsts, ownKey(f()))
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("search %s for the duplicates of %s: %w", s.plan.Table, s.plan.ConstraintLabel(), err)
	}
	d.keys, d.firsts, d.pos = keys, firsts, 0
	d.full = len(keys) == d.chunk
	d.clear = d.cursor == nil && len(keys) == 0
	return nil
}

// ownKey keeps a key read from the database: text as a string (a []byte
// the driver gave may be its buffer, and binds back as binary).
func ownKey(v any) any {
	switch t := v.(type) {
	case []byte:
		return string(t)
	case keyTuple:
		for i := range t {
			t[i] = ownKey(t[i])
		}
	}
	return v
}

// bindDuplicates gives clean-duplicates one batch: a parameter for each
// row's key and for each distinct first key, their values in vals (nil
// when only rendering the statement). A composite key's values are bound
// by column (bindKey): name_0, name_1, ….
func bindDuplicates(data *sqlData, vals map[string]any, keys, firsts []any) {
	named := map[any]string{}
	data.Dups, data.Firsts = make([]dupParam, len(keys)), nil
	for i, k := range keys {
		f := firsts[i]
		id := f
		if t, ok := f.(keyTuple); ok {
			id = tupleText(t) // a slice is no map key
		}
		name, ok := named[id]
		if !ok {
			name = "first" + strconv.Itoa(len(data.Firsts)+1)
			named[id] = name
			data.Firsts = append(data.Firsts, name)
			if vals != nil {
				bindKey(vals, name, f)
			}
		}
		data.Dups[i] = dupParam{Key: "dup" + strconv.Itoa(i+1), First: name}
		if vals != nil {
			bindKey(vals, data.Dups[i].Key, k)
		}
	}
}

// duplicatesShown is a batch of duplicates as the log and the previews
// show it: one row, whose parameters stand for each row's.
func duplicatesShown(data sqlData) sqlData {
	bindDuplicates(&data, nil, []any{0}, []any{0})
	return data
}
