package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// The scripted form of `shepherd train` is a contract for course authors:
// these tests hold its names and shapes.

// train runs shepherd train with args and returns its output; it must
// exit 0.
func train(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"train"}, args...), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	return out.String()
}

func TestTrainList(t *testing.T) {
	out := train(t, "--list", "--output", "json")
	var list []struct {
		Lesson  string   `json:"lesson"`
		Actions []string `json:"actions"`
		Safe    []string `json:"safe"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Lesson)
		offered := map[string]bool{}
		for _, a := range l.Actions {
			offered[a] = true
		}
		for _, s := range l.Safe {
			if !offered[s] {
				t.Errorf("%s: safe step %s is not among its actions %v", l.Lesson, s, l.Actions)
			}
		}
	}
	if got := strings.Join(names, ","); got != "add-column,rename-column,tighten-constraint,multi-replica,drop-column,drop-index,add-index,change-column-type" {
		t.Fatalf("lessons %s", got)
	}
	// As issue 5 writes it: [{"lesson":NAME,"actions":[...],"safe":[...]…}].
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, entry := range raw {
		if keys := topKeys(t, entry); len(keys) < 3 || strings.Join(keys[:3], ",") != "lesson,actions,safe" {
			t.Errorf("a lesson's fields are %v: want lesson, actions, safe first", keys)
		}
	}
}

// topKeys lists a JSON object's keys in the order they are written.
func topKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestTrainScriptJSON(t *testing.T) {
	out := train(t, "--lesson", "add-column", "--steps", "add-not-null-column,deploy-readers", "--output", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	counts := map[string]int{}
	var last map[string]any
	for _, line := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		counts[e["event"].(string)]++
		if e["event"] == "incident" && (e["rule"] == "" || e["detail"] == "") {
			t.Errorf("incident without rule or detail: %s", line)
		}
		last = e
	}
	if counts["step"] != 2 || counts["incident"] == 0 || counts["score"] != 1 || last["event"] != "score" {
		t.Fatalf("events %v, last %v", counts, last)
	}
	// The score line reads as issue 5 writes it:
	// {"event":"score","incidents":N,"steps":[...],"safe":[...]}, then more.
	if keys := topKeys(t, []byte(lines[len(lines)-1])); len(keys) < 4 || strings.Join(keys[:4], ",") != "event,incidents,steps,safe" {
		t.Errorf("the score's fields are %v: want event, incidents, steps, safe first", keys)
	}
	if int(last["incidents"].(float64)) != counts["incident"] {
		t.Errorf("score counts %v incidents, %d printed", last["incidents"], counts["incident"])
	}
	if steps, _ := json.Marshal(last["steps"]); string(steps) != `["add-not-null-column","deploy-readers"]` {
		t.Errorf("score steps %s", steps)
	}
	if safe, _ := json.Marshal(last["safe"]); string(safe) != `["add-column","deploy-readers","backfill","deploy-writers","enforce"]` {
		t.Errorf("score safe %s", safe)
	}
}

// --steps as people type it: spaces after the commas are not part of the
// names.
func TestTrainStepsWithSpaces(t *testing.T) {
	out := train(t, "--lesson", "add-column", "--steps", " add-column, deploy-readers ,backfill", "--output", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var score struct {
		Steps []string `json:"steps"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &score); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(score.Steps, ","); got != "add-column,deploy-readers,backfill" {
		t.Fatalf("score steps %q", got)
	}
}

func TestTrainUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--lesson", "nope", "--steps", "x"}, "add-column, rename-column, tighten-constraint, multi-replica"},
		{[]string{"train", "--lesson", "add-column", "--steps", "add-column,drop-table"}, `no action "drop-table"; its actions are: backfill, deploy-readers, deploy-writers, add-column`},
		{[]string{"train", "--lesson", "add-column", "--steps", "add-column,,backfill"}, "--steps has an empty step"},
		{[]string{"train", "--steps", "add-column"}, "--steps needs --lesson"},
		{[]string{"train", "--output", "json"}, "needs --lesson NAME --steps"},
		{[]string{"train"}, "needs a terminal"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}
