package engine

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// usersEmailPlan adds users.email, backfilled from username, on every
// dialect.
const usersEmailPlan = `name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username)"
`

// emailPlan is the same plan with one type, text, for PostgreSQL and
// SQLite.
const emailPlan = `
name: users-email
playbook: add-column
table: users
column: email
type: text
backfill: "lower(username)"
`

// forEachDialect runs a test once per dialect, each on a fresh database;
// dialects without a configured server are skipped, saying so.
func forEachDialect(t *testing.T, fn func(t *testing.T, db *testdb.DB)) {
	// The test runs beside the other tests that do: each has databases of
	// its own, and -parallel bounds how many run at once.
	t.Parallel()
	for _, d := range testdb.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, testdb.New(t, d))
		})
	}
}

// mustPlan parses a plan from YAML text.
func mustPlan(t testing.TB, yaml string) *phases.Plan {
	t.Helper()
	p, err := phases.Parse("plan.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// recorder keeps every event a session emits, and passes each to on.
type recorder struct {
	mu     sync.Mutex
	events []Event
	on     func(Event)
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	if r.on != nil {
		r.on(e)
	}
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// steps returns the SQL of the step events of a phase, in order.
func (r *recorder) steps(phase string) []Event {
	var out []Event
	for _, e := range r.all() {
		if e.Event == EventStep && e.Phase == phase {
			out = append(out, e)
		}
	}
	return out
}

// notices counts the notices whose message contains text.
func (r *recorder) notices(text string) int {
	n := 0
	for _, e := range r.all() {
		if e.Event == EventNotice && strings.Contains(e.Message, text) {
			n++
		}
	}
	return n
}

// find returns the events of a kind whose message or SQL matches pattern.
func (r *recorder) find(kind EventKind, pattern string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	re := regexp.MustCompile(pattern)
	var out []Event
	for _, e := range r.events {
		if e.Event == kind && (re.MatchString(e.Message) || re.MatchString(e.SQL)) {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) of(kind EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Event == kind {
			out = append(out, e)
		}
	}
	return out
}

// session opens the database and starts the plan.
func session(t *testing.T, db *testdb.DB, p *phases.Plan, opts Options) (*Session, *recorder) {
	t.Helper()
	return sessionWith(context.Background(), t, db, p, opts)
}

// runAll runs a plan to the end, confirming every gate.
func runAll(t *testing.T, s *Session) {
	t.Helper()
	confirm := map[string]bool{}
	for _, g := range s.Gates() {
		confirm[g] = true
	}
	out, err := s.Run(context.Background(), "", confirm)
	if err != nil {
		t.Fatalf("run %s: %v", s.plan.Name, err)
	}
	if out != Reached {
		t.Fatalf("run %s stopped at a gate", s.plan.Name)
	}
}
