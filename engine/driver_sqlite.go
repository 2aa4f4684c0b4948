package engine

// What shepherd reads from SQLite's driver (modernc.org/sqlite): its DSN is
// a file.

// readDSN is never asked: an sqlite: DSN is a path, with no password.
func (sqliteDialect) readDSN(DSN) ([]string, error) { return nil, nil }
