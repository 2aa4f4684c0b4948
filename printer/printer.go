// Package printer renders shepherd's non-interactive output: engine events as
// text lines or JSON lines, plan previews, status tables and the audit log.
// It only renders; it never talks to the database.
package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// Events prints engine events as they come.
type Events struct {
	w        io.Writer
	json     bool
	lastProg time.Time
}

// NewEvents prints events to w, as JSON lines when format is "json".
func NewEvents(w io.Writer, format string) *Events {
	return &Events{w: w, json: format == "json"}
}

// Event prints one event. Text progress lines are throttled to one a
// second; JSON gets every event.
func (p *Events) Event(e engine.Event) {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetEscapeHTML(false) // SQL has < and >: keep it readable
		_ = enc.Encode(e)
		return
	}
	tag := "[" + e.Phase + "]"
	if e.Phase == "" {
		tag = "[" + e.Plan + "]"
	}
	switch e.Event {
	case engine.EventPhaseStart:
		fmt.Fprintf(p.w, "%s start: %s\n", tag, e.Message)
	case engine.EventStep:
		fmt.Fprintf(p.w, "%s sql: %s\n", tag, indent(e.SQL, "    "))
		if e.Lock != "" {
			fmt.Fprintf(p.w, "%s   locks: %s\n", tag, e.Lock)
		}
	case engine.EventProgress:
		if time.Since(p.lastProg) < time.Second && (e.RowsTotal == nil || e.RowsDone == nil || *e.RowsDone < *e.RowsTotal) {
			return
		}
		p.lastProg = time.Now()
		fmt.Fprintf(p.w, "%s %s\n", tag, Progress(e))
	case engine.EventPhaseDone:
		fmt.Fprintf(p.w, "%s done in %s: %s\n", tag, time.Duration(e.ElapsedMS)*time.Millisecond, e.Message)
	case engine.EventPhaseFailed:
		fmt.Fprintf(p.w, "%s FAILED: %s\n", tag, e.Error)
	case engine.EventGate:
		fmt.Fprintf(p.w, "%s waiting at the gate: %s\n", tag, e.Message)
	case engine.EventRollback:
		fmt.Fprintf(p.w, "%s rolled back: %s\n", tag, e.Message)
	case engine.EventNotice, engine.EventPaused, engine.EventResumed:
		fmt.Fprintf(p.w, "%s %s\n", tag, e.Message)
	case engine.EventDone:
		fmt.Fprintf(p.w, "%s %s\n", tag, e.Message)
	}
}

// ErrorLine prints, for --output json, the error that ended a command as
// one JSON line: {"event":"error","plan":…,"error":…,"exit":N,"time":…}.
// The error text is the one printed on stderr, its password masked.
func ErrorLine(w io.Writer, plan, msg string, exit int) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Event engine.EventKind `json:"event"`
		Plan  string           `json:"plan"`
		Error string           `json:"error"`
		Exit  int              `json:"exit"`
		Time  engine.Timestamp `json:"time"`
	}{engine.EventError, plan, msg, exit, engine.Now()})
}

// Progress describes a progress event in one line.
func Progress(e engine.Event) string {
	var done, total int64
	if e.RowsDone != nil {
		done = *e.RowsDone
	}
	if e.RowsTotal != nil {
		total = *e.RowsTotal
	}
	var b strings.Builder
	// A build the database reports (an index build) says what it is
	// doing, in its own units; a walk counts rows.
	unit := " rows"
	if e.Message != "" {
		b.WriteString(e.Message + ": ")
		unit = ""
	}
	fmt.Fprintf(&b, "%s / %s%s", Count(done), Count(total), unit)
	if total > 0 {
		fmt.Fprintf(&b, " (%d%%)", done*100/total)
	}
	if e.RowsPerSec > 0 {
		fmt.Fprintf(&b, ", %s%s/s", Count(int64(e.RowsPerSec)), unit)
		if total > done {
			eta := time.Duration(float64(total-done) / e.RowsPerSec * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		}
	}
	if e.BatchSize > 0 {
		fmt.Fprintf(&b, ", batch %s", Count(int64(e.BatchSize)))
		if e.BatchMS > 0 {
			fmt.Fprintf(&b, " in %s", time.Duration(e.BatchMS*float64(time.Millisecond)).Round(time.Millisecond))
		}
	}
	return b.String()
}

// Count formats a number with thousands separators, in English: 12,345.
func Count(n int64) string {
	return message.NewPrinter(language.English).Sprintf("%d", n)
}

func indent(s, pad string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}

// Plan prints a plan's phases with the exact SQL each runs on one dialect.
func Plan(w io.Writer, p *phases.Plan, dialect string, previews []engine.PhasePreview) {
	pb := p.PlaybookDef()
	fmt.Fprintf(w, "plan %s: %s on %s (%s)\n", p.Name, p.Playbook, p.Table, dialect)
	fmt.Fprintf(w, "from the Migration Operations guide's \"%s\"\n", pb.Guide)
	for i, pv := range previews {
		ph := pv.Phase
		kind := ""
		switch {
		case ph.Gate:
			kind = "  [gate]"
		case ph.Confirm && ph.Undo == phases.UndoNever:
			kind = "  [point of no return]"
		case ph.Confirm:
			kind = "  [confirm]"
		}
		fmt.Fprintf(w, "\n%d. %s%s\n", i+1, ph.ID, kind)
		fmt.Fprintf(w, "   does:   %s\n", p.Expand(ph.Does))
		fmt.Fprintf(w, "   why:    %s\n", p.Expand(ph.Why))
		for j, st := range pv.Steps {
			label := "   sql:"
			if j > 0 {
				label = "       "
			}
			fmt.Fprintf(w, "%s    %s\n", label, indent(st.SQL, "           "))
			if st.Lock != "" {
				label := "locks"
				switch st.Mode {
				case templates.ConnOp:
					label = "connection setting"
				case templates.Check:
					label = "check"
				}
				fmt.Fprintf(w, "           -- %s: %s\n", label, st.Lock)
			}
			if st.Applied != nil {
				fmt.Fprintf(w, "           -- skipped on a rerun when: %s\n", indent(st.Applied.SQL, "           "))
			}
			for _, alt := range st.Else {
				fmt.Fprintf(w, "           -- %s: %s\n", alt.When(), indent(alt.SQL, "           "))
				fmt.Fprintf(w, "           --   locks: %s\n", alt.Lock)
			}
			if params := describeParams(st.Params); params != "" {
				fmt.Fprintf(w, "           -- %s\n", params)
			}
		}
		fmt.Fprintf(w, "   verify: %s\n", p.Expand(ph.Verify))
		for _, c := range pv.Checks {
			fmt.Fprintf(w, "           %s\n", indent(c.SQL, "           "))
		}
		fmt.Fprintf(w, "   undo:   %s\n", p.Expand(ph.Revert))
		for _, st := range pv.Revert {
			fmt.Fprintf(w, "           %s\n", indent(st.SQL, "           "))
		}
		for _, n := range pv.Notes {
			fmt.Fprintf(w, "   note:   %s\n", n.Text)
		}
	}
}

func describeParams(ps []templates.Param) string {
	var parts []string
	for i, p := range ps {
		if p.Fixed {
			continue
		}
		name, col := p.Name, -1
		if base, c, ok := strings.Cut(p.Name, "_"); ok { // a composite key's column: lo_0 is lo's first
			if n, err := strconv.Atoi(c); err == nil {
				name, col = base, n
			}
		}
		what := map[string]string{
			"lo":     "the previous batch's last key (the checkpoint)",
			"hi":     "this batch's last key",
			"offset": "the batch size minus one",
			"key":    "the key of the row written",
			"other":  "the key of another row",
		}[name]
		if what != "" && col >= 0 {
			what += fmt.Sprintf(", column %d of the key", col+1)
		}
		if what == "" {
			what = p.Name
		}
		parts = append(parts, fmt.Sprintf("parameter %d: %s", i+1, what))
	}
	return strings.Join(parts, "; ")
}

// Status prints every plan's phases as a table.
func Status(w io.Writer, plans []engine.PlanStatus) {
	if len(plans) == 0 {
		fmt.Fprintln(w, "no plan has run in this database")
		return
	}
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  (%s on %s)\n", p.Name, p.Playbook, p.Table)
		if line := runnerLine(p.Runner); line != "" {
			fmt.Fprintf(w, "  %s\n", line)
		}
		if c := p.Control; c != nil && c.Paused {
			fmt.Fprintf(w, "  paused by %s at %s: `shepherd resume %s` lets it go on\n", c.By, c.At.Local().Format("2006-01-02 15:04:05"), p.Name)
		}
		if c := p.Control; c != nil && c.Tuned() {
			fmt.Fprintf(w, "  tuned by %s: %s\n", c.TunedBy, c.Tuning)
		}
		tab := newTable()
		for _, ph := range p.Phases {
			when := ""
			if ph.FinishedAt != nil {
				when = ph.FinishedAt.Local().Format("2006-01-02 15:04:05")
			} else if ph.StartedAt != nil {
				when = "since " + ph.StartedAt.Local().Format("2006-01-02 15:04:05")
			}
			status, detail := string(ph.Status), firstLine(ph.Detail)
			if ph.Stopped(p.Runner) {
				status = "stopped" // as the TUI says it; --json keeps what is recorded
				if ph.Status == phases.Failed {
					detail = StoppedAt(ph.RowsDone, "") + ": " + Resumes(ph.RowsDone, "", "a rerun")
				}
			}
			if ph.Status == phases.Running && detail == "" {
				detail = runningDetail(p.Runner)
			}
			tab.row("  "+ph.ID, status, when, detail)
		}
		for _, l := range tab.lines() {
			fmt.Fprintln(w, l)
		}
	}
}

// table aligns the columns of its rows (text/tabwriter), each as wide as
// its widest cell, two spaces apart; a column empty in every row takes no
// room. The last cell of a row is not aligned, and a row whose last cells
// are empty ends without padding.
type table struct {
	buf strings.Builder
	tw  *tabwriter.Writer
}

func newTable() *table {
	t := &table{}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', tabwriter.DiscardEmptyColumns)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\v", " ").Replace(c) // a tab in a cell would split it
	}
	// Cells end in vertical tabs: soft cells, which a column empty in
	// every row drops (tabwriter.DiscardEmptyColumns).
	fmt.Fprintln(t.tw, strings.Join(cells, "\v"))
}

// lines are the table's rows, aligned.
func (t *table) lines() []string {
	t.tw.Flush()
	out := strings.Split(strings.TrimSuffix(t.buf.String(), "\n"), "\n")
	for i, l := range out {
		out[i] = strings.TrimRight(l, " ")
	}
	return out
}

// runnerLine says who holds a plan's runner lock, or held it last.
func runnerLine(r *engine.Runner) string {
	if r == nil {
		return ""
	}
	who := fmt.Sprintf("%s, pid %d on host %s, since %s", r.Holder, r.PID, r.Host, r.Since.Local().Format("2006-01-02 15:04:05"))
	if r.Alive {
		return "runner lock: held by " + who
	}
	return "runner lock: free; last held by " + who + ", which is gone"
}

// runningDetail says what a phase recorded as running is doing: run by a
// live runner, or stopped when its runner died.
func runningDetail(r *engine.Runner) string {
	switch {
	case r == nil:
		return "no runner holds the plan's lock: it stopped without recording it; a run resumes it"
	case r.Alive:
		return fmt.Sprintf("run by %s, pid %d on host %s", r.Holder, r.PID, r.Host)
	}
	return fmt.Sprintf("its runner (%s, pid %d on host %s) is gone: it stopped without recording it; a run resumes it", r.Holder, r.PID, r.Host)
}

// StoppedAt says where an interrupted phase stopped, to follow the word
// "stopped", from its state: the rows its batches committed and, when known,
// the checkpoint ("id 11000"). An interruption keeps the checkpoint of the
// last committed batch (engine.InterruptedError); without one, no batch
// committed.
func StoppedAt(rowsDone int64, checkpoint string) string {
	switch {
	case checkpoint != "" && rowsDone > 0:
		return fmt.Sprintf("at %s, with %s rows done", checkpoint, Count(rowsDone))
	case checkpoint != "":
		return "at " + checkpoint
	case rowsDone > 0:
		return fmt.Sprintf("at its checkpoint, with %s rows done", Count(rowsDone))
	}
	return "before its first batch committed"
}

// Resumes says what the next run (who: "a rerun", "r") does with an
// interrupted phase stopped where StoppedAt says.
func Resumes(rowsDone int64, checkpoint, who string) string {
	switch {
	case checkpoint != "":
		return "the checkpoint is kept, and " + who + " resumes from it"
	case rowsDone > 0:
		return who + " resumes from it"
	}
	return who + " starts it again"
}

// StatusJSON prints `status --json`: {"plans":[…]}. With logs (`--log`:
// each plan's audit log, in the order of plans) each plan has its "log" too.
func StatusJSON(w io.Writer, plans []engine.PlanStatus, logs [][]engine.LogEntry) error {
	if plans == nil {
		plans = []engine.PlanStatus{}
	}
	if logs == nil {
		return json.NewEncoder(w).Encode(map[string]any{"plans": plans})
	}
	type logLine struct {
		Time   time.Time `json:"time"`
		Phase  string    `json:"phase"`
		Action string    `json:"action"`
		Who    string    `json:"who"`
		SQL    string    `json:"sql"`
		Detail string    `json:"detail"`
		// Version is the shepherd that wrote the line; "" for a line an
		// older shepherd wrote, before the log recorded it.
		Version string `json:"version"`
	}
	type planLog struct {
		engine.PlanStatus
		Log []logLine `json:"log"`
	}
	out := []planLog{}
	for i, p := range plans {
		pl := planLog{PlanStatus: p, Log: []logLine{}}
		for _, e := range logs[i] {
			pl.Log = append(pl.Log, logLine{Time: e.At, Phase: e.Phase, Action: e.Event, Who: e.Actor, SQL: e.SQL, Detail: e.Detail, Version: e.Version})
		}
		out = append(out, pl)
	}
	return json.NewEncoder(w).Encode(map[string]any{"plans": out})
}

// Log prints a plan's audit log: each action's time, the shepherd version
// that took it ("-" where an older shepherd did, before the log recorded
// versions), its phase, what it was and who.
func Log(w io.Writer, entries []engine.LogEntry) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "no log entries")
		return
	}
	// The entries' first lines are aligned as one table, across the SQL
	// and details that follow each of them.
	tab := newTable()
	for _, e := range entries {
		version := e.Version
		if version == "" {
			version = "-"
		}
		tab.row(e.At.Local().Format("2006-01-02 15:04:05"), version, e.Phase, e.Event, e.Actor)
	}
	heads := tab.lines()
	for i, e := range entries {
		line := heads[i]
		if e.SQL != "" {
			line += "\n    " + indent(e.SQL, "    ")
		}
		if e.Detail != "" && e.Event != "plan" {
			line += "\n    " + firstLine(e.Detail)
		}
		fmt.Fprintln(w, line)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
