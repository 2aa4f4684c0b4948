package training

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The scripted form, for tests and course authors:
//
//	shepherd train --lesson NAME --steps a,b,c [--output json]
//	shepherd train --list [--output json]

// ListEntry is one lesson in `--list --output json`:
// {"lesson":NAME,"actions":[…],"safe":[…],…}, those three fields first.
type ListEntry struct {
	Lesson  string            `json:"lesson"`
	Actions []string          `json:"actions"`
	Safe    []string          `json:"safe"`
	Title   string            `json:"title"`
	Guide   string            `json:"guide"`
	Does    map[string]string `json:"does"`
}

// List describes every lesson.
func List() []ListEntry {
	var out []ListEntry
	for _, l := range Lessons() {
		e := ListEntry{Lesson: l.Name, Actions: l.ActionNames(), Safe: l.Safe, Title: l.Title, Guide: l.Guide, Does: map[string]string{}}
		for _, a := range l.Actions {
			e.Does[a.Name] = a.Does
		}
		out = append(out, e)
	}
	return out
}

// PrintList writes the lessons as JSON or as text.
func PrintList(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(List())
	}
	for i, l := range Lessons() {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: %s (Migration Operations guide: %s)\n", l.Name, l.Title, l.Guide)
		for _, a := range l.Actions {
			fmt.Fprintf(w, "  %-24s %s\n", a.Name, a.Does)
		}
		fmt.Fprintf(w, "  safe: %s\n", strings.Join(l.Safe, ","))
	}
	return nil
}

// Check validates a lesson name and its steps without running anything.
// Spaces around a step's name do not count: "add-column, backfill" is two
// steps.
func Check(lesson string, steps []string) (*Lesson, error) {
	steps = trimSteps(steps)
	l, ok := Find(lesson)
	if !ok {
		return nil, &UsageError{Msg: fmt.Sprintf("no lesson %q; the lessons are: %s", lesson, strings.Join(LessonNames(), ", "))}
	}
	if len(steps) == 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("--steps is empty; the actions of %s are: %s (safe: %s)", l.Name, strings.Join(l.ActionNames(), ", "), strings.Join(l.Safe, ","))}
	}
	var bad []string
	for _, s := range steps {
		if s == "" {
			return nil, &UsageError{Msg: fmt.Sprintf("--steps has an empty step (two commas in a row, or one at an end); the actions of %s are: %s", l.Name, strings.Join(l.ActionNames(), ", "))}
		}
		if _, ok := l.Action(s); !ok {
			bad = append(bad, fmt.Sprintf("%q", s))
		}
	}
	if len(bad) > 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("lesson %s has no action %s; its actions are: %s", l.Name, strings.Join(bad, ", "), strings.Join(l.ActionNames(), ", "))}
	}
	return l, nil
}

// Script runs a lesson's steps and prints each step, each incident and the
// score: JSON lines, or text for people.
func Script(ctx context.Context, w io.Writer, lesson string, steps []string, asJSON bool) (Score, error) {
	steps = trimSteps(steps)
	if _, err := Check(lesson, steps); err != nil {
		return Score{}, err
	}
	ctx, caught, stop := untilSignal(ctx, scriptSignals...)
	defer stop()
	// A write that fails (its reader went away) ends the lesson too.
	out := &stickyWriter{w: w}
	var emit func(any)
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		emit = func(v any) { _ = enc.Encode(v) }
	} else {
		emit = func(v any) { printText(out, v) }
	}
	r, err := Start(ctx, lesson, emit)
	if err != nil {
		return Score{}, err
	}
	defer r.Close()
	if !asJSON {
		fmt.Fprintf(out, "lesson %s: %s\n%s\n\n", r.L.Name, r.L.Title, r.L.Intro)
	}
	ended := func() error {
		if sig := caught(); sig != nil {
			return stoppedBy(sig)
		}
		if out.err != nil {
			return out.err
		}
		return ctx.Err()
	}
	for _, s := range steps {
		if err := r.Step(ctx, s); err != nil {
			return Score{}, err
		}
		if err := ended(); err != nil {
			return Score{}, err
		}
	}
	score := r.Finish()
	return score, ended()
}

// stickyWriter keeps the first error a write returned, and writes nothing
// after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

// trimSteps takes the spaces off each step's name, as a shell user types
// --steps "add-column, backfill".
func trimSteps(steps []string) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func printText(w io.Writer, v any) {
	switch e := v.(type) {
	case StepResult:
		status := "ok"
		switch {
		case e.Refused && e.RefusedBy == "database":
			status = "REFUSED by the database (the migration failed and rolled back)"
		case e.Refused:
			status = "REFUSED by shepherd"
		case !e.OK:
			status = "FAILED"
		case e.Traffic.Failed > 0 || e.Incidents > 0:
			// It went through, and the application paid for it: never
			// "ok".
			status = fmt.Sprintf("went through, but %d of %d requests failed during the step (%s)", e.Traffic.Failed, e.Traffic.Requests, plural(e.Incidents, "incident"))
		}
		if e.Refused && (e.Traffic.Failed > 0 || e.Incidents > 0) {
			status += fmt.Sprintf("; %d of %d requests failed during the step (%s)", e.Traffic.Failed, e.Traffic.Requests, plural(e.Incidents, "incident"))
		}
		order := ""
		if e.Expected != "" && e.Expected != e.Action {
			order = fmt.Sprintf(" (the safe order has %s here)", e.Expected)
		}
		fmt.Fprintf(w, "step %d: %s — %s%s\n", e.N, e.Action, status, order)
		for _, m := range e.Messages {
			fmt.Fprintf(w, "  %s\n", m)
		}
		if e.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", firstLine(e.Error))
		}
		if e.Refused {
			if e.Why != "" {
				fmt.Fprintf(w, "  why: %s\n", e.Why)
			}
			fmt.Fprintf(w, "  rule: %q\n", e.Rule)
		}
		for _, s := range e.SQL {
			fmt.Fprintf(w, "  sql: %s\n", s)
		}
		for _, n := range e.Notices {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		fmt.Fprintf(w, "  fleet: %s; %d ticks, %d requests, %d failed", strings.Join(e.Fleet, ", "), e.Ticks, e.Traffic.Requests, e.Traffic.Failed)
		if e.Traffic.Rejected > 0 {
			fmt.Fprintf(w, ", %d rejected by validation", e.Traffic.Rejected)
		}
		if e.Traffic.Fallbacks > 0 {
			fmt.Fprintf(w, ", %d NULLs read and handled by the code", e.Traffic.Fallbacks)
		}
		fmt.Fprintln(w)
	case Incident:
		fmt.Fprintf(w, "  INCIDENT %s, %s in this step: %s\n", e.Kind, plural(e.Count, "hit"), e.Detail)
		if e.SQL != "" {
			fmt.Fprintf(w, "    request: %s\n", e.SQL)
		}
		fmt.Fprintf(w, "    rule: %q\n", e.Rule)
	case Score:
		fmt.Fprintf(w, "\nscore: %s, %d of %d requests failed, %s; %s\n", plural(e.Incidents, "incident"), e.Failed, e.Requests, plural(e.Refused, "refused step"), e.Verdict)
		for _, line := range SideBySide(e.Steps, e.Safe) {
			fmt.Fprintln(w, "  "+line)
		}
	}
}

// SideBySide shows the trainee's sequence beside the safe one, a step a
// line, marking where they part.
func SideBySide(steps, safe []string) []string {
	width := len("you")
	for _, s := range steps {
		width = max(width, len(s))
	}
	lines := []string{fmt.Sprintf("   %-*s   %s", width, "you", "safe")}
	for i := 0; i < max(len(steps), len(safe)); i++ {
		var a, b string
		if i < len(steps) {
			a = steps[i]
		}
		if i < len(safe) {
			b = safe[i]
		}
		mark := "  "
		if a != b {
			mark = "≠ "
		}
		lines = append(lines, fmt.Sprintf("%d. %-*s %s %s", i+1, width, a, mark, b))
	}
	return lines
}
