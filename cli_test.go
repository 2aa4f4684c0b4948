package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// cliRun runs the root command in-process, as main does.
func cliRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// completions asks cobra's __complete for the words that complete the last
// argument (shells call the binary this way).
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	out, errOut, code := cliRun(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, errOut)
	}
	var words []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			words = append(words, strings.SplitN(l, "\t", 2)[0])
		}
	}
	return words
}

func TestFlagValueCompletion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	drop := filepath.Join(dir, "drop.yaml")
	if err := os.WriteFile(drop, []byte("name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", plan, "--output", ""}, []string{"text", "json"}},
		{[]string{"run", plan, "-o", ""}, []string{"text", "json"}},
		{[]string{"rollback", plan, "-o", ""}, []string{"text", "json"}},
		{[]string{"status", "-o", ""}, []string{"text", "json"}},
		{[]string{"train", "--output", ""}, []string{"text", "json"}},
		{[]string{"plan", plan, "--dialect", ""}, []string{"postgres", "mysql", "sqlite"}},
		{[]string{"export", plan, "--dialect", ""}, []string{"postgres", "mysql", "sqlite"}},
		{[]string{"export", plan, "--format", ""}, []string{"goose", "golang-migrate", "drizzle", "plain"}},
		{[]string{"run", plan, "--allow-lock", ""}, []string{"shared", "exclusive"}},
		// From the plan file on the line: its gates, its phases.
		{[]string{"run", plan, "--confirm", ""}, []string{"deploy-readers", "switch-writes"}},
		{[]string{"run", plan, "--confirm", "deploy-readers", "--confirm", ""}, []string{"switch-writes"}},
		{[]string{"run", drop, "--confirm", ""}, []string{"dual-write", "switch-reads", "stop-old-writes", "drop-old-column"}},
		{[]string{"run", plan, "--until", ""}, []string{"add-column", "deploy-readers", "backfill", "switch-writes", "enforce"}},
		{[]string{"ready", plan, "--phase", ""}, []string{"add-column", "deploy-readers", "backfill", "switch-writes", "enforce"}},
		{[]string{"ready", drop, "--phase", ""}, []string{"add-column", "dual-write", "backfill", "switch-reads", "stop-old-writes", "drop-old-column"}},
		// No readable plan on the line: nothing.
		{[]string{"run", filepath.Join(dir, "missing.yaml"), "--confirm", ""}, nil},
		{[]string{"ready", "--phase", ""}, nil},
	} {
		if got := completions(t, c.args...); !slices.Equal(got, c.want) {
			t.Errorf("completing %v: %q, want %q", c.args, got, c.want)
		}
	}
}

// Every command shows examples; --db is only where a database is used; the
// root help lists the exit codes.
func TestHelp(t *testing.T) {
	t.Parallel()
	root, _ := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	for _, cmd := range root.Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			continue // cobra's own
		}
		if !strings.Contains(cmd.Example, "shepherd "+cmd.Name()) {
			t.Errorf("%s: no example of shepherd %s: %q", cmd.Name(), cmd.Name(), cmd.Example)
		}
		out, _, code := cliRun(t, cmd.Name(), "--help")
		if code != 0 || !strings.Contains(out, "Examples:\n") {
			t.Errorf("%s --help: exit %d, no examples:\n%s", cmd.Name(), code, out)
		}
		usesDB := slices.Contains([]string{"run", "status", "plan", "rollback", "ready", "pause", "resume", "tune", "review"}, cmd.Name())
		if strings.Contains(out, "--db") != usesDB {
			t.Errorf("%s --help shows --db: %v, want %v", cmd.Name(), !usesDB, usesDB)
		}
	}
	out, _, _ := cliRun(t, "--help")
	for _, want := range []string{"Exit codes:\n", "\n  0  reached the target", "\n  1  a step failed", "\n  2  usage error", "\n  3  stopped at a gate", "\n  4  another runner holds", "--db string"} {
		if !strings.Contains(out, want) {
			t.Errorf("shepherd --help does not say %q:\n%s", want, out)
		}
	}
	// --db where it is not used is a usage error, not silently ignored.
	if _, errOut, code := cliRun(t, "demo", "--setup", "--db", "sqlite:x.db"); code != 2 || !strings.Contains(errOut, "unknown flag: --db") {
		t.Errorf("demo --db: exit %d, want 2\n%s", code, errOut)
	}
	// status --json is kept, hidden: -o json is the one shown.
	out, _, _ = cliRun(t, "status", "--help")
	if strings.Contains(out, "--json") || !strings.Contains(out, "-o, --output string") {
		t.Errorf("status --help:\n%s", out)
	}
}

// status -o json, --output json and the older --json print the same.
func TestStatusOutputJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(dir, "t.db")
	if f, err := os.Create(filepath.Join(dir, "t.db")); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	var want string
	for i, args := range [][]string{{"-o", "json"}, {"--output", "json"}, {"--json"}, {"--output=json", plan}} {
		out, errOut, code := cliRun(t, append(append([]string{"status"}, args...), "--db", db)...)
		if code != 0 || !strings.HasPrefix(out, `{"plans":[`) {
			t.Fatalf("status %v: exit %d\n%s%s", args, code, out, errOut)
		}
		if i == 0 {
			want = out
		} else if i < 3 && out != want {
			t.Errorf("status %v:\n%s\nwant\n%s", args, out, want)
		}
	}
	if _, errOut, code := cliRun(t, "status", "-o", "yaml", "--db", db); code != 2 || !strings.Contains(errOut, "use text or json") {
		t.Errorf("status -o yaml: exit %d\n%s", code, errOut)
	}
}

// gen-docs writes a man page per command and the four completion scripts.
func TestGenDocs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errOut, code := cliRun(t, "gen-docs", dir)
	if code != 0 {
		t.Fatalf("gen-docs: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"man1/shepherd.1", "man1/shepherd-run.1", "man1/shepherd-ready.1", "man1/shepherd-status.1",
		"completion/shepherd.bash", "completion/_shepherd", "completion/shepherd.fish", "completion/shepherd.ps1"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", f, err, len(b))
		}
	}
	man, _ := os.ReadFile(filepath.Join(dir, "man1", "shepherd-ready.1"))
	if !strings.Contains(string(man), "--wait") || !strings.Contains(string(man), "EXAMPLE") {
		t.Errorf("the ready man page lacks --wait or its examples:\n%s", man)
	}
	if _, err := os.Stat(filepath.Join(dir, "man1", "shepherd-gen-docs.1")); err == nil {
		t.Errorf("gen-docs, a hidden command, has a man page")
	}
}
