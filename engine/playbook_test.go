package engine

import (
	"testing"

	"github.com/shepherd-db/shepherd/phases"
)

// Every playbook has its engine unit, and each phase's unit does what the
// phase's definition promises: a phase that is not a deploy runs and
// verifies again, an undo by DDL has its reverse DDL, an undo that keeps the
// data says what stays, a DDL phase previews its statements, and the gate
// that moves NOT NULL does so on arrival.
func TestPlaybookUnitsCoverTheirPhases(t *testing.T) {
	for name, pb := range phases.Playbooks() {
		u := unitOf(name)
		if _, none := u.(noUnit); none {
			t.Errorf("%s: no engine unit in the registry (unitOf)", name)
			continue
		}
		for _, ph := range pb.Phases {
			ops := u.phase(ph.ID)
			missing := func(what string) { t.Errorf("%s/%s: the unit has no %s", name, ph.ID, what) }
			if !ph.Gate && ops.run == nil {
				missing("run")
			}
			if !ph.Gate && ops.reverify == nil {
				missing("reverify")
			}
			if (ph.Undo == phases.UndoDDL || ph.Undo == phases.UndoDDLIfLast) && ops.revert == nil {
				missing("revert")
			}
			if ph.Undo == phases.UndoKeepData && ops.keptData == nil {
				missing("keptData")
			}
			if ph.Schema != phases.SchemaNone && ops.preview == nil {
				missing("preview")
			}
			if ph.MovesNotNull && ops.arrive == nil {
				missing("arrive")
			}
		}
	}
}
