package training

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// How a replica's hit becomes a lesson's incident, and how it is told.

// hit records what a replica hit as an incident. Hits of one kind by the
// same version in a step are one incident, whichever replicas hit it; what
// a replica hit while starting up is its own.
func (r *Run) hit(o occurrence) {
	c := r.cur
	rule, why := r.L.diagnose(r, o)
	ver := ""
	if o.version != nil {
		ver = o.version.ID
	}
	key := strings.Join([]string{o.kind, ver, rule, dbError(o.err), o.col, fmt.Sprint(o.startup)}, "|")
	if o.startup {
		key += "|" + o.replica + "|" + o.note
	}
	t, ok := c.byKey[key]
	if !ok {
		t = &tally{first: o, why: why, inc: &Incident{Event: "incident", Lesson: r.L.Name, Step: len(r.steps), Tick: o.tick,
			Kind: o.kind, Rule: rule, Replica: o.replica, Version: ver, SQL: o.sql, Error: dbError(o.err), Row: o.row,
			Got: o.got, Want: o.want, Safe: r.L.SafeOrder(),
			first: strings.TrimSpace(describe(o, []string{o.replica}, 1) + " " + why)}}
		c.byKey[key] = t
		c.inc = append(c.inc, t.inc)
		c.fresh = append(c.fresh, t.inc)
		r.incidents++
	}
	inc := t.inc
	inc.Count++
	if !contains(inc.Replicas, o.replica) {
		inc.Replicas = append(inc.Replicas, o.replica)
	}
	inc.Detail = strings.TrimSpace(describe(t.first, inc.Replicas, inc.Count) + " " + t.why)
}

// describe says what happened, from what the replicas saw: o is the first
// hit, reps every replica that hit it, count how many hits there were.
func describe(o occurrence, reps []string, count int) string {
	if o.note != "" {
		return o.note // a startup hit, of one replica
	}
	who := phases.WordList(reps)
	if o.version != nil {
		who += " running " + o.version.String()
	}
	many := count > 1
	times := func(one, more string) string {
		if many {
			return fmt.Sprintf("%d %s", count, more)
		}
		return one
	}
	switch o.kind {
	case "failed-write":
		return fmt.Sprintf("%s: %s: %s.", who, times("the write failed", "writes failed"), dbError(o.err))
	case "failed-read":
		return fmt.Sprintf("%s: %s: %s.", who, times("the read failed", "reads failed"), dbError(o.err))
	case "timeout":
		return fmt.Sprintf("%s: %s: %s.", who, times("a lookup failed", "lookups failed"), dbError(o.err))
	case "lock-wait":
		return fmt.Sprintf("%s: %s out the busy timeout behind another connection's write lock and failed: %s.", who,
			times("a request waited", "requests waited"), dbError(o.err))
	case "null-read":
		var s string
		if many {
			s = fmt.Sprintf("%s read NULL from %s where the code expects a value, %d times; the first was row %d", who, o.col, count, o.row)
		} else {
			s = fmt.Sprintf("%s read NULL from %s of row %d, where it expects a value", who, o.col, o.row)
		}
		if o.last != nil && o.want != "" {
			s += fmt.Sprintf(" (the last write was %q, by %s)", o.want, lastWriter(o.last))
		}
		return s + "."
	case "lost-write":
		if many {
			return fmt.Sprintf("%s read a value of %s other than the last write, %d times; the first, row %d: it read %q, but the last write was %q (by %s). Those writes are lost to this code.",
				who, o.col, count, o.row, o.got, o.want, lastWriter(o.last))
		}
		return fmt.Sprintf("%s read %s = %q for row %d, but the last write was %q (by %s): that write is lost to this code.", who, o.col, o.got, o.row, o.want, lastWriter(o.last))
	}
	if o.err != nil {
		return fmt.Sprintf("%s: %s.", who, dbError(o.err))
	}
	return who
}

func lastWriter(t *rowTruth) string {
	if t.writer == "seed" {
		return "the data before the change"
	}
	only := ""
	if len(t.cols) == 1 {
		only = " only"
	}
	return fmt.Sprintf("%s on %s at tick %d, to %s%s", t.writer, t.by, t.tick, strings.Join(t.cols, " and "), only)
}
