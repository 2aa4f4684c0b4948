package phases

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The status strings are part of the contract (`status --json`).
func TestStatusAndActionNames(t *testing.T) {
	for _, tc := range []struct {
		got  string
		want string
	}{
		{string(Pending), "pending"},
		{string(Running), "running"},
		{string(Waiting), "waiting"},
		{string(Done), "done"},
		{string(Failed), "failed"},
		{string(RolledBack), "rolled-back"},
		{string(Start), "start"},
		{string(Finish), "finish"},
		{string(Fail), "fail"},
		{string(Arrive), "arrive"},
		{string(Revert), "revert"},
		{string(Reset), "reset"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestTransition checks all 36 (status, action) pairs against a table written
// out here by hand, not derived from the transitions map.
func TestTransition(t *testing.T) {
	const refused = Status("") // the action is an error from that status
	actions := []Action{Start, Finish, Fail, Arrive, Revert, Reset}
	want := []struct {
		from Status
		to   [6]Status // indexed like actions
	}{
		//                Start    Finish   Fail     Arrive   Revert      Reset
		{Pending, [6]Status{Running, refused, Failed, Waiting, refused, refused}},
		{Running, [6]Status{Running, Done, Failed, refused, RolledBack, refused}},
		{Waiting, [6]Status{Running, refused, Failed, Waiting, refused, Pending}},
		{Done, [6]Status{refused, refused, refused, refused, RolledBack, refused}},
		{Failed, [6]Status{Running, refused, Failed, Waiting, RolledBack, refused}},
		{RolledBack, [6]Status{Running, refused, Failed, Waiting, refused, refused}},
	}
	n := 0
	for _, row := range want {
		for i, a := range actions {
			n++
			exp := row.to[i]
			t.Run(fmt.Sprintf("%s/%s", row.from, a), func(t *testing.T) {
				got, err := Transition(row.from, a)
				if exp == refused {
					if err == nil {
						t.Fatalf("Transition(%s, %s) = %s, want an error", row.from, a, got)
					}
					if got != row.from {
						t.Errorf("on error Transition returned %q, want the unchanged %q", got, row.from)
					}
					wantMsg := fmt.Sprintf("cannot %s a phase that is %s", a, row.from)
					if err.Error() != wantMsg {
						t.Errorf("error = %q, want %q", err, wantMsg)
					}
					return
				}
				if err != nil {
					t.Fatalf("Transition(%s, %s): unexpected error %v", row.from, a, err)
				}
				if got != exp {
					t.Errorf("Transition(%s, %s) = %s, want %s", row.from, a, got, exp)
				}
			})
		}
	}
	if n != 36 {
		t.Fatalf("checked %d pairs, want 36", n)
	}
}

func TestTransitionUnknownStatusOrAction(t *testing.T) {
	for _, tc := range []struct {
		from Status
		a    Action
	}{
		{"bogus", Start},
		{"", Start},
		{Pending, "confirm"},
		{Done, ""},
	} {
		got, err := Transition(tc.from, tc.a)
		if err == nil {
			t.Errorf("Transition(%q, %q) = %q, want an error", tc.from, tc.a, got)
			continue
		}
		if got != tc.from {
			t.Errorf("Transition(%q, %q) returned %q on error, want %q", tc.from, tc.a, got, tc.from)
		}
	}
}

// A realistic life of a gate and of a step, action by action.
func TestTransitionSequences(t *testing.T) {
	for _, tc := range []struct {
		name    string
		actions []Action
		want    Status
	}{
		{"step runs", []Action{Start, Finish}, Done},
		{"step crashes and resumes", []Action{Start, Start, Finish}, Done},
		{"step fails and is retried", []Action{Start, Fail, Start, Finish}, Done},
		{"gate is confirmed", []Action{Arrive, Start, Finish}, Done},
		{"gate check fails, waits again", []Action{Arrive, Start, Fail, Arrive}, Waiting},
		{"gate reset by rollback", []Action{Arrive, Reset}, Pending},
		{"done step rolled back and rerun", []Action{Start, Finish, Revert, Start, Finish}, Done},
		{"rolled-back gate reached again", []Action{Arrive, Start, Finish, Revert, Arrive}, Waiting},
		{"failed step rolled back", []Action{Start, Fail, Revert}, RolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Pending
			for _, a := range tc.actions {
				next, err := Transition(s, a)
				if err != nil {
					t.Fatalf("%s from %s: %v", a, s, err)
				}
				s = next
			}
			if s != tc.want {
				t.Errorf("ended %s, want %s", s, tc.want)
			}
		})
	}
}

func TestProgressOf(t *testing.T) {
	var nilProgress Progress
	if got := nilProgress.Of("backfill"); got != Pending {
		t.Errorf("nil Progress: Of = %q, want pending", got)
	}
	p := Progress{"add-column": Done, "backfill": "", "enforce": Failed}
	for id, want := range map[string]Status{
		"add-column":     Done,
		"backfill":       Pending, // empty status counts as never run
		"enforce":        Failed,
		"deploy-readers": Pending, // absent
	} {
		if got := p.Of(id); got != want {
			t.Errorf("Of(%q) = %q, want %q", id, got, want)
		}
	}
}

type phaseSpec struct {
	id      string
	gate    bool
	confirm bool
	undo    Undo
}

// The playbooks as DESIGN.md lists them: ids in order, gates, confirmation,
// and how rollback reverts each phase.
var wantPlaybooks = map[string]struct {
	seed   string
	phases []phaseSpec
}{
	AddColumn: {"Add Nullable Column", []phaseSpec{
		{"add-column", false, false, UndoDDLIfLast},
		{"deploy-readers", true, false, UndoGate},
		{"backfill", false, false, UndoKeepData},
		{"switch-writes", true, false, UndoGate},
		{"enforce", false, false, UndoDDL},
	}},
	RenameColumn: {"Rename Column", []phaseSpec{
		{"add-column", false, false, UndoDDLIfLast},
		{"dual-write", true, false, UndoGate},
		{"backfill", false, false, UndoKeepData},
		{"switch-reads", true, false, UndoGate},
		{"stop-old-writes", true, false, UndoGate},
		{"drop-old-column", false, true, UndoNever},
	}},
	TightenConstraint: {"Tighten Constraint", []phaseSpec{
		{"validate-in-app", true, false, UndoGate},
		{"clean", false, false, UndoKeepData},
		{"add-constraint", false, false, UndoDDL},
		{"verify-failure-path", false, false, UndoKeepData},
	}},
	AddIndex: {"Backward-Compatible Changes", []phaseSpec{
		{"create-index", false, false, UndoDDL},
		{"verify-index", false, false, UndoKeepData},
	}},
	DropIndex: {"Backward-Compatible Changes", []phaseSpec{
		{"stop-using", true, false, UndoGate},
		{"drop-index", false, false, UndoDDL},
	}},
	DropColumn: {"Rename Column", []phaseSpec{
		{"relax", false, false, UndoDDL},
		{"stop-using", true, false, UndoGate},
		{"archive", false, false, UndoKeepData},
		{"drop-column", false, true, UndoNever},
	}},
	ChangeColumnType: {"Rename Column", []phaseSpec{
		{"add-shadow", false, false, UndoDDLIfLast},
		{"backfill", false, false, UndoKeepData},
		{"deploy-readers", true, false, UndoGate},
		{"swap", false, false, UndoDDL},
		{"stop-old-writes", true, false, UndoGate},
		{"drop-old-column", false, true, UndoNever},
	}},
}

func TestPlaybookDefinitions(t *testing.T) {
	pbs := Playbooks()
	if len(pbs) != len(wantPlaybooks) || len(PlaybookNames()) != len(pbs) {
		t.Fatalf("Playbooks() has %d playbooks and PlaybookNames() %d, want %d", len(pbs), len(PlaybookNames()), len(wantPlaybooks))
	}
	for name, want := range wantPlaybooks {
		t.Run(name, func(t *testing.T) {
			pb, ok := pbs[name]
			if !ok {
				t.Fatalf("no playbook %q", name)
			}
			if pb.Name != name {
				t.Errorf("Name = %q, want %q", pb.Name, name)
			}
			if pb.Guide != want.seed {
				t.Errorf("Guide = %q, want %q", pb.Guide, want.seed)
			}
			var wantIDs []string
			for _, s := range want.phases {
				wantIDs = append(wantIDs, s.id)
			}
			if got := pb.IDs(); !slices.Equal(got, wantIDs) {
				t.Fatalf("IDs() = %q, want %q", got, wantIDs)
			}
			for i, s := range want.phases {
				ph := pb.Phases[i]
				if ph.Gate != s.gate {
					t.Errorf("%s: Gate = %v, want %v", s.id, ph.Gate, s.gate)
				}
				if ph.Confirm != s.confirm {
					t.Errorf("%s: Confirm = %v, want %v", s.id, ph.Confirm, s.confirm)
				}
				if ph.Undo != s.undo {
					t.Errorf("%s: Undo = %d, want %d", s.id, ph.Undo, s.undo)
				}
				for field, text := range map[string]string{"Does": ph.Does, "Why": ph.Why, "Verify": ph.Verify, "Revert": ph.Revert} {
					if strings.TrimSpace(text) == "" {
						t.Errorf("%s: %s is empty", s.id, field)
					}
				}
				if s.gate && !strings.HasPrefix(ph.Does, "Gate: ") {
					t.Errorf("%s: a gate's Does should start with \"Gate: \", got %q", s.id, ph.Does)
				}
				if got := pb.Index(s.id); got != i {
					t.Errorf("Index(%q) = %d, want %d", s.id, got, i)
				}
				if got, ok := pb.Phase(s.id); !ok || got.ID != s.id {
					t.Errorf("Phase(%q) = %q, %v", s.id, got.ID, ok)
				}
			}
			if got := pb.Index("no-such-phase"); got != -1 {
				t.Errorf("Index of an unknown phase = %d, want -1", got)
			}
			if got, ok := pb.Phase("no-such-phase"); ok || got.ID != "" {
				t.Errorf("Phase of an unknown phase = %q, %v; want zero, false", got.ID, ok)
			}
		})
	}
}

// Playbooks are built fresh on each call: one caller's change is not seen by
// another.
func TestPlaybooksAreFresh(t *testing.T) {
	a := Playbooks()
	a[AddColumn].Phases[0].ID = "changed"
	a[AddColumn].Phases[1].Gate = false
	delete(a, RenameColumn)
	b := Playbooks()
	if got := b[AddColumn].Phases[0].ID; got != "add-column" {
		t.Errorf("second Playbooks() sees the first caller's change: %q", got)
	}
	if !b[AddColumn].Phases[1].Gate {
		t.Error("second Playbooks() sees deploy-readers' Gate changed")
	}
	if _, ok := b[RenameColumn]; !ok {
		t.Error("second Playbooks() lost rename-column")
	}
}

func TestNext(t *testing.T) {
	type want struct {
		id      string // "" when every phase is done
		gate    bool
		confirm bool
	}
	for _, tc := range []struct {
		name     string
		playbook string
		progress Progress
		want     want
	}{
		// add-column
		{"add: nothing run", AddColumn, nil, want{"add-column", false, false}},
		{"add: empty map", AddColumn, Progress{}, want{"add-column", false, false}},
		{"add: first running", AddColumn, Progress{"add-column": Running}, want{"add-column", false, false}},
		{"add: first failed", AddColumn, Progress{"add-column": Failed}, want{"add-column", false, false}},
		{"add: at the readers gate", AddColumn, Progress{"add-column": Done}, want{"deploy-readers", true, false}},
		{"add: readers gate waiting", AddColumn, Progress{"add-column": Done, "deploy-readers": Waiting}, want{"deploy-readers", true, false}},
		{"add: backfill next", AddColumn, Progress{"add-column": Done, "deploy-readers": Done}, want{"backfill", false, false}},
		{"add: backfill interrupted", AddColumn, Progress{"add-column": Done, "deploy-readers": Done, "backfill": Running}, want{"backfill", false, false}},
		{"add: writes gate", AddColumn, Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done}, want{"switch-writes", true, false}},
		{"add: enforce", AddColumn, Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done}, want{"enforce", false, false}},
		{"add: enforce rolled back", AddColumn, Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done, "enforce": RolledBack}, want{"enforce", false, false}},
		{"add: complete", AddColumn, Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done, "enforce": Done}, want{}},
		{"add: earliest not-done wins", AddColumn, Progress{"add-column": Done, "deploy-readers": RolledBack, "backfill": Done}, want{"deploy-readers", true, false}},
		{"add: unknown ids ignored", AddColumn, Progress{"dual-write": Done, "clean": Done}, want{"add-column", false, false}},
		// rename-column
		{"rename: nothing run", RenameColumn, Progress{}, want{"add-column", false, false}},
		{"rename: dual-write gate", RenameColumn, Progress{"add-column": Done}, want{"dual-write", true, false}},
		{"rename: backfill", RenameColumn, Progress{"add-column": Done, "dual-write": Done}, want{"backfill", false, false}},
		{"rename: switch-reads gate", RenameColumn, Progress{"add-column": Done, "dual-write": Done, "backfill": Done}, want{"switch-reads", true, false}},
		{"rename: switch-reads failed check", RenameColumn, Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Failed}, want{"switch-reads", true, false}},
		{"rename: stop-old-writes gate", RenameColumn, Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Done}, want{"stop-old-writes", true, false}},
		{"rename: drop needs confirmation", RenameColumn, Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Done, "stop-old-writes": Done}, want{"drop-old-column", false, true}},
		{"rename: complete", RenameColumn, Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Done, "stop-old-writes": Done, "drop-old-column": Done}, want{}},
		// tighten-constraint
		{"tighten: starts at a gate", TightenConstraint, nil, want{"validate-in-app", true, false}},
		{"tighten: clean", TightenConstraint, Progress{"validate-in-app": Done}, want{"clean", false, false}},
		{"tighten: add-constraint", TightenConstraint, Progress{"validate-in-app": Done, "clean": Done}, want{"add-constraint", false, false}},
		{"tighten: verify", TightenConstraint, Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done}, want{"verify-failure-path", false, false}},
		{"tighten: verify failed", TightenConstraint, Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done, "verify-failure-path": Failed}, want{"verify-failure-path", false, false}},
		{"tighten: complete", TightenConstraint, Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done, "verify-failure-path": Done}, want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := Playbooks()[tc.playbook]
			ph, ok := pb.Next(tc.progress)
			if tc.want.id == "" {
				if ok {
					t.Fatalf("Next = %q, want none (complete)", ph.ID)
				}
				if ph.ID != "" {
					t.Errorf("Next returned a phase %q with ok=false", ph.ID)
				}
				if !pb.Complete(tc.progress) {
					t.Error("Complete = false, want true")
				}
				return
			}
			if !ok {
				t.Fatalf("Next: ok=false, want %q", tc.want.id)
			}
			if ph.ID != tc.want.id {
				t.Errorf("Next = %q, want %q", ph.ID, tc.want.id)
			}
			if ph.Gate != tc.want.gate {
				t.Errorf("Next %q: Gate = %v, want %v", ph.ID, ph.Gate, tc.want.gate)
			}
			if ph.Confirm != tc.want.confirm {
				t.Errorf("Next %q: Confirm = %v, want %v", ph.ID, ph.Confirm, tc.want.confirm)
			}
			if pb.Complete(tc.progress) {
				t.Error("Complete = true, want false")
			}
		})
	}
}

func TestRollbackTarget(t *testing.T) {
	allAdd := Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done, "enforce": Done}
	allRename := Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Done, "stop-old-writes": Done, "drop-old-column": Done}
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
	const nothing = "nothing to roll back: no phase of this plan has run"
	const allRolledBack = "nothing to roll back: every phase is rolled back or pending"
	for _, tc := range []struct {
		name     string
		playbook string
		progress Progress
		target   string
		undo     Undo
		resets   []string
		// refusal: the phase the *RefusedError names ("" for none) and
		// substrings of its reason.
		refused     bool
		refusedAt   string
		reasonParts []string
	}{
		// nothing to roll back
		{name: "add: nil progress", playbook: AddColumn, progress: nil, refused: true, reasonParts: []string{nothing}},
		{name: "add: all pending", playbook: AddColumn, progress: Progress{"add-column": Pending, "deploy-readers": Pending}, refused: true, reasonParts: []string{nothing}},
		{name: "add: add-column already rolled back", playbook: AddColumn, progress: Progress{"add-column": RolledBack}, refused: true, reasonParts: []string{allRolledBack}},
		{name: "add: every phase rolled back", playbook: AddColumn, progress: Progress{"add-column": RolledBack, "deploy-readers": RolledBack, "backfill": RolledBack, "switch-writes": RolledBack, "enforce": RolledBack},
			refused: true, reasonParts: []string{allRolledBack}},
		{name: "add: rolled back and pending", playbook: AddColumn, progress: Progress{"add-column": RolledBack, "deploy-readers": RolledBack}, refused: true, reasonParts: []string{allRolledBack}},
		{name: "rename: every phase rolled back or pending", playbook: RenameColumn, progress: Progress{"add-column": RolledBack, "dual-write": RolledBack, "backfill": RolledBack},
			refused: true, reasonParts: []string{allRolledBack}},
		{name: "tighten: every phase rolled back", playbook: TightenConstraint, progress: Progress{"validate-in-app": RolledBack, "clean": RolledBack, "add-constraint": RolledBack, "verify-failure-path": RolledBack},
			refused: true, reasonParts: []string{allRolledBack}},
		{name: "tighten: only the first gate waiting", playbook: TightenConstraint, progress: Progress{"validate-in-app": Waiting}, refused: true, reasonParts: []string{nothing}},
		{name: "rename: nothing run", playbook: RenameColumn, progress: Progress{}, refused: true, reasonParts: []string{nothing}},

		// add-column playbook
		{name: "add: add-column done alone", playbook: AddColumn, progress: Progress{"add-column": Done}, target: "add-column", undo: UndoDDLIfLast},
		{name: "add: add-column running", playbook: AddColumn, progress: Progress{"add-column": Running}, target: "add-column", undo: UndoDDLIfLast},
		{name: "add: add-column failed", playbook: AddColumn, progress: Progress{"add-column": Failed}, target: "add-column", undo: UndoDDLIfLast},
		{name: "add: readers gate done", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Done}, target: "deploy-readers", undo: UndoGate},
		{name: "add: backfill interrupted", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Done, "backfill": Running}, target: "backfill", undo: UndoKeepData},
		{name: "add: backfill failed", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Done, "backfill": Failed}, target: "backfill", undo: UndoKeepData},
		{name: "add: writes gate waiting is reset", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Waiting}, target: "backfill", undo: UndoKeepData, resets: []string{"switch-writes"}},
		{name: "add: writes gate done", playbook: AddColumn, progress: with(allAdd, "enforce", Pending), target: "switch-writes", undo: UndoGate},
		{name: "add: everything done", playbook: AddColumn, progress: allAdd, target: "enforce", undo: UndoDDL},
		{name: "add: enforce failed", playbook: AddColumn, progress: with(allAdd, "enforce", Failed), target: "enforce", undo: UndoDDL},
		{name: "add: enforce rolled back, then the gate", playbook: AddColumn, progress: with(allAdd, "enforce", RolledBack), target: "switch-writes", undo: UndoGate},
		{name: "add: skips rolled-back phases", playbook: AddColumn, progress: with(allAdd, "enforce", RolledBack, "switch-writes", RolledBack, "backfill", RolledBack), target: "deploy-readers", undo: UndoGate},

		// add-column is the target once every later phase is pending,
		// waiting (reset) or rolled back: a rolled-back phase is not in
		// force
		{name: "add: add-column with readers gate waiting", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Waiting},
			target: "add-column", undo: UndoDDLIfLast, resets: []string{"deploy-readers"}},
		{name: "add: backfill done after the readers gate was rolled back", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": RolledBack, "backfill": Done},
			target: "backfill", undo: UndoKeepData},
		{name: "add: add-column with readers rolled back", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": RolledBack},
			target: "add-column", undo: UndoDDLIfLast},
		{name: "add: add-column with readers failed", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Failed},
			target: "deploy-readers", undo: UndoGate},
		{name: "add: add-column with a rolled-back phase and a waiting gate", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": RolledBack, "switch-writes": Waiting},
			target: "add-column", undo: UndoDDLIfLast, resets: []string{"switch-writes"}},
		{name: "add: add-column with everything after rolled back", playbook: AddColumn, progress: with(allAdd, "deploy-readers", RolledBack, "backfill", RolledBack, "switch-writes", RolledBack, "enforce", RolledBack),
			target: "add-column", undo: UndoDDLIfLast},
		{name: "add: add-column after a failed backfill was rolled back", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": RolledBack, "backfill": RolledBack},
			target: "add-column", undo: UndoDDLIfLast},
		{name: "add: a failed backfill is in force", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": RolledBack, "backfill": Failed},
			target: "backfill", undo: UndoKeepData},
		{name: "add: an interrupted backfill is in force", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": Done, "backfill": Running},
			target: "backfill", undo: UndoKeepData},
		{name: "add: add-column with readers failed and rolled back", playbook: AddColumn, progress: Progress{"add-column": Done, "deploy-readers": RolledBack, "backfill": Pending, "switch-writes": Pending},
			target: "add-column", undo: UndoDDLIfLast},
		{name: "add: failed add-column with a later phase failed", playbook: AddColumn, progress: Progress{"add-column": Failed, "deploy-readers": RolledBack, "backfill": Failed},
			target: "backfill", undo: UndoKeepData},
		{name: "add: running add-column after a rolled-back backfill", playbook: AddColumn, progress: Progress{"add-column": Running, "deploy-readers": RolledBack, "backfill": RolledBack},
			target: "add-column", undo: UndoDDLIfLast},

		// rename-column: the point of no return
		{name: "rename: drop-old-column done", playbook: RenameColumn, progress: allRename,
			refused: true, refusedAt: "drop-old-column", reasonParts: []string{"drop-old-column is the point of no return: it is done and cannot be undone"}},
		{name: "rename: drop-old-column failed", playbook: RenameColumn, progress: with(allRename, "drop-old-column", Failed), target: "drop-old-column", undo: UndoNever},
		{name: "rename: drop-old-column interrupted", playbook: RenameColumn, progress: with(allRename, "drop-old-column", Running), target: "drop-old-column", undo: UndoNever},
		{name: "rename: before the drop", playbook: RenameColumn, progress: with(allRename, "drop-old-column", Pending), target: "stop-old-writes", undo: UndoGate},
		{name: "rename: two waiting gates reset, last first", playbook: RenameColumn,
			progress: Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Waiting, "stop-old-writes": Waiting},
			target:   "backfill", undo: UndoKeepData, resets: []string{"stop-old-writes", "switch-reads"}},
		{name: "rename: backfill done, reads gate waiting", playbook: RenameColumn,
			progress: Progress{"add-column": Done, "dual-write": Done, "backfill": Done, "switch-reads": Waiting},
			target:   "backfill", undo: UndoKeepData, resets: []string{"switch-reads"}},
		{name: "rename: add-column alone", playbook: RenameColumn, progress: Progress{"add-column": Done}, target: "add-column", undo: UndoDDLIfLast},
		{name: "rename: add-column with dual-write waiting", playbook: RenameColumn, progress: Progress{"add-column": Done, "dual-write": Waiting},
			target: "add-column", undo: UndoDDLIfLast, resets: []string{"dual-write"}},
		{name: "rename: add-column with dual-write rolled back", playbook: RenameColumn, progress: Progress{"add-column": Done, "dual-write": RolledBack},
			target: "add-column", undo: UndoDDLIfLast},
		{name: "rename: add-column with every later phase rolled back", playbook: RenameColumn,
			progress: Progress{"add-column": Done, "dual-write": RolledBack, "backfill": RolledBack, "switch-reads": RolledBack, "stop-old-writes": RolledBack},
			target:   "add-column", undo: UndoDDLIfLast},

		// tighten-constraint
		{name: "tighten: gate done", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done}, target: "validate-in-app", undo: UndoGate},
		{name: "tighten: clean done", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done, "clean": Done}, target: "clean", undo: UndoKeepData},
		{name: "tighten: clean interrupted", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done, "clean": Running}, target: "clean", undo: UndoKeepData},
		{name: "tighten: constraint added", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done}, target: "add-constraint", undo: UndoDDL},
		{name: "tighten: verify failed", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done, "verify-failure-path": Failed}, target: "verify-failure-path", undo: UndoKeepData},
		{name: "tighten: everything done", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done, "verify-failure-path": Done}, target: "verify-failure-path", undo: UndoKeepData},
		{name: "tighten: verify rolled back", playbook: TightenConstraint, progress: Progress{"validate-in-app": Done, "clean": Done, "add-constraint": Done, "verify-failure-path": RolledBack}, target: "add-constraint", undo: UndoDDL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := Playbooks()[tc.playbook]
			target, resets, err := pb.RollbackTarget(tc.progress)
			if tc.refused {
				if err == nil {
					t.Fatalf("RollbackTarget = %q (resets %q), want a refusal", target.ID, ids(resets))
				}
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("error is %T (%v), want *RefusedError", err, err)
				}
				if re.Phase != tc.refusedAt {
					t.Errorf("RefusedError.Phase = %q, want %q", re.Phase, tc.refusedAt)
				}
				if err.Error() != re.Reason {
					t.Errorf("Error() = %q, want the reason %q", err.Error(), re.Reason)
				}
				for _, part := range tc.reasonParts {
					if !strings.Contains(re.Reason, part) {
						t.Errorf("reason %q does not contain %q", re.Reason, part)
					}
				}
				if len(resets) != 0 {
					t.Errorf("a refusal returned resets %q", ids(resets))
				}
				return
			}
			if err != nil {
				t.Fatalf("RollbackTarget: unexpected error %v", err)
			}
			if target.ID != tc.target {
				t.Errorf("target = %q, want %q", target.ID, tc.target)
			}
			if target.Undo != tc.undo {
				t.Errorf("target %q: Undo = %d, want %d", target.ID, target.Undo, tc.undo)
			}
			if got := ids(resets); !slices.Equal(got, tc.resets) {
				t.Errorf("resets = %q, want %q", got, tc.resets)
			}
			for _, r := range resets {
				if !r.Gate {
					t.Errorf("reset %q is not a gate", r.ID)
				}
			}
		})
	}
}

func ids(phs []Phase) []string {
	var out []string
	for _, ph := range phs {
		out = append(out, ph.ID)
	}
	return out
}

func TestInForce(t *testing.T) {
	for s, want := range map[Status]bool{
		Pending: false, Waiting: false, RolledBack: false,
		Running: true, Done: true, Failed: true,
	} {
		if got := InForce(s); got != want {
			t.Errorf("InForce(%s) = %v, want %v", s, got, want)
		}
	}
}

// Which fields of a plan in flight may change, at each point of its life.
func TestCheckEdit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		playbook string
		field    string
		progress Progress
		refused  string // a substring of the refusal; "" when allowed
	}{
		{"add: backfill before it ran", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Waiting}, ""},
		{"add: backfill failed", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": Failed}, ""},
		{"add: backfill interrupted", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": Running}, ""},
		{"add: backfill rolled back", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": RolledBack}, ""},
		{"add: backfill done, writes gate waiting", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Waiting},
			"backfill can change only until backfill or switch-writes is done, and backfill is done"},
		{"add: backfill rolled back after switch-writes", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": RolledBack, "switch-writes": Done},
			"and switch-writes is done"},
		{"add: both done", AddColumn, "backfill", Progress{"add-column": Done, "deploy-readers": Done, "backfill": Done, "switch-writes": Done},
			"and backfill and switch-writes are done"},
		{"add: type", AddColumn, "type", Progress{"add-column": Done}, "type can change only until add-column or enforce takes effect, and add-column is done"},
		// not_null is used by enforce alone: it may change until enforce
		// takes effect (it was refused while any phase was in force).
		{"add: not_null", AddColumn, "not_null", Progress{"add-column": Done}, ""},
		{"add: not_null once enforce is done", AddColumn, "not_null", Progress{"add-column": Done, "enforce": Done}, "not_null can change only until enforce takes effect"},
		// With no phase in force, every field may change (the changed plan
		// replaces the recorded one): the refusal needs a phase in force.
		{"add: clean is no field of add-column", AddColumn, "clean", Progress{"add-column": Done}, "clean cannot change"},
		{"tighten: clean before it ran", TightenConstraint, "clean", Progress{"validate-in-app": Done}, ""},
		{"tighten: clean failed", TightenConstraint, "clean", Progress{"validate-in-app": Done, "clean": Failed}, ""},
		{"tighten: clean done", TightenConstraint, "clean", Progress{"validate-in-app": Done, "clean": Done}, "clean can change only until clean is done, and clean is done"},
		{"tighten: constraint", TightenConstraint, "constraint", Progress{"validate-in-app": Done}, "constraint cannot change"},
		{"rename: backfill is no field of rename", RenameColumn, "backfill", Progress{"add-column": Done}, "backfill cannot change"},
		{"rename: to", RenameColumn, "to", Progress{"add-column": Done}, "to cannot change"},
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

func TestEditableNow(t *testing.T) {
	add := Playbooks()[AddColumn]
	if got, want := add.EditableNow(Progress{"add-column": Done}), []string{"backfill: until backfill or switch-writes is done", "key: until backfill or switch-writes takes effect", "not_null: until enforce takes effect"}; !slices.Equal(got, want) {
		t.Errorf("EditableNow = %q, want %q", got, want)
	}
	if got, want := add.EditableNow(Progress{"add-column": Done, "backfill": Done}), []string{"not_null: until enforce takes effect"}; !slices.Equal(got, want) {
		t.Errorf("EditableNow after the backfill = %q, want %q", got, want)
	}
	if got, want := add.EditableNow(Progress{"add-column": Done, "backfill": Done, "enforce": Done}), []string(nil); !slices.Equal(got, want) {
		t.Errorf("EditableNow after enforce = %q, want none", got)
	}
	if got, want := Playbooks()[RenameColumn].EditableNow(Progress{"add-column": Done, "dual-write": Done, "backfill": Done}), []string(nil); !slices.Equal(got, want) {
		t.Errorf("rename after the backfill: EditableNow = %q, want none", got)
	}
	if got, want := Playbooks()[TightenConstraint].EditableNow(Progress{"clean": Failed}), []string{"clean: until clean is done", "constraint.violating: at any time"}; !slices.Equal(got, want) {
		t.Errorf("EditableNow = %q, want %q", got, want)
	}
}

// EditedFields reads both plans on one dialect: a fragment for another
// dialect is no change there.
func TestEditedFields(t *testing.T) {
	parse := func(text string) *Plan {
		t.Helper()
		p, err := Parse("plan.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := parse("name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: lower(username)\n")
	for _, tc := range []struct {
		name    string
		now     string
		dialect string
		want    []string
	}{
		{"same", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: lower(username)\n", "postgres", nil},
		{"backfill", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: upper(username)\n", "sqlite", []string{"backfill"}},
		{"type for every dialect, the same", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: {postgres: text, mysql: text, sqlite: text}\nbackfill: lower(username)\n", "mysql", nil},
		{"type for another dialect", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: {postgres: text, mysql: varchar(9), sqlite: text}\nbackfill: lower(username)\n", "postgres", nil},
		{"type for this dialect", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: {postgres: text, mysql: varchar(9), sqlite: text}\nbackfill: lower(username)\n", "mysql", []string{"type"}},
		{"type missing for this dialect", "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: {postgres: text}\nbackfill: lower(username)\n", "sqlite", []string{"type"}},
		{"several", "name: p\nplaybook: add-column\ntable: people\ncolumn: mail\ntype: text\nbackfill: lower(username)\nnot_null: false\n", "sqlite", []string{"table", "column", "not_null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditedFields(base.Canonical(), parse(tc.now), tc.dialect)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("EditedFields = %q, want %q", got, tc.want)
			}
		})
	}
	tight := parse("name: t\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: c, check: \"amount > 0\"}\nclean: {set: {amount: abs(amount)}}\n")
	for _, tc := range []struct {
		now  string
		want []string
	}{
		{"name: t\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: c, check: \"amount > 0\"}\nclean: {set: {amount: \"1\"}}\n", []string{"clean"}},
		{"name: t\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: c, check: \"amount >= 0\"}\nclean: {set: {amount: abs(amount)}}\n", []string{"constraint"}},
		{"name: t\nplaybook: tighten-constraint\ntable: orders\nconstraint: {name: c, check: \"amount > 0\"}\n", []string{"clean"}},
	} {
		got, err := EditedFields(tight.Canonical(), parse(tc.now), "postgres")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("EditedFields(%q) = %q, want %q", tc.now, got, tc.want)
		}
	}
	if _, err := EditedFields([]byte("not json"), base, "sqlite"); err == nil {
		t.Error("EditedFields of an unreadable record: no error")
	}
}
