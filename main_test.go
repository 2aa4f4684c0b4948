package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The end-to-end suite: testscript files in testdata/script drive the real
// shepherd command (this test binary re-executed as `shepherd`) against a
// fresh database per script, once per dialect. A script sees its database as
// $SHEPHERD_DB and can set it up and inspect it with the commands below.

// withCleanup runs the tests, then removes what they built outside their
// temporary folders (the binaries of the process tests).
type withCleanup struct{ m *testing.M }

func (w withCleanup) Run() int {
	defer removeBinaries()
	return w.m.Run()
}

func TestMain(m *testing.M) {
	testscript.Main(withCleanup{m}, map[string]func(){
		"shepherd": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			if ok, why := testdb.Available(dialect); !ok {
				t.Skip(why)
			}
			t.Parallel()
			testscript.Run(t, scriptParams(dialect, backfillCopies(t, dialect)))
		})
	}
}

// backfillCopies reports whether add-column's backfill copies the table on
// the dialect's test server, MariaDB's (engine/shadow.go): scripts test
// it with the condition [copies].
func backfillCopies(t *testing.T, dialect string) bool {
	if dialect != "mysql" {
		return false
	}
	return strings.Contains(strings.ToLower(testdb.New(t, dialect).One("SELECT VERSION()")), "mariadb")
}

func scriptParams(dialect string, copies bool) testscript.Params {
	return testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			db, cleanup, err := testdb.Create(dialect, env.WorkDir)
			if err != nil {
				return err
			}
			env.Defer(cleanup)
			env.Setenv("SHEPHERD_DB", db.DSN)
			env.Setenv("DIALECT", dialect)
			// The server's host:port and the database's name, to write
			// DSNs of other users and passwords.
			if u, err := url.Parse(db.DSN); err == nil && dialect != "sqlite" {
				env.Setenv("DBHOST", u.Host)
				env.Setenv("DBNAME", strings.TrimPrefix(u.Path, "/"))
			}
			env.Values["db"] = db
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if d, ok := strings.CutPrefix(cond, "dialect:"); ok {
				return d == dialect, nil
			}
			if cond == "copies" {
				return copies, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sql":   cmdSQL,
			"query": cmdQuery,
			"seed":  cmdSeed,
			"exits": cmdExits,
		},
	}
}

func scriptDB(ts *testscript.TestScript) *testdb.DB {
	return ts.Value("db").(*testdb.DB)
}

// sql STATEMENT...: runs each argument as one statement on the script's
// database; with !, at least one must fail.
func cmdSQL(ts *testscript.TestScript, neg bool, args []string) {
	db := scriptDB(ts)
	for _, st := range args {
		_, err := db.SQL.Exec(st)
		switch {
		case err != nil && !neg:
			ts.Fatalf("sql: %v\n%s", err, st)
		case err != nil && neg:
			fmt.Fprintln(ts.Stdout(), err)
			return
		}
	}
	if neg {
		ts.Fatalf("sql: every statement succeeded")
	}
}

// query SELECT: prints the rows, columns separated by tabs, NULL as NULL.
func cmdQuery(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: query SELECT")
	}
	rows, err := scriptDB(ts).QueryE(args[0])
	if neg {
		if err == nil {
			ts.Fatalf("query succeeded")
		}
		return
	}
	ts.Check(err)
	for _, r := range rows {
		fmt.Fprintln(ts.Stdout(), strings.Join(r, "\t"))
	}
}

// exits CODE COMMAND ARGS...: runs the command, which must exit with CODE;
// its stdout and stderr are kept for the next stdout/stderr checks.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Logf("stdout:\n%s\nstderr:\n%s", ts.ReadFile("stdout"), ts.ReadFile("stderr"))
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// seed N: creates the users table (id, username, name) with rows 1..N.
func cmdSeed(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: seed N")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	db := scriptDB(ts)
	ts.Check(db.ExecE(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`))
	ts.Check(db.SeedRowsE("users", n))
}
