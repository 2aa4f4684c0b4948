package training

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/examples"
	"github.com/shepherd-db/shepherd/phases"
)

// ---------- change-column-type ----------

// lessonPlans are the plans only a lesson runs. The shared example plans
// (examples/, one per playbook, each parsed by phases' tests and shown by
// `shepherd demo`) hold the others; this lesson's column, users.score,
// exists only in its own sandbox.
//
//go:embed plans/*.yaml
var lessonPlans embed.FS

// lessonPlan is the plan file a lesson names: the lesson's own, else the
// shared example of that name.
func lessonPlan(name string) ([]byte, error) {
	if data, err := lessonPlans.ReadFile("plans/" + name); err == nil {
		return data, nil
	}
	return examples.Plans.ReadFile(name)
}

// changeTypeSetup gives this lesson's users the column whose type changes:
// a score the application has always stored as zero-padded text ('0042'),
// as text columns holding numbers usually are.
const changeTypeSetup = `
ALTER TABLE users ADD COLUMN score TEXT;
UPDATE users SET score = printf('%04d', (id * 37) % 1000);
`

// paddedScore is the score the fleet writes for its n-th request, as the
// application shows it: four digits, zero-padded.
func paddedScore(n int) (int, string) {
	v := (n * 53) % 1000
	return v, fmt.Sprintf("%04d", v)
}

// insertScored inserts a user with a score: as zero-padded text (the old
// shape), or as an integer (the new). The fleet remembers the score as the
// application shows it, zero-padded, whichever shape was stored.
func insertScored(asInt bool) func(f *fleet) request {
	return func(f *fleet) request {
		n := f.next()
		username := fmt.Sprintf("u%d", 1000+n)
		name := personName(n)
		v, shown := paddedScore(n)
		var score any = shown
		if asInt {
			score = v
		}
		return request{op: "insert", sql: "INSERT INTO users (username, name, score) VALUES (?, ?, ?)",
			args: []any{username, name, score}, writes: map[string]string{"name": name, "score": shown}, cols: []string{"name", "score"}}
	}
}

// updateScored sets a user's score, in the old shape or the new.
func updateScored(asInt bool) func(f *fleet, id int64) request {
	return func(f *fleet, id int64) request {
		v, shown := paddedScore(f.next())
		var score any = shown
		if asInt {
			score = v
		}
		return request{op: "update", row: id, sql: "UPDATE users SET score = ? WHERE id = ?", args: []any{score, id},
			writes: map[string]string{"score": shown}, cols: []string{"score"}}
	}
}

// readScoreAsStored is v1's read: it shows the score as stored, which was
// always the zero-padded text; an integer 42 is shown as "42". Every user
// has a score: NULL breaks the page.
func readScoreAsStored(f *fleet, id int64) request {
	return request{op: "read", row: id, sql: "SELECT score FROM users WHERE id = ?", args: []any{id}, col: "score", attr: "score", expects: true}
}

// readScoreEitherType is v2's and v3's read: it formats the score itself,
// so '0042' and 42 both show as "0042" (and NULL stays NULL, which breaks
// the page as it does v1's).
func readScoreEitherType(f *fleet, id int64) request {
	return request{op: "read", row: id, sql: "SELECT CASE WHEN score IS NOT NULL THEN printf('%04d', score) END FROM users WHERE id = ?",
		args: []any{id}, col: "score", attr: "score", expects: true}
}

func changeTypeLesson() *Lesson {
	v1 := &codeVersion{ID: "v1", Label: "stores score as zero-padded text and shows it as stored",
		insert: insertScored(false), update: updateScored(false), read: readScoreAsStored}
	v2 := &codeVersion{ID: "v2", Label: "still writes text, shows text and integer scores alike",
		insert: insertScored(false), update: updateScored(false), read: readScoreEitherType}
	v3 := &codeVersion{ID: "v3", Label: "writes score as an integer",
		insert: insertScored(true), update: updateScored(true), read: readScoreEitherType}
	return &Lesson{
		Name: "change-column-type", Title: "Change a column's type while old code still reads it", Guide: "Rename Column",
		Rules: []string{ruleAddNew, ruleBackfillOld, ruleDeployReaders, ruleSwitchReads, ruleStopOld, ruleDropLater},
		Intro: "users.score holds numbers as zero-padded text ('0042') and becomes an integer. Three replicas run v1, which " +
			"writes the text and shows the score as stored, so every user expects to see back the four digits they saved. " +
			"Get to v3 and drop the old column without a failed request or a wrong read.",
		plan: "users-score-integer.yaml", table: "users", setup: changeTypeSetup, session: true,
		versions: []*codeVersion{v1, v2, v3},
		gates:    map[string]int{"deploy-readers": 1, "stop-old-writes": 2},
		Actions: []*Action{
			{Name: "add-shadow", Kind: kindMigration, Does: "shepherd's add-shadow: ADD COLUMN score_shepherd_new integer, and triggers that keep it in step with score", rule: ruleAddNew, apply: runPhases("add-shadow")},
			{Name: "backfill", Kind: kindData, Does: "shepherd's backfill: score_shepherd_new = CAST(score AS INTEGER) for existing rows, in short batches", rule: ruleBackfillOld, apply: runPhases("backfill")},
			{Name: "deploy-readers", Kind: kindDeploy, Does: "deploy v2: shows text and integer scores alike, still writes text (the deploy-readers gate)", rule: ruleDeployReaders, apply: deployTo(1, "deploy-readers")},
			{Name: "swap", Kind: kindMigration, Does: "shepherd's swap: rebuild users so that score is the integer column, the text kept aside in score_shepherd_old", rule: ruleSwitchReads, apply: runPhases("swap")},
			{Name: "deploy-stop-old-writes", Kind: kindDeploy, Does: "deploy v3: writes score as an integer (the stop-old-writes gate)", rule: ruleStopOld, apply: deployTo(2, "stop-old-writes")},
			{Name: "drop-old-column", Kind: kindMigration, Does: "shepherd's drop-old-column: drop the triggers and score_shepherd_old, the point of no return", rule: ruleDropLater, apply: runPhases("drop-old-column")},
			{Name: "deploy-and-drop", Kind: kindDeploy, Does: "shortcut: one release deploys v3, and its release job confirms stop-old-writes and drops score_shepherd_old at once", rule: ruleDropLater,
				apply: func(ctx context.Context, r *Run) error {
					if err := deployTo(2, "stop-old-writes")(ctx, r); err != nil {
						return err
					}
					if err := runPhases("stop-old-writes", "drop-old-column")(ctx, r); err != nil {
						return err
					}
					// What the early drop costs, said as it is: no request
					// of this fleet names score_shepherd_old, and SQLite's
					// integer column takes v2's text '0042' as 42.
					r.say("no running code reads score_shepherd_old, and the v2 replicas the deploy has not reached write text, which the integer column takes as a number: " +
						"what the drop took is the way back (shepherd rollback cannot swap back any more, so v1's text is gone for good)")
					return nil
				}},
			{Name: "roll-back-to-v1", Kind: kindRecovery, Does: "roll the application back to v1, as a release rollback does (undo the swap first with shepherd rollback, while the old column is there to swap back)", rule: ruleDropLater, apply: deployTo(0, "")},
			rollbackAction,
		},
		Safe:     []string{"add-shadow", "backfill", "deploy-readers", "swap", "deploy-stop-old-writes", "drop-old-column"},
		diagnose: diagnoseChangeType,
		complete: playbookComplete,
	}
}

func diagnoseChangeType(r *Run, o occurrence) (string, string) {
	msg := dbError(o.err)
	who := ""
	if o.version != nil {
		who = o.version.ID
	}
	done := func(id string) bool { return r.sess.Progress().Of(id) == phases.Done }
	if o.kind == "migration-failed" && r.cur != nil && r.cur.action.Name == "drop-old-column" {
		if next, more := r.plan.PlaybookDef().Next(r.sess.Progress()); more && next.ID != "drop-old-column" {
			return ruleDropLater, "shepherd drops the old column only once every phase before it is done (next: " + next.ID +
				"): until then running code may still need score's old type, and only the old column can bring it back."
		}
	}
	if o.kind == "migration-failed" && strings.Contains(msg, "score_shepherd_new") {
		return ruleAddNew, "That phase needs score_shepherd_new, and it is not there yet: add the shadow column first."
	}
	if o.kind == "null-read" && o.col == "score" && !done("backfill") {
		return ruleBackfillOld, "The swap moved score_shepherd_new into score's name before the backfill had converted the rows written before add-shadow: they have no score now. Backfill first, then swap."
	}
	if o.kind == "null-read" && o.col == "score" {
		return ruleBackfillOld, "score is NULL where " + o.want + " was written: the conversion did not reach this row before the swap moved score_shepherd_new into score's name."
	}
	if o.kind == "lost-write" && o.col == "score" {
		switch {
		case done("drop-old-column") && r.did("roll-back-to-v1"):
			why := "score_shepherd_old was dropped"
			if r.did("deploy-and-drop") {
				why += " in the same release that stopped the old writes"
			}
			return ruleDropLater, why + ", so the swap can no longer be undone, and " + who +
				", rolled back to, reads score as stored: the integer " + o.got + " where it shows " + o.want +
				". Keep the old column until the release after stop-old-writes has proven itself: until then shepherd rollback swaps back and old code reads its text again."
		case done("swap") && r.did("roll-back-to-v1"):
			return ruleDeployReaders, "The code went back to " + who + " while score was still the integer column: swap back first (shepherd rollback, while score_shepherd_old is there), then roll the code back."
		case done("swap"):
			return ruleDeployReaders, "The swap gave score its new type while " + who + ", which shows score as stored, still ran: it read the integer " +
				o.got + " where the user saved " + o.want + ". Deploy code that reads both types everywhere first, then swap."
		default:
			return ruleDeployReaders, who + " shows score as stored, and the row holds " + o.got + " where " + o.want +
				" was saved: integers were written before every replica could read them. Deploy the readers everywhere, and let the swap switch the type."
		}
	}
	return r.actionRule(), ""
}
