package export

// What each dialect means to the migration tools: the one place in export
// where the dialects differ. The SQL itself comes from the engine.
type dialectFacts struct {
	// lockTimeout names the setting that bounds a DDL statement's wait for
	// its lock, and how a migration job sets it.
	lockTimeout string
	// gooseDriver is goose's name for the dialect (goose -dir DIR DRIVER).
	gooseDriver string
	// drizzleDialect and drizzleVersion go into meta/_journal.json.
	drizzleDialect, drizzleVersion string
	// autocommitDDL: every DDL statement commits by itself (MySQL), so a
	// step that shepherd runs alone needs no transaction of its own.
	autocommitDDL bool
	// dollarPlaceholders: parameters are $1, $2… (PostgreSQL), not ?.
	dollarPlaceholders bool
	// backslashEscapes: a backslash escapes in string literals (MySQL).
	backslashEscapes bool
	// multiStatementDSN: golang-migrate's driver sends a file as one
	// multi-statement call, which the DSN must allow (MySQL).
	multiStatementDSN bool
}

func factsOf(dialect string) dialectFacts {
	switch dialect {
	case "postgres":
		return dialectFacts{
			lockTimeout: "lock_timeout (e.g. options=-c lock_timeout=5s in the DSN)",
			gooseDriver: "postgres", drizzleDialect: "postgresql", drizzleVersion: "7",
			dollarPlaceholders: true,
		}
	case "mysql":
		return dialectFacts{
			lockTimeout: "lock_wait_timeout (e.g. SET SESSION lock_wait_timeout = 5 in the job's connection setup)",
			gooseDriver: "mysql", drizzleDialect: "mysql", drizzleVersion: "5",
			autocommitDDL: true, backslashEscapes: true, multiStatementDSN: true,
		}
	}
	return dialectFacts{
		lockTimeout: "busy_timeout (e.g. _pragma=busy_timeout(5000) in the DSN)",
		gooseDriver: "sqlite3", drizzleDialect: "sqlite", drizzleVersion: "6",
	}
}
