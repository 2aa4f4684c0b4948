package engine

import "fmt"

// Previews renders every phase as Preview does, with the live table, but
// phase by phase: a phase whose statements cannot be rendered from the live
// schema yet (on SQLite, enforce's table rebuild needs the column that
// add-column has not added) is rendered as `plan` shows it, without the
// live table, and says so in a note. The TUI shows these; what runs is
// rendered again, live, when the phase runs.
func (s *Session) Previews() []PhasePreview {
	live := s.builder()
	offline := live
	offline.live = nil
	var out []PhasePreview
	for _, ph := range s.pb.Phases {
		pv, err := live.previewPhase(ph)
		if err != nil {
			pv, err = offline.previewPhase(ph)
			if err != nil {
				pv = PhasePreview{Phase: ph, Notes: []string{fmt.Sprintf("its statements cannot be rendered yet: %v", err)}}
			} else {
				pv.Notes = append(pv.Notes, "rendered from the plan: the live schema does not have what this phase works on yet, so the exact statements are rendered when it runs")
			}
		}
		out = append(out, pv)
	}
	return out
}
