package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/printer"
)

// backfill is the progress of a batched phase: a bar, rows done of the
// total, rows per second, the time left and the batch size, as the engine's
// progress events report them.
type backfill struct {
	styles *Styles
	bar    progress.Model
	phase  string
	done   int64
	total  int64
	rate   float64
	batch  int
	cp     string
	// what is what the database says it is doing, for a phase it reports
	// (an index build: its stage); "" for a batched walk.
	what string
	// watched: the phase is a build the database reports, not a walk.
	watched bool
	// pausing: the operator asked for a pause that the engine has not
	// reached yet (it pauses between batches); paused: it has.
	pausing bool
	paused  bool
	// by is who paused the plan with `shepherd pause` (from anywhere);
	// empty for the operator's own p.
	by    string
	width int
}

func newBackfill(s *Styles) backfill {
	b := backfill{styles: s}
	b.restyle()
	return b
}

func (b *backfill) restyle() {
	b.bar = progress.New(progress.WithFillCharacters('█', '░'), progress.WithoutPercentage())
	if b.styles.NoColor {
		b.bar.FullColor, b.bar.EmptyColor = lipgloss.NoColor{}, lipgloss.NoColor{}
	} else {
		b.bar.FullColor, b.bar.EmptyColor = b.styles.ProgressFull, b.styles.ProgressEmpty
	}
}

func (b *backfill) SetWidth(w int) { b.width = w }

// Start resets the bar for a phase, from where its checkpoint left it.
func (b *backfill) Start(phase string, rowsDone int64) {
	*b = backfill{styles: b.styles, bar: b.bar, width: b.width, phase: phase, done: rowsDone}
}

// Watch resets the bar for a phase whose progress the database reports
// (an index build): no rows, no checkpoint, its own units.
func (b *backfill) Watch(phase string) {
	b.Start(phase, 0)
	b.watched = true
}

// Event takes a progress, paused or resumed event.
func (b *backfill) Event(e engine.Event) {
	if e.Phase != b.phase {
		return
	}
	switch e.Event {
	case engine.EventProgress:
		if e.RowsDone != nil {
			b.done = *e.RowsDone
		}
		if e.RowsTotal != nil {
			b.total = *e.RowsTotal
		}
		b.rate, b.batch, b.cp, b.what = e.RowsPerSec, e.BatchSize, e.Checkpoint, e.Message
	case engine.EventPaused:
		b.paused, b.pausing, b.by = true, false, e.By
		if e.Checkpoint != "" {
			b.cp = e.Checkpoint
		}
	case engine.EventResumed:
		b.paused, b.pausing, b.by = false, false, ""
	}
}

// Percent is how far the walk is, or -1 before the first batch.
func (b backfill) Percent() float64 {
	if b.total <= 0 {
		return -1
	}
	return min(float64(b.done)/float64(b.total), 1)
}

func (b backfill) View() string {
	s := b.styles
	pct := max(b.Percent(), 0)
	b.bar.SetWidth(max(b.width-ansi.StringWidth(b.phase)-7, 10))
	bar := b.bar.ViewAs(pct) + fmt.Sprintf(" %3.0f%%", pct*100)
	var parts []string
	switch {
	case b.total > 0 && b.what != "":
		// A build the database reports (an index build): its own stage
		// and units.
		parts = append(parts, fmt.Sprintf("%s · %s / %s", b.what, printer.Count(b.done), printer.Count(b.total)))
	case b.total > 0:
		parts = append(parts, fmt.Sprintf("%s / %s rows", printer.Count(b.done), printer.Count(b.total)))
	case b.watched:
		parts = append(parts, "waiting for the database's first report…")
	default:
		parts = append(parts, "counting rows…")
	}
	switch {
	case b.paused:
		cp := ""
		if b.cp != "" {
			cp = " at key " + b.cp
		}
		if b.by != "" {
			parts = append(parts, s.Waiting.Render("⏸ paused by "+b.by+cp+" (shepherd resume)"))
		} else {
			parts = append(parts, s.Waiting.Render("⏸ paused"+cp+" · p resumes"))
		}
	case b.pausing:
		parts = append(parts, s.Waiting.Render("pausing after this batch…"))
	default:
		if b.rate > 0 {
			unit := " rows/s"
			if b.what != "" {
				unit = "/s"
			}
			parts = append(parts, printer.Count(int64(b.rate))+unit)
			if b.total > b.done {
				eta := time.Duration(float64(b.total-b.done) / b.rate * float64(time.Second))
				parts = append(parts, "ETA "+eta.Round(time.Second).String())
			}
		}
		if b.batch > 0 {
			parts = append(parts, "batch "+printer.Count(int64(b.batch)))
		}
	}
	return s.Running.Render(b.phase) + "  " + bar + "\n" + truncate(strings.Join(parts, " · "), b.width)
}
