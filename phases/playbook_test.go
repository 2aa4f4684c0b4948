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
	if !ph.Batched(&Plan{Tighten: &TightenSpec{Clean: []Assign{{Column: "amount"}}}}) {
		t.Errorf("clean with clean: expressions is not batched")
	}
	if add, _ := Playbooks()[AddColumn].Phase("backfill"); !add.Batched(&Plan{}) {
		t.Errorf("add-column's backfill is not batched")
	}
}

// The column a plan adds is add-column's column:, rename-column's to:, and
// none for tighten-constraint.
func TestNewColumn(t *testing.T) {
	for _, c := range []struct{ playbook, want string }{
		{AddColumn, "email"}, {RenameColumn, "full_name"}, {TightenConstraint, ""},
	} {
		p := &Plan{Playbook: c.playbook}
		switch c.playbook {
		case AddColumn:
			p.AddColumn = &AddColumnSpec{Column: "email"}
		case RenameColumn:
			p.RenameColumn = &RenameColumnSpec{Column: "name", To: "full_name"}
		case TightenConstraint:
			p.Tighten = &TightenSpec{}
		}
		if got := p.NewColumn(); got != c.want {
			t.Errorf("%s: NewColumn() = %q, want %q", c.playbook, got, c.want)
		}
	}
}
