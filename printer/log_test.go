package printer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/engine"
)

// Each action of the audit log names the shepherd that took it, in a
// column of its own; an action an older shepherd logged, before versions
// were recorded, shows "-". The JSON log has it as "version".
func TestLogShowsTheVersionPerAction(t *testing.T) {
	at := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	entries := []engine.LogEntry{
		{At: at, Phase: "add-column", Event: "finish", Actor: "alice"},
		{At: at, Phase: "backfill", Event: "finish", Actor: "bob", Version: "v1.2.3"},
		{At: at, Phase: "enforce", Event: "start", Actor: "carol", Version: "(devel) 46629f0831a1+dirty"},
	}
	var b bytes.Buffer
	Log(&b, entries)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), b.String())
	}
	for i, want := range []string{"-", "v1.2.3", "(devel) 46629f0831a1+dirty"} {
		stamp := at.Local().Format("2006-01-02 15:04:05") + "  "
		if !strings.HasPrefix(lines[i], stamp+want+" ") {
			t.Errorf("line %d = %q, want the version %q after the time", i, lines[i], want)
		}
	}
	// The column is as wide as the widest version: the phases line up.
	col := strings.Index(lines[0], "add-column")
	if strings.Index(lines[1], "backfill") != col || strings.Index(lines[2], "enforce") != col {
		t.Errorf("the phases do not line up:\n%s", b.String())
	}

	b.Reset()
	plans := []engine.PlanStatus{{Name: "users-email"}}
	if err := StatusJSON(&b, plans, [][]engine.LogEntry{entries}); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Plans []struct{ Log []struct{ Version *string } }
	}
	if err := json.Unmarshal(b.Bytes(), &st); err != nil || len(st.Plans) != 1 || len(st.Plans[0].Log) != 3 {
		t.Fatalf("status JSON: %v\n%s", err, b.String())
	}
	for i, want := range []string{"", "v1.2.3", "(devel) 46629f0831a1+dirty"} {
		if v := st.Plans[0].Log[i].Version; v == nil || *v != want {
			t.Errorf("log line %d: version %v, want %q", i, v, want)
		}
	}
}
