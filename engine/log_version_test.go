package engine

import (
	"context"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/internal/version"
)

// A shepherd_log an older shepherd made has no version: reading the log
// (status --log) takes it as it is and writes nothing; the next run adds
// the column in place, the older rows keep naming no shepherd, and every
// row the run writes names the shepherd that wrote it (Options.Version, by
// default this binary's).
func TestLogVersionUpgradesAnOlderLog(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		if _, err := s.Run(ctx, "add-column", nil); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// As an older shepherd left it: shepherd_log without version.
		db.Exec("ALTER TABLE " + logTableOf(db) + " DROP COLUMN version")
		older := db.One("SELECT count(*) FROM " + logTableOf(db))
		if older == "0" {
			t.Fatal("the first run logged nothing")
		}

		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		entries, err := eng.Log(ctx, "users-email")
		if err != nil {
			t.Fatalf("read an older shepherd_log: %v", err)
		}
		if len(entries) == 0 {
			t.Fatal("the older log reads empty")
		}
		for _, e := range entries {
			if e.Version != "" {
				t.Errorf("an older row reads version %q, want none", e.Version)
			}
		}
		if hasLogVersion(db) {
			t.Fatal("reading the log added version: it must write nothing")
		}

		s2, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{Version: "v1.2.3-test"})
		if !hasLogVersion(db) {
			t.Fatal("a run did not add version to the older shepherd_log")
		}
		if _, err := s2.Run(ctx, "deploy-readers", map[string]bool{"deploy-readers": true}); err != nil {
			t.Fatal(err)
		}
		s2.Close()
		s3, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		if _, err := s3.Run(ctx, "backfill", nil); err != nil {
			t.Fatal(err)
		}
		s3.Close()

		if got := db.One("SELECT count(*) FROM " + logTableOf(db) + " WHERE version IS NULL"); got != older {
			t.Errorf("%s rows have no version, want the %s older ones", got, older)
		}
		entries, err = eng.Log(ctx, "users-email")
		if err != nil {
			t.Fatal(err)
		}
		byVersion := map[string]map[string]bool{}
		for _, e := range entries {
			if byVersion[e.Version] == nil {
				byVersion[e.Version] = map[string]bool{}
			}
			byVersion[e.Version][e.Phase+" "+e.Event] = true
		}
		for v, want := range map[string]string{
			"":                    "add-column finish",
			"v1.2.3-test":         "deploy-readers confirm",
			version.Get().Short(): "backfill finish",
		} {
			if !byVersion[v][want] {
				t.Errorf("no %q row under version %q: %v", want, v, byVersion)
			}
		}
		if len(byVersion) != 3 {
			t.Errorf("versions in the log: %v, want none, v1.2.3-test and %s", byVersion, version.Get().Short())
		}
	})
}

// logTableOf names shepherd_log as the dialect places it.
func logTableOf(db *testdb.DB) string {
	if db.Dialect == "postgres" {
		return "shepherd.shepherd_log"
	}
	return "shepherd_log"
}

func hasLogVersion(db *testdb.DB) bool {
	var q string
	switch db.Dialect {
	case "postgres":
		q = "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'shepherd' AND table_name = 'shepherd_log' AND column_name = 'version'"
	case "mysql":
		q = "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_log' AND column_name = 'version'"
	default:
		q = "SELECT count(*) FROM pragma_table_info('shepherd_log') WHERE name = 'version'"
	}
	return db.One(q) != "0"
}
