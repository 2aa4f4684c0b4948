package training

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/phases"
)

// scoreModel is a lesson's score: the trainee's sequence beside the safe
// one, the seed's rules and what broke.
type scoreModel struct {
	*shared
	score  *Score
	seed   string     // the heading of the seed the lesson follows
	rules  []string   // its steps
	broken []Incident // every incident of the lesson, with its final count
	top    int        // lines scrolled down
	room   int        // the lines it had on screen last time
}

func newScoreModel(sh *shared, s Score, l *Lesson, broken []Incident) scoreModel {
	return scoreModel{shared: sh, score: &s, seed: l.Guide, rules: l.Rules, broken: broken}
}

func (m *scoreModel) key(k keyName) tea.Cmd {
	keys := m.keys.score
	switch {
	case key.Matches(k, keys.quit):
		return tea.Quit
	case key.Matches(k, keys.back):
		m.top = max(0, m.top-max(1, m.room/2))
	case key.Matches(k, keys.forward):
		m.top += max(1, m.room/2)
	case key.Matches(k, keys.lessons):
		return func() tea.Msg { return leftMsg{} }
	}
	return nil
}

func (m *scoreModel) view(height int) ([]string, bool) {
	s := m.score
	w := m.textWidth()
	var body []string
	body = append(body, m.fit(m.styles.Title.Render("score: "+s.Lesson)), "")
	st := m.styles.OK
	if s.Incidents > 0 || !s.Complete {
		st = m.styles.Error
	}
	body = append(body, styleLines(st, wrapText(s.Verdict, w, 0, 0, 0))...)
	body = append(body, wrapText(fmt.Sprintf("%s · %d of %d requests failed · %s", plural(s.Incidents, "incident"), s.Failed, s.Requests, plural(s.Refused, "step")+" refused"), w, 0, 0, 0)...)
	body = append(body, "")
	for _, line := range SideBySide(s.Steps, s.Safe) {
		style := m.styles.Text
		if strings.Contains(line, "≠") {
			style = m.styles.Warn
		}
		body = append(body, m.fit(style.Render(line)))
	}
	body = append(body, "", "the safe order, from the Migration Operations guide's "+m.seed+":")
	for i, rule := range m.rules {
		body = append(body, styleLines(m.styles.Dim, wrapText(fmt.Sprintf("%d. %s", i+1, rule), w, 2, 5, 0))...)
	}
	if len(m.broken) > 0 {
		body = append(body, "", "what broke:")
		for _, inc := range m.broken {
			who := phases.WordList(inc.Replicas) + " running " + inc.Version
			body = append(body, styleLines(m.styles.Error, wrapText(fmt.Sprintf("step %d: %s, %s in the step, by %s", inc.Step, inc.Kind, plural(inc.Count, "hit"), who), w, 2, 4, 0))...)
			body = append(body, styleLines(m.styles.Dim, wrapText(fmt.Sprintf("%q", inc.Rule), w, 4, 4, 0))...)
		}
	}
	room := height - 1
	if room < 5 {
		return nil, false
	}
	m.room = room
	m.top = min(m.top, max(0, len(body)-room))
	body = body[m.top:]
	sk := m.keys.score
	keys := keyLine(sk.lessons, sk.quit)
	if len(body) > room {
		body = body[:room]
		keys = keyLine(sk.forward, sk.lessons, sk.quit)
	}
	if m.top > 0 {
		keys = keyLine(sk.back) + " · " + keys
	}
	for len(body) < room {
		body = append(body, "")
	}
	return append(body, m.styles.Dim.Render(m.fit(keys))), true
}
