package engine

import (
	"testing"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// The dialects phases accepts in plans and the ones the engine opens are
// one list: each name phases knows has an engine dialect of that name, and
// each template file loads for it.
func TestEveryPlanDialectHasAnEngineDialect(t *testing.T) {
	for _, name := range phases.Dialects() {
		d, err := dialectFor(name)
		if err != nil {
			t.Errorf("phases knows %s, the engine has no dialect for it: %v", name, err)
			continue
		}
		if d.name() != name {
			t.Errorf("dialectFor(%q) is named %q", name, d.name())
		}
		if _, err := templates.Load(name, d.quote, d.placeholder); err != nil {
			t.Errorf("templates of %s: %v", name, err)
		}
		if !phases.KnownDialect(name) {
			t.Errorf("phases.Dialects lists %s, phases.KnownDialect refuses it", name)
		}
	}
	if got, want := len(dialects()), len(phases.Dialects()); got != want {
		t.Errorf("%d engine dialects, %d plan dialects", got, want)
	}
	if _, err := dialectFor("oracle"); err == nil {
		t.Error("dialectFor accepts a dialect phases does not know")
	}
}
