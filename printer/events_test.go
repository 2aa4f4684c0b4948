package printer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/engine"
)

// A notice's level is a field added to its JSON line, after the fields it
// always had; a notice's name stays out of the JSON contract. The text
// line is the message, as it always was.
func TestNoticeLevelInJSONAndText(t *testing.T) {
	e := engine.Event{Event: engine.EventNotice, Plan: "users-full-name", Phase: "drop-old-column", Level: engine.LevelWarning,
		Notice: engine.NoticeTooSoon, Message: "warning: stop-old-writes was confirmed 5s ago"}
	var j bytes.Buffer
	NewEvents(&j, "json").Event(e)
	want := `{"event":"notice","plan":"users-full-name","phase":"drop-old-column","message":"warning: stop-old-writes was confirmed 5s ago","level":"warning"}`
	if got := strings.TrimSpace(j.String()); got != want {
		t.Errorf("JSON line\n  %s\nwant\n  %s", got, want)
	}
	var txt bytes.Buffer
	NewEvents(&txt, "text").Event(e)
	if got := txt.String(); got != "[drop-old-column] warning: stop-old-writes was confirmed 5s ago\n" {
		t.Errorf("text line %q", got)
	}
}
