package engine

import (
	"strconv"
)

// A SQLite table with rowids keeps its rows in rowid order, and its
// composite primary key (or unique key) is a separate index. Walking that
// key's tuple order visits the rows scattered over the whole table: each
// batch rewrites pages that nearly every other batch rewrites too, and on
// a table of 1M rows whose key does not follow insertion order (tenant_id,
// id), the walk measured 40 to 60 times one UPDATE of the whole table. So
// on such a table the batches walk the rowid instead: ranges of the
// table's own b-tree, in the order the pages are stored, each page
// written by about one batch.
//
// Only the walk changes. The key still names rows for people (samples of
// rows, the archive's key columns, the duplicates a UNIQUE clean keeps),
// because a rowid is not stable: VACUUM may renumber the rowids of a table
// without an INTEGER PRIMARY KEY. A walk that a VACUUM renumbered between
// two runs may pass rows twice (every batch statement changes only rows
// that still need it) or skip some, which the phase's verification then
// counts, naming them by key.
//
// A single-column key keeps its walk: an INTEGER PRIMARY KEY is the rowid
// already, and checkpoints of other keys recorded by earlier runs stay
// valid.

// rowidWalker is a database whose tables may be walked in their storage
// order rather than by their key: it names the pseudo-column that walk
// uses, or "" to walk the key (sqlite.go).
type rowidWalker interface {
	rowidWalk(t *Table, keys []string) string
}

func rowidWalk(d dialect, t *Table, keys []string) string {
	if w, ok := d.(rowidWalker); ok && t != nil {
		return w.rowidWalk(t, keys)
	}
	return ""
}

// walkArg turns a walk's checkpoint back into a bound: the key's value, or
// the rowid. A rowid walk's checkpoint that is not one (a walk of the key
// recorded by an earlier run) starts the walk again from the start.
func (s *Session) walkArg(text string) any {
	if s.rowid == "" {
		return s.keyArg(text)
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n
	}
	return nil
}

// walkDest is where the bound of a batch is scanned to.
func (s *Session) walkDest() (dest []any, value func() any) {
	if s.rowid == "" {
		return s.keyDest()
	}
	var v any
	return []any{&v}, func() any { return v }
}

// walkLabel names what the batches walk: the key, or the rowid.
func (s *Session) walkLabel() string {
	if s.rowid == "" {
		return s.keyLabel()
	}
	return s.rowid
}

// walkShown is a walk's bound for people, without the walk's name.
func (s *Session) walkShown(cp string) string {
	if s.rowid == "" {
		return s.keyShown(cp)
	}
	return cp
}

// walkAt is a checkpoint for people, with what is walked: "id 1200",
// "tenant_id 3, id 1200", "rowid 1200". A checkpoint that is not a rowid
// (a walk of duplicates by key) is shown as a key.
func (s *Session) walkAt(cp string) string {
	if s.rowid != "" {
		if _, err := strconv.ParseInt(cp, 10, 64); err == nil {
			return s.rowid + " " + cp
		}
	}
	return s.keyAt(cp)
}
