package review

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The variables TestReviewChild reads: the review a parent test starts in
// a process of its own, and kills.
const (
	envChildDSN = "SHEPHERD_REVIEW_CHILD_DSN"
	envChildDir = "SHEPHERD_REVIEW_CHILD_DIR"
	envChildTmp = "SHEPHERD_REVIEW_CHILD_TMP"
)

// TestReviewChild is not a test: it is the review TestKilledReviewCleanedUp
// runs in a child process and kills with SIGKILL mid-review. Its clock
// says 1970, so that the scratch database it leaves reads as stale to the
// next review without that review's clock being moved (which would make
// other reviews' fresh scratch databases look stale too).
func TestReviewChild(t *testing.T) {
	dsn := os.Getenv(envChildDSN)
	if dsn == "" {
		t.Skip("run by TestKilledReviewCleanedUp")
	}
	files, first, err := Read(os.Getenv(envChildDir), "0001_change.sql")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{DSN: dsn, TempDir: os.Getenv(envChildTmp), Now: func() time.Time { return time.Unix(1000, 0) }}
	_, err = Rehearse(context.Background(), opts, files, first)
	t.Fatalf("the review was to be killed, and ended: %v", err)
}

// A review killed with SIGKILL mid-review leaves its scratch database (it
// had no chance to drop it); the next review drops it, on every dialect.
func TestKilledReviewCleanedUp(t *testing.T) {
	for _, c := range []struct {
		dialect, baseline, slow string
		scratches               func(db *testdb.DB) []string
	}{
		{"postgres", pgBaseline, "SELECT pg_sleep(3)", func(db *testdb.DB) []string {
			return column(db.Query("SELECT datname FROM pg_database WHERE datname LIKE 'shepherd\\_review\\_1000\\_%'"))
		}},
		{"mysql", myBaseline, "SELECT SLEEP(3)", func(db *testdb.DB) []string {
			return column(db.Query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'shepherd\\_review\\_1000\\_%'"))
		}},
		{"sqlite", liteBaseline, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) SELECT count(*) FROM c", nil},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			db := testdb.New(t, c.dialect)
			applyBaseline(t, db, c.baseline)
			tmp := t.TempDir()
			if c.scratches == nil {
				c.scratches = func(*testdb.DB) []string {
					m, _ := filepath.Glob(filepath.Join(tmp, ScratchPrefix+"1000_*.db"))
					return m
				}
			}
			before := c.scratches(db)
			dir, _ := writeMigrations(t, "drizzle", c.baseline, c.slow+";")
			child := exec.Command(os.Args[0], "-test.run=^TestReviewChild$")
			child.Env = append(os.Environ(), envChildDSN+"="+db.DSN, envChildDir+"="+dir, envChildTmp+"="+tmp)
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			var left []string
			for deadline := time.Now().Add(time.Minute); len(left) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				for _, n := range c.scratches(db) {
					if !slices.Contains(before, n) {
						left = append(left, n)
					}
				}
			}
			// Killed once its scratch database exists: replaying, or in its
			// slow statement; either way before it could drop it.
			_ = child.Process.Kill()
			_ = child.Wait()
			if len(left) != 1 {
				t.Fatalf("the killed review's scratch database: %v", left)
			}
			if !slices.Contains(c.scratches(db), left[0]) {
				t.Fatalf("%s is gone already: the kill came too late to leave it", left[0])
			}
			// The next review drops it (the killed one's server session may
			// still be ending its statement: it is in use until then).
			files, first, err := Read(dir, "0001_change.sql")
			if err != nil {
				t.Fatal(err)
			}
			files[first].Statements = []Statement{{SQL: "SELECT 1", Line: 1}}
			// On a loaded machine the server once took over a minute to end
			// the killed review's session (CI, the whole suite running): the
			// next reviews leave the database be all that while, as they
			// must, so they are given three.
			var dropped []string
			waitFrom := time.Now()
			for deadline := waitFrom.Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				rep, err := Rehearse(context.Background(), Options{DSN: db.DSN, TempDir: tmp}, files, first)
				if err != nil {
					t.Fatal(err)
				}
				if dropped = rep.Leftovers; slices.Contains(dropped, left[0]) {
					break
				}
			}
			if !slices.Contains(dropped, left[0]) || slices.Contains(c.scratches(db), left[0]) {
				t.Fatalf("%s not dropped by the next review (it dropped %v)", left[0], dropped)
			}
			t.Logf("the next review dropped %s after %s", left[0], time.Since(waitFrom).Round(time.Millisecond))
		})
	}
}

func column(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, ""))
	}
	return out
}
