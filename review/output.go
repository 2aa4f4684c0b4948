package review

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes one block per finding and a summary line.
func WriteText(w io.Writer, rep *Report) error {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "%s:%d: %s\n", f.File, f.Line, f.Problem)
		if f.Statement != "" {
			fmt.Fprintf(&b, "  statement: %s\n", oneLine(f.Statement))
		}
		fmt.Fprintf(&b, "  why: %s\n", f.Why)
		if f.Rule != "" {
			fmt.Fprintf(&b, "  rule (%s): %q\n", GuideName, f.Rule)
		}
		hint := ""
		if f.Plan() != nil {
			hint = "; --write-plans DIR writes its plan"
		}
		if f.Playbook == "" {
			fmt.Fprintf(&b, "  safe: %s\n\n", f.Safe)
		} else {
			fmt.Fprintf(&b, "  safe: %s (shepherd playbook %s%s)\n\n", f.Safe, f.Playbook, hint)
		}
	}
	verdict := "nothing unsafe"
	if n := len(rep.Findings); n > 0 {
		verdict = fmt.Sprintf("%d unsafe", n)
	}
	fmt.Fprintf(&b, "rehearsed %s in %s: %s\n", plural(rep.Statements, "statement"), plural(rep.Files, "new migration file"), verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, rep *Report) error {
	out := *rep
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteGitHub writes one GitHub Actions error annotation per finding, on
// the finding's file and line.
func WriteGitHub(w io.Writer, rep *Report) error {
	var b strings.Builder
	for _, f := range rep.Findings {
		msg := fmt.Sprintf("%s. Why: %s. Safe: %s", f.Problem, f.Why, f.Safe)
		if f.Playbook != "" {
			msg += fmt.Sprintf(" (shepherd playbook %s)", f.Playbook)
		}
		msg += "."
		if f.Rule != "" {
			msg += fmt.Sprintf(" Rule (%s): %q", GuideName, f.Rule)
		}
		fmt.Fprintf(&b, "::error file=%s,line=%d,title=%s::%s\n",
			ghProperty(f.File), f.Line, ghProperty("shepherd review: "+f.Check), ghData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
