package training

import (
	"context"
	"errors"
	"strings"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// ---------- drop-column ----------

// dropColumnSetup gives this lesson's users the column the code retires:
// NOT NULL without a default, as a column the application always wrote
// usually is, so that code that stops writing it cannot insert until relax.
// SQLite cannot add such a column to a table with rows, so the table is
// made again with it, each user's nickname their first name.
const dropColumnSetup = `
CREATE TABLE users_with_nickname (
  id       INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  name     TEXT NOT NULL,
  nickname TEXT NOT NULL
);
INSERT INTO users_with_nickname (id, username, name, nickname)
  SELECT id, username, name, lower(substr(name, 1, instr(name, ' ') - 1)) FROM users;
DROP TABLE users;
ALTER TABLE users_with_nickname RENAME TO users;
`

func dropColumnLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "reads and writes nickname",
		insert: insertUser("name", "nickname"), update: updateUser("name", "nickname"), read: readUser("nickname", "", false)}
	v2 := &codeVersion{ID: "v2", Label: "neither reads nor writes nickname",
		insert: insertUser("name"), update: updateUser("name"), read: readUser("name", "name", true)}
	return &Lesson{
		Name: "drop-column", Title: "Drop a column that running code may still use", Guide: "Rename Column",
		Rules: []string{ruleStopOld, ruleDropLater},
		Intro: "users.nickname is being retired: it is NOT NULL, and three replicas run v1, which writes it on every insert " +
			"and shows it (falling back to the name where it is empty). Get to v2 and drop nickname without a failed request.",
		plan: "users-drop-nickname.yaml", table: "users", setup: dropColumnSetup, session: true,
		versions: []*codeVersion{v1, v2},
		gates:    map[string]int{"stop-using": 1},
		Actions: []*Action{
			{Name: "relax", Kind: kindMigration, Does: "shepherd's relax phase: drop NOT NULL from nickname (a table rebuild on SQLite)", rule: ruleStopOld, apply: runPhases("relax")},
			{Name: "deploy-stop-using", Kind: kindDeploy, Does: "deploy v2: neither reads nor writes nickname (the stop-using gate)", rule: ruleStopOld, apply: deployTo(1, "stop-using")},
			{Name: "archive", Kind: kindData, Does: "shepherd's archive: copy every user's nickname into an archive table, in short batches, so that the drop can be rolled back", rule: ruleDropLater, apply: runPhases("archive")},
			{Name: "drop-column", Kind: kindMigration, Does: "shepherd's drop-column: DROP COLUMN nickname (its values archived first, if archive ran)", rule: ruleDropLater, apply: runPhases("drop-column")},
			{Name: "drop-now", Kind: kindMigration, Does: "shortcut: archive nickname and drop it now, in one go, whatever the fleet runs (the sandbox lets shepherd run them out of order)", rule: ruleStopOld, apply: runPhases("archive", "drop-column")},
			{Name: "deploy-and-drop", Kind: kindDeploy, Does: "shortcut: one release deploys v2, and its release job runs shepherd twice: once to confirm stop-using, then at once to archive and drop nickname", rule: ruleDropLater,
				apply: func(ctx context.Context, r *Run) error {
					if err := deployTo(1, "stop-using")(ctx, r); err != nil {
						return err
					}
					return runPhases("stop-using", "archive", "drop-column")(ctx, r)
				}},
			rollbackAction,
		},
		Safe:     []string{"relax", "deploy-stop-using", "archive", "drop-column"},
		diagnose: diagnoseDropColumn,
		complete: playbookComplete,
	}
}

func diagnoseDropColumn(r *Run, o occurrence) (string, string) {
	msg := dbError(o.err)
	who := ""
	if o.version != nil {
		who = o.version.ID
	}
	if o.kind == "migration-failed" {
		// The archive must hold every value at the drop: rows that v1
		// wrote since it ran are not in it.
		var ve *engine.VerifyError
		if errors.As(o.err, &ve) && ve.Phase == "archive" {
			return ruleStopOld, "Code that writes nickname still runs, so rows written since the archive are not in it: deploy v2 everywhere first, then archive, then drop."
		}
		if r.sess.Progress().Of("archive") != phases.Done && strings.Contains(msg, "no such table") {
			return ruleDropLater, "The drop needs the archive first (it is how a rollback brings nickname back): stop using the column, archive it, then drop it."
		}
		if missingColumn(msg, "nickname") {
			return ruleDropLater, "nickname is gone already."
		}
	}
	switch {
	case strings.Contains(msg, "NOT NULL constraint failed") && strings.Contains(msg, "nickname"):
		return ruleStopOld, who + " stopped writing nickname while nickname was still NOT NULL without a default: relax it first, then deploy code that stops writing it."
	case missingColumn(msg, "nickname"):
		if r.did("deploy-and-drop") {
			return ruleDropLater, "nickname was dropped in the same release that stopped using it, while " + who +
				" still ran on replicas the rolling deploy had not reached: drop it one release after stop-using is out everywhere."
		}
		return ruleStopOld, "nickname was dropped while " + who + " still reads and writes it: deploy code that stops using it everywhere first, and drop it in a later release."
	}
	return r.actionRule(), ""
}
