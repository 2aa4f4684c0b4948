package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// TestDBErrorsWithoutRowValues provokes, on each real server, the errors in
// which a database quotes a row's value: the error as shepherd passes it on
// (through DSN.scrub, where every database error enters the engine) shows
// no value, keeps what the operator needs (the constraint, the column, the
// error's number or SQLSTATE), and still classifies as the driver's error.
func TestDBErrorsWithoutRowValues(t *testing.T) {
	type provoke struct {
		stmt string
		keep []string // what the message must still say
		kind failureKind
	}
	cases := map[string][]provoke{
		"mysql": {
			{`INSERT INTO p (id, e, n) VALUES (2, 'Row-Value-Zq81@example.com', 5)`, []string{"Error 1062 (23000): Duplicate entry '…' for key 'p_e_uniq'"}, failUnique},
			{`UPDATE p SET n = e`, []string{"Error 1366 (22007): Incorrect integer value: '…' for column ", "`n` at row 1"}, failOther},
			{`UPDATE p SET n = CAST(e AS signed)`, []string{"Error 1292 (22007): Truncated incorrect INTEGER value: '…'"}, failOther},
			{`UPDATE p SET d = e`, []string{"Incorrect date value: '…' for column "}, failOther},
			{`UPDATE p SET d = STR_TO_DATE(e, '%Y')`, []string{"Error 1411 (HY000): Incorrect datetime value: '…' for function str_to_date"}, failOther},
			{`UPDATE p SET c = e`, []string{"Error 1406 (22001): Data too long for column 'c' at row 1"}, failOther},
			{`INSERT INTO p (id, e, n, m) VALUES (4, 'q', 1, NULL)`, []string{"Error 1048 (23000): Column 'm' cannot be null"}, failNotNull},
			{`INSERT INTO p (id, e, n) VALUES (3, 'x', -1)`, []string{"Error 4025 (23000): CONSTRAINT `p_n_pos` failed for "}, failCheck},
		},
		"postgres": {
			{`INSERT INTO p (id, e, n) VALUES (2, 'Row-Value-Zq81@example.com', 5)`, []string{`ERROR: duplicate key value violates unique constraint "p_e_uniq" (SQLSTATE 23505)`}, failUnique},
			{`UPDATE p SET n = CAST(e AS integer)`, []string{`ERROR: invalid input syntax for type integer: "…" (SQLSTATE 22P02)`}, failOther},
			{`UPDATE p SET d = CAST(e AS date)`, []string{`ERROR: invalid input syntax for type date: "…" (SQLSTATE 22007)`}, failOther},
			{`UPDATE p SET n = CAST(big AS integer)`, []string{`ERROR: value "…" is out of range for type integer (SQLSTATE 22003)`}, failOther},
			{`UPDATE p SET c = e`, []string{`ERROR: value too long for type character varying(3) (SQLSTATE 22001)`}, failOther},
			{`INSERT INTO p (id, e, n, m) VALUES (4, 'q', 1, NULL)`, []string{`ERROR: null value in column "m" of relation "p" violates not-null constraint (SQLSTATE 23502)`}, failNotNull},
		},
		"sqlite": {
			{`INSERT INTO p (id, e, n) VALUES (2, 'Row-Value-Zq81@example.com', 5)`, []string{"UNIQUE constraint failed: p.e"}, failUnique},
			{`INSERT INTO p (id, e, n) VALUES (3, 'x', -1)`, []string{"CHECK constraint failed: p_n_pos"}, failCheck},
			{`INSERT INTO p (id, e, n, m) VALUES (4, 'q', 1, NULL)`, []string{"NOT NULL constraint failed: p.m"}, failNotNull},
		},
	}
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE p (id integer PRIMARY KEY, e varchar(50), n integer, d date, c varchar(3), big varchar(20), m integer NOT NULL DEFAULT 1,
			CONSTRAINT p_e_uniq UNIQUE (e), CONSTRAINT p_n_pos CHECK (n > 0))`)
		db.Exec(`INSERT INTO p (id, e, n, big) VALUES (1, 'Row-Value-Zq81@example.com', 5, '99999999999')`)
		eng, err := Open(context.Background(), db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		for _, c := range cases[db.Dialect] {
			// On shepherd's own pool: MySQL's connections are in strict
			// mode, as they are when a phase runs.
			_, raw := eng.db.ExecContext(context.Background(), c.stmt)
			if raw == nil {
				t.Errorf("%s: no error", c.stmt)
				continue
			}
			err := eng.dsn.scrub(raw)
			msg := err.Error()
			// The rows hold Row-Value-Zq81@example.com and 99999999999.
			if strings.Contains(msg, "Row-Value") || strings.Contains(msg, "Zq81") || strings.Contains(msg, "99999999999") {
				t.Errorf("%s: the error shows the row's value: %s", c.stmt, msg)
			}
			for _, k := range c.keep {
				if !strings.Contains(msg, k) {
					t.Errorf("%s: the error does not say %q: %s", c.stmt, k, msg)
				}
			}
			if strings.Contains(msg, "(275)") || strings.Contains(msg, "(2067)") || strings.Contains(msg, "(1299)") {
				t.Errorf("%s: the error shows SQLite's extended code: %s", c.stmt, msg)
			}
			if got, want := eng.d.classify(err).kind, eng.d.classify(raw).kind; got != want || got != c.kind {
				t.Errorf("%s: classified %v through the wrapper, %v raw, want %v", c.stmt, got, want, c.kind)
			}
			var (
				me *mysql.MySQLError
				pe *pgconn.PgError
				se *sqlite.Error
			)
			if !errors.As(err, &me) && !errors.As(err, &pe) && !errors.As(err, &se) {
				t.Errorf("%s: the driver's error is not reachable through the wrapper (%T)", c.stmt, err)
			}
		}
	})
}
