package engine

import (
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// What shepherd reads from SQLite's driver (modernc.org/sqlite): its DSN is
// a file, and how its errors read.

// describe renders SQLite's error without the result code modernc appends
// ("CHECK constraint failed: c (275)": 275 is SQLITE_CONSTRAINT_CHECK, which
// classify reads from the error's code, and is noise to an operator), and
// without the primary code's own text before a constraint's message
// ("constraint failed: CHECK constraint failed: c"). SQLite quotes no row
// values in its messages (a constraint names its table and column).
func (sqliteDialect) describe(err error) (string, bool) {
	se, ok := err.(*sqlite.Error)
	if !ok {
		return "", false
	}
	// modernc writes "errstr: errmsg (code)", or "errstr (code)", and
	// " (SQLITE_BUSY)" after a busy one.
	msg := strings.TrimSuffix(se.Error(), " (SQLITE_BUSY)")
	msg = strings.TrimSuffix(msg, fmt.Sprintf(" (%d)", se.Code()))
	if se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		if rest, ok := strings.CutPrefix(msg, "constraint failed: "); ok && rest != "" {
			msg = rest
		}
	}
	return msg, true
}
