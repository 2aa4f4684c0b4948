package phases

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// A failed phase is in force only if it changed something: the engine
// records which, and Effective gives the state machine its view.
func TestEffective(t *testing.T) {
	for _, tc := range []struct {
		recorded Status
		took     bool
		want     Status
	}{
		{Failed, false, FailedUnchanged},
		{Failed, true, Failed},
		{Done, false, Done},
		{Running, false, Running},
		{Pending, true, Pending},
		{Waiting, false, Waiting},
		{RolledBack, true, RolledBack},
	} {
		if got := Effective(tc.recorded, tc.took); got != tc.want {
			t.Errorf("Effective(%s, took effect %v) = %s, want %s", tc.recorded, tc.took, got, tc.want)
		}
	}
	if InForce(FailedUnchanged) {
		t.Error("InForce(FailedUnchanged) = true: a failure that changed nothing is not in force")
	}
	if !InForce(Failed) || !InForce(Running) || !InForce(Done) {
		t.Error("a phase done, running or failed after a change must be in force")
	}
}

// A failure that changed nothing goes back to pending when rollback goes
// past it, or starts again; one that changed something does not go back
// to pending without being reverted.
func TestTransitionFailedUnchanged(t *testing.T) {
	for a, want := range map[Action]Status{Start: Running, Fail: Failed, Arrive: Waiting, Reset: Pending} {
		if got, err := Transition(FailedUnchanged, a); err != nil || got != want {
			t.Errorf("Transition(failed unchanged, %s) = %s, %v; want %s", a, got, err, want)
		}
	}
	for _, a := range []Action{Finish, Revert} {
		if _, err := Transition(FailedUnchanged, a); err == nil {
			t.Errorf("Transition(failed unchanged, %s) allowed", a)
		}
	}
	if _, err := Transition(Failed, Reset); err == nil {
		t.Error("Transition(failed, reset) allowed: a failure that changed something must be reverted, not reset")
	}
}

// Rollback passes over a phase that failed with nothing changed (it goes
// back to pending) and reverts the phase before it.
func TestRollbackTargetPassesOverFailedUnchanged(t *testing.T) {
	rename := Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Done, "stop-old-writes": Done}
	with := func(base Progress, kv ...any) Progress {
		p := Progress{}
		for k, v := range base {
			p[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1].(Status)
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		playbook string
		progress Progress
		target   string
		resets   []string
		refused  string
	}{
		{name: "drop-old-column refused before its DDL", playbook: RenameColumn, progress: with(rename, "drop-old-column", FailedUnchanged),
			target: "stop-old-writes", resets: []string{"drop-old-column"}},
		{name: "drop-old-column failed part-way is still the target", playbook: RenameColumn, progress: with(rename, "drop-old-column", Failed),
			target: "drop-old-column"},
		{name: "stop-old-writes refused on arrival", playbook: RenameColumn, progress: with(rename, "stop-old-writes", FailedUnchanged),
			target: "switch-reads", resets: []string{"stop-old-writes"}},
		{name: "enforce refused while rows are NULL", playbook: AddColumn,
			progress: Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done, "enforce": FailedUnchanged},
			target:   "switch-writes", resets: []string{"enforce"}},
		{name: "a waiting gate and a failure that changed nothing", playbook: AddColumn,
			progress: Progress{"add-column": Done, "deploy-readers": Done, "backfill": FailedUnchanged, "switch-writes": Waiting},
			target:   "deploy-readers", resets: []string{"switch-writes", "backfill"}},
		{name: "add-column failed with nothing changed", playbook: AddColumn, progress: Progress{"add-column": FailedUnchanged},
			refused: "nothing to roll back: add-column failed without changing anything, so it is not in force"},
		{name: "add-column failed with nothing changed after a full rollback", playbook: AddColumn,
			progress: Progress{"add-column": FailedUnchanged, "deploy-readers": RolledBack},
			refused:  "nothing to roll back: add-column failed without changing anything"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, resets, err := Playbooks()[tc.playbook].RollbackTarget(tc.progress)
			if tc.refused != "" {
				var re *RefusedError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("RollbackTarget = %q, %v; want a refusal containing %q", target.ID, err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("RollbackTarget: %v", err)
			}
			if target.ID != tc.target {
				t.Errorf("target = %q, want %q", target.ID, tc.target)
			}
			if got := ids(resets); !slices.Equal(got, tc.resets) {
				t.Errorf("resets = %q, want %q", got, tc.resets)
			}
		})
	}
}

// A field may change while no phase that uses it has taken effect, wholly
// or in part; a field a phase applies again when it reruns (backfill:,
// clean:) until one that uses it is done. The refusal says exactly when.
func TestCheckEditByUse(t *testing.T) {
	addDone := Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done}
	with := func(base Progress, kv ...any) Progress {
		p := Progress{}
		for k, v := range base {
			p[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1].(Status)
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		playbook string
		field    string
		progress Progress
		refused  string // "" when allowed
	}{
		{"add: type after add-column failed with nothing changed", AddColumn, "type", Progress{"add-column": FailedUnchanged}, ""},
		{"add: type once add-column is done", AddColumn, "type", Progress{"add-column": Done, "deploy-readers": Waiting},
			"type can change only until add-column or enforce takes effect, and add-column is done"},
		{"add: type after add-column failed part-way", AddColumn, "type", Progress{"add-column": Failed},
			"and add-column failed after it changed the database"},
		{"add: type while add-column runs or was interrupted", AddColumn, "type", Progress{"add-column": Running},
			"and add-column is running or was interrupted"},
		{"add: type, add-column rolled back", AddColumn, "type", Progress{"add-column": RolledBack, "deploy-readers": RolledBack}, ""},
		{"add: not_null before enforce", AddColumn, "not_null", addDone, ""},
		{"add: not_null after enforce refused with nothing changed", AddColumn, "not_null", with(addDone, "enforce", FailedUnchanged), ""},
		{"add: not_null once enforce is done", AddColumn, "not_null", with(addDone, "enforce", Done),
			"not_null can change only until enforce takes effect, and enforce is done"},
		{"add: backfill once backfill is done", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done},
			"backfill can change only until backfill or switch-writes is done, and backfill is done"},
		{"add: column", AddColumn, "column", Progress{"add-column": Done}, "column cannot change while any phase of the plan is in force"},
		{"add: column when only a failure that changed nothing is recorded", AddColumn, "column", Progress{"add-column": FailedUnchanged}, ""},
		{"rename: type after add-column failed with nothing changed", RenameColumn, "type", Progress{"add-column": FailedUnchanged}, ""},
		{"rename: type once add-column is done", RenameColumn, "type", Progress{"add-column": Done},
			"type can change only until add-column or stop-old-writes takes effect, and add-column is done"},
		{"rename: to", RenameColumn, "to", with(Progress{"add-column": Done}, "drop-old-column", FailedUnchanged), "to cannot change"},
		{"tighten: constraint after validate-in-app", TightenConstraint, "constraint", Progress{"validate-in-app": Done},
			"constraint cannot change while any phase of the plan is in force"},
		{"tighten: key before clean", TightenConstraint, "key", Progress{"validate-in-app": Done}, ""},
		{"tighten: key once clean walked part of the table", TightenConstraint, "key", Progress{"validate-in-app": Done, "clean": Failed},
			"key can change only until clean takes effect, and clean failed after it changed the database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Playbooks()[tc.playbook].CheckEdit(tc.field, tc.progress)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("CheckEdit(%s) = %v, want allowed", tc.field, err)
			case tc.refused != "" && err == nil:
				t.Errorf("CheckEdit(%s) allowed, want refused (%s)", tc.field, tc.refused)
			case tc.refused != "" && !strings.Contains(err.Error(), tc.refused):
				t.Errorf("CheckEdit(%s) = %q, want it to contain %q", tc.field, err, tc.refused)
			}
		})
	}
}

// The rollbacks that would let a refused field change, computed from the
// playbook and the progress: the fewest, in the order rollback does them.
func TestRollbacksToEdit(t *testing.T) {
	all := Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done, "enforce": Done}
	with := func(base Progress, kv ...any) Progress {
		p := Progress{}
		for k, v := range base {
			p[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1].(Status)
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		playbook string
		fields   []string
		progress Progress
		want     []string
		refused  string
	}{
		{"backfill, enforce not run", AddColumn, []string{"backfill"}, with(all, "enforce", Pending), []string{"switch-writes", "backfill"}, ""},
		{"backfill, everything done", AddColumn, []string{"backfill"}, all, []string{"enforce", "switch-writes", "backfill"}, ""},
		{"backfill, the writes gate waiting", AddColumn, []string{"backfill"}, with(all, "switch-writes", Waiting, "enforce", Pending), []string{"backfill"}, ""},
		{"not_null", AddColumn, []string{"not_null"}, all, []string{"enforce"}, ""},
		{"type", AddColumn, []string{"type"}, all, []string{"enforce", "switch-writes", "backfill", "deploy-readers", "add-column"}, ""},
		{"type, enforce refused with nothing changed", AddColumn, []string{"type"}, with(all, "enforce", FailedUnchanged),
			[]string{"switch-writes", "backfill", "deploy-readers", "add-column"}, ""},
		{"type and backfill", AddColumn, []string{"backfill", "type"}, with(all, "enforce", Pending),
			[]string{"switch-writes", "backfill", "deploy-readers", "add-column"}, ""},
		{"rename: to past the point of no return", RenameColumn, []string{"to"},
			Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Done, "stop-old-writes": Done, "drop-old-column": Done},
			nil, "drop-old-column is the point of no return"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Playbooks()[tc.playbook].RollbacksToEdit(tc.fields, tc.progress)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("RollbacksToEdit = %q, %v; want an error containing %q", got, err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("RollbacksToEdit: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("RollbacksToEdit = %q, want %q", got, tc.want)
			}
		})
	}
}
