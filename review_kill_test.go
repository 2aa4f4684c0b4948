package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/review"
)

// A review killed with SIGKILL while its scratch database exists leaves
// that database behind (nothing in the process runs on SIGKILL); the next
// review drops it, and neither touches the target: its dump and its tables'
// storage are the same before and after.
//
// The kill is placed deterministically, not timed: the replayed migration
// comments on a role the test has commented on in a transaction it keeps
// open, so the review waits on that lock (PostgreSQL locks a role, a
// shared object, across databases) with its scratch database created,
// however fast or slow the machine. The test kills it once
// pg_stat_activity shows that wait.
func TestReviewKilledMidRehearsalLeavesNothingForLong(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the kill -9 test of the real binary is skipped")
	}
	db := testdb.New(t, "postgres")
	bin := failpointBinary(t) // the build in which the test sets the leftovers' age
	ctx := t.Context()

	db.Exec(`CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL, name text);
		INSERT INTO users (username, name) SELECT 'u' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 2000) g;
		CREATE INDEX users_username_idx ON users (username);
		ANALYZE users`)
	role := fmt.Sprintf("shepherd_review_kill_%d", os.Getpid())
	db.Exec(`CREATE ROLE ` + role)
	t.Cleanup(func() { _ = db.ExecE(`DROP ROLE IF EXISTS ` + role) })

	dir := t.TempDir()
	write := func(name, sql string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("001_base.sql", "CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL, name text);\n"+
		"COMMENT ON ROLE "+role+" IS 'replayed by a review';\n")
	write("002_email.sql", "ALTER TABLE users ADD COLUMN email text NOT NULL;\n")

	before := targetSnapshot(t, db)

	// The lock the replay will wait on.
	holder, err := db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `COMMENT ON ROLE `+role+` IS 'held by the test'`); err != nil {
		t.Fatal(err)
	}

	first := exec.Command(bin, "review", dir, "--since", "002_email.sql", "--db", db.DSN, "--non-interactive")
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()

	// The review's scratch database exists and the replay waits on the
	// test's lock in it.
	var scratch string
	for scratch == "" {
		select {
		case err := <-exited:
			t.Fatalf("the review ended before it waited on the lock (%v):\n%s", err, firstOut.String())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		scratch = db.One(`SELECT coalesce(max(datname), '') FROM pg_stat_activity
			WHERE datname LIKE $1 AND wait_event_type = 'Lock' AND query LIKE $2`,
			review.ScratchPrefix+"%", "COMMENT ON ROLE "+role+"%")
	}
	// Should the test fail before the second review drops it.
	t.Cleanup(func() { _ = db.ExecE(`DROP DATABASE IF EXISTS "` + scratch + `" WITH (FORCE)`) })
	if n := db.One(`SELECT count(*) FROM pg_database WHERE datname = $1`, scratch); n != "1" {
		t.Fatalf("the scratch database %s is not there while the review waits in it", scratch)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the review was not killed: %v\n%s", err, firstOut.String())
	}
	if n := db.One(`SELECT count(*) FROM pg_database WHERE datname = $1`, scratch); n != "1" {
		t.Fatalf("the scratch database %s is gone after kill -9: nothing should have dropped it", scratch)
	}

	// The killed review's server session ends once its statement does (a
	// server notices its client is gone when it answers): release the
	// lock, and wait for no one to be connected to the leftover, as a
	// review under way always is.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for db.One(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, scratch) != "0" {
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Leftovers count as left behind from an age on (5 minutes as
	// shipped); the test's build takes 1s, and waits until the leftover is
	// that old by its name's clock.
	secs, _, _ := strings.Cut(strings.TrimPrefix(scratch, review.ScratchPrefix), "_")
	at, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		t.Fatalf("scratch database %s: no creation time in its name", scratch)
	}
	time.Sleep(time.Until(time.Unix(at+1, 0)))

	second := exec.Command(bin, "review", dir, "--since", "002_email.sql", "--db", db.DSN, "--non-interactive", "-o", "json")
	second.Env = append(os.Environ(), "SHEPHERD_TEST_REVIEW_STALE_AFTER=1s")
	var out, errb bytes.Buffer
	second.Stdout, second.Stderr = &out, &errb
	err = second.Run()
	if code := second.ProcessState.ExitCode(); code != exitFailed {
		t.Fatalf("the second review exited %d (%v), want 1 (the NOT NULL column):\n%s%s", code, err, out.String(), errb.String())
	}
	var rep review.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("the second review's report: %v\n%s", err, out.String())
	}
	if !slices.Contains(rep.Leftovers, scratch) {
		t.Fatalf("the second review dropped %v, not the killed one's %s", rep.Leftovers, scratch)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Check != "add-column-not-null" {
		t.Fatalf("the second review's findings: %+v", rep.Findings)
	}
	for _, name := range []string{scratch, rep.Scratch} {
		if n := db.One(`SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != "0" {
			t.Fatalf("scratch database %s is still there after the second review", name)
		}
	}
	if after := targetSnapshot(t, db); after != before {
		t.Fatalf("the target changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// targetSnapshot is the target as bytes: pg_dump's dump of its schema and
// data (when pg_dump is installed), and each relation's storage file and
// row estimate, which a rewrite or an ANALYZE would change.
func targetSnapshot(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var b strings.Builder
	if _, err := exec.LookPath("pg_dump"); err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		dump, err := exec.CommandContext(ctx, "pg_dump", "--dbname", db.DSN).Output()
		if err != nil {
			t.Fatalf("pg_dump of the target: %v", err)
		}
		// pg_dump 17.6+ and 15.14+ guard the dump's psql with a random
		// \restrict key, different on each dump: the key is not the target.
		for _, line := range strings.SplitAfter(string(dump), "\n") {
			if !strings.HasPrefix(line, `\restrict `) && !strings.HasPrefix(line, `\unrestrict `) {
				b.WriteString(line)
			}
		}
	} else {
		t.Log("pg_dump is not installed: the target is compared by its catalog and rows only")
	}
	for _, r := range db.Query(`SELECT c.relname, c.relkind, c.relfilenode, c.reltuples, coalesce(array_to_string(array_agg(a.attname || ' ' ||
			format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ORDER BY a.attnum), ', '), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = 'public' GROUP BY c.oid ORDER BY c.relname`) {
		b.WriteString(strings.Join(r, " | ") + "\n")
	}
	b.WriteString("rows: " + db.One(`SELECT md5(string_agg(u::text, ',' ORDER BY id)) FROM users u`) + "\n")
	return b.String()
}
