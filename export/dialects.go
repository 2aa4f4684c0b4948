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
	// snapshot is how drizzle-kit writes a schema snapshot for the dialect.
	snapshot drizzleSnapshot
}

// drizzleSnapshot is what differs between drizzle-kit's snapshots of the
// dialects, as far as shepherd patches them (snapshot.go).
type drizzleSnapshot struct {
	// schema qualifies the tables' keys ("public.users"); "" when they are
	// the bare table names.
	schema string
	// autoincrement: a column carries "autoincrement".
	autoincrement bool
	// checkKey is the table's field of CHECK constraints.
	checkKey string
	// uniqueKey is the table's field where a UNIQUE constraint goes, and
	// uniqueFields what it carries besides its name and columns.
	uniqueKey    string
	uniqueFields map[string]any
	// types are the type names drizzle-kit writes for other spellings.
	types map[string]string
	// indexColumn is how an index's column is written in its "columns"
	// (PostgreSQL's snapshots give each as an object; the others, a name).
	indexColumn func(name string) any
	// indexMethod: an index carries its method, "concurrently" and "with"
	// (PostgreSQL's).
	indexMethod bool
}

// indexColumnName writes an index's column as its name.
func indexColumnName(name string) any { return name }

func factsOf(dialect string) dialectFacts {
	switch dialect {
	case "postgres":
		return dialectFacts{
			lockTimeout: "lock_timeout (e.g. options=-c lock_timeout=5s in the DSN)",
			gooseDriver: "postgres", drizzleDialect: "postgresql", drizzleVersion: "7",
			dollarPlaceholders: true,
			snapshot: drizzleSnapshot{schema: "public", checkKey: "checkConstraints",
				uniqueKey: "uniqueConstraints", uniqueFields: map[string]any{"nullsNotDistinct": false},
				types: map[string]string{"int": "integer", "int4": "integer", "int8": "bigint", "int2": "smallint", "bool": "boolean",
					"float8": "double precision", "float4": "real", "timestamptz": "timestamp with time zone",
					"timestamp without time zone": "timestamp", "character varying": "varchar"},
				indexMethod: true,
				indexColumn: func(name string) any {
					return map[string]any{"expression": name, "isExpression": false, "asc": true, "nulls": "last"}
				}},
		}
	case "mysql":
		return dialectFacts{
			lockTimeout: "lock_wait_timeout (e.g. SET SESSION lock_wait_timeout = 5 in the job's connection setup)",
			gooseDriver: "mysql", drizzleDialect: "mysql", drizzleVersion: "5",
			autocommitDDL: true, backslashEscapes: true, multiStatementDSN: true,
			snapshot: drizzleSnapshot{autoincrement: true, checkKey: "checkConstraint", uniqueKey: "uniqueConstraints",
				types: map[string]string{"integer": "int", "bool": "boolean"}, indexColumn: indexColumnName},
		}
	}
	return dialectFacts{
		lockTimeout: "busy_timeout (e.g. _pragma=busy_timeout(5000) in the DSN)",
		gooseDriver: "sqlite3", drizzleDialect: "sqlite", drizzleVersion: "6",
		snapshot: drizzleSnapshot{autoincrement: true, checkKey: "checkConstraints",
			uniqueKey: "indexes", uniqueFields: map[string]any{"isUnique": true}, // a unique index
			indexColumn: indexColumnName},
	}
}
