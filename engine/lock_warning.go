package engine

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// blockingWarnings are the statements of phases still to run that block
// the application on every server, whatever the table (MySQL's CHECK
// copies the table): said before anything runs, in `plan --db` and at the
// start of a run, with how long the application would wait where shepherd
// can say, and the flag they need.
func (s *Session) blockingWarnings() []string {
	if s.table == nil {
		return nil
	}
	progress := s.progress()
	b := s.builder()
	var out []string
	for _, ph := range s.pb.Phases {
		if progress.Of(ph.ID) == phases.Done {
			continue
		}
		pv, err := b.previewPhase(ph)
		if err != nil {
			continue // the run says what is wrong when it gets there
		}
		for _, st := range pv.Steps {
			if st.Blocks == "" {
				continue
			}
			form, _, _ := strings.Cut(st.Lock, ":")
			who := "writes to " + s.table.Name + " wait (reads go on)"
			if st.Blocks == "exclusive" {
				who = "reads and writes to " + s.table.Name + " wait"
			}
			size := s.table.sizeText()
			if est := blockedFor(s.d, s.table); est != "" {
				size += ": " + est
			}
			out = append(out, fmt.Sprintf("%s runs %s: %s while it copies the table (%s). %s, so it runs only with --allow-lock %s, in a window where the application can wait; without it the run stops there, before changing anything",
				ph.ID, strings.TrimSpace(form), who, size, upperFirst(st.BlocksWhy), st.Blocks))
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
