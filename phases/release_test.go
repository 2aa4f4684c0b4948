package phases

import (
	"testing"
	"time"
)

func TestTooSoonIsWithinOneRelease(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		confirmed time.Time
		want      bool
	}{
		{time.Time{}, false},
		{now, true},
		{now.Add(-59 * time.Minute), true},
		{now.Add(-OneRelease), false},
		{now.Add(-2 * time.Hour), false},
	} {
		if got := TooSoon(c.confirmed, now); got != c.want {
			t.Errorf("TooSoon(%v ago) = %v, want %v", now.Sub(c.confirmed), got, c.want)
		}
	}
}

// A gate's deploy and whether the operator's word is its whole
// verification are read from the playbook, for every gate.
func TestGateDeployAndVerifiedByWord(t *testing.T) {
	byWord := map[string]bool{"deploy-readers": true, "dual-write": true, "stop-old-writes": true, "validate-in-app": true, "stop-using": true}
	for name, pb := range Playbooks() {
		for _, ph := range pb.Phases {
			if !ph.Gate {
				if ph.Deploy() != ph.Does {
					t.Errorf("%s/%s: Deploy() = %q, want its Does", name, ph.ID, ph.Deploy())
				}
				continue
			}
			if ph.Deploy() == ph.Does || ph.Deploy() == "" {
				t.Errorf("%s/%s: Deploy() = %q from %q", name, ph.ID, ph.Deploy(), ph.Does)
			}
			if got := ph.VerifiedByWord(); got != byWord[ph.ID] {
				t.Errorf("%s/%s: VerifiedByWord() = %v, want %v (Verify: %q)", name, ph.ID, got, byWord[ph.ID], ph.Verify)
			}
		}
	}
}
