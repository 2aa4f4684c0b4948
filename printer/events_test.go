package printer

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

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

// An event's time is the last field of its JSON line; the text line does
// not show it.
func TestEventTimeInJSON(t *testing.T) {
	at := engine.Timestamp{Time: time.Date(2026, 12, 5, 22, 59, 26, 7_000_000, time.UTC)}
	e := engine.Event{Event: engine.EventGate, Plan: "users-email", Phase: "deploy-readers", Message: "deploy", Time: at}
	var j, txt bytes.Buffer
	NewEvents(&j, "json").Event(e)
	if want := `{"event":"gate","plan":"users-email","phase":"deploy-readers","message":"deploy","time":"2026-12-05T22:59:26.007Z"}` + "\n"; j.String() != want {
		t.Errorf("JSON line\n  %s\nwant\n  %s", j.String(), want)
	}
	NewEvents(&txt, "text").Event(e)
	if txt.String() != "[deploy-readers] waiting at the gate: deploy\n" {
		t.Errorf("text line %q", txt.String())
	}
	var errLine bytes.Buffer
	ErrorLine(&errLine, "users-email", "boom", 1)
	if !regexp.MustCompile(`^\{"event":"error","plan":"users-email","error":"boom","exit":1,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}\n$`).MatchString(errLine.String()) {
		t.Errorf("error line %s", errLine.String())
	}
}
