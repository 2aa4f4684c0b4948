package phases

import "testing"

// A phase that must come a release after another names an earlier phase of
// its own playbook, a gate: the rule is about deploys.
func TestOneReleaseAfterNamesAnEarlierGate(t *testing.T) {
	for name, pb := range Playbooks() {
		for i, ph := range pb.Phases {
			if ph.OneReleaseAfter == "" {
				continue
			}
			j := pb.Index(ph.OneReleaseAfter)
			if j < 0 || j >= i || !pb.Phases[j].Gate {
				t.Errorf("%s/%s: OneReleaseAfter %q is not an earlier gate of the playbook", name, ph.ID, ph.OneReleaseAfter)
			}
		}
	}
}

// clean walks the table only when the plan has clean: expressions.
func TestBatchedFollowsThePlansClean(t *testing.T) {
	pb := Playbooks()[TightenConstraint]
	ph, _ := pb.Phase("clean")
	if ph.Batched(&Plan{}) {
		t.Errorf("clean without clean: expressions is batched")
	}
	if !ph.Batched(&Plan{Clean: []Assign{{Column: "amount"}}}) {
		t.Errorf("clean with clean: expressions is not batched")
	}
	if add, _ := Playbooks()[AddColumn].Phase("backfill"); !add.Batched(&Plan{}) {
		t.Errorf("add-column's backfill is not batched")
	}
}
