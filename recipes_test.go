package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// The README's GitHub Actions step is the script pipeline.txtar runs, word
// for word, and the GitLab job's command line is the one it runs: the
// recipes people copy are the ones tested.
func TestREADMERecipesAreTheTestedOnes(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := txtar.ParseFile("testdata/script/pipeline.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var step string
	for _, f := range ar.Files {
		if f.Name == "github-step.sh" {
			step = string(f.Data)
		}
	}
	if step == "" {
		t.Fatal("pipeline.txtar has no github-step.sh")
	}
	// The step's run: | block, as the README indents it.
	var block strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(step, "\n"), "\n") {
		block.WriteString("          " + l + "\n")
	}
	if !strings.Contains(string(readme), "        run: |\n"+block.String()) {
		t.Errorf("the README's GitHub Actions step is not pipeline.txtar's github-step.sh:\n%s", block.String())
	}
	gitlab := `shepherd run plans/users-email.yaml --non-interactive ${CONFIRM:+--confirm "$CONFIRM"} --notify "$SLACK_WEBHOOK_URL"`
	if !strings.Contains(string(readme), "    - "+gitlab+"\n") || !strings.Contains(string(ar.Comment), "sh -c '"+gitlab+"'") {
		t.Errorf("the README's GitLab job and pipeline.txtar do not run the same command line: %s", gitlab)
	}
	for _, want := range []string{
		`args: ["ready", "/plans/users-email.yaml", "--phase", "backfill", "--wait", "--timeout", "30m"]`,
		"values: [2, 3]",
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("the README's Kubernetes recipes lack %s", want)
		}
	}
}
