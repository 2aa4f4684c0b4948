// Package templates holds every SQL statement shepherd runs, one file per
// dialect, as Go text/templates. What `shepherd plan` and `shepherd export`
// show is rendered from here, and it is exactly what `shepherd run` executes.
//
// A script template is a list of steps. Each step starts with a directive line:
//
//	-- step: what it locks and for how long
//	-- step own: …   runs alone in its own transaction, before the phase's
//	                 transaction (it must be idempotent: give it an applied probe)
//	-- step notx: …  runs outside any transaction (CREATE INDEX CONCURRENTLY)
//	-- step conn: …  a setting of the connection (PRAGMA, SET), outside any transaction
//	-- step check: … a query counting problems; a later run of the same query
//	                 in the script must not count more than the first
//	-- applied: SELECT …   optional: a query whose first column is non-zero when
//	                       the step already took effect, so a rerun skips it
//	-- blocks shared: why  optional: the statement blocks writes (shared) or
//	                       reads and writes (exclusive) on every server, in
//	                       its only form: it runs only when the operator
//	                       allows that lock (MySQL's CHECK copies the table)
//	-- noexport: reason    optional: the step cannot be a migration file (shepherd
//	                       does something around it that a migration tool cannot)
//
// followed by one statement. A step may be followed by other forms of it:
//
//	-- else: what it locks          run instead when the database refuses the
//	                                form before (MySQL: an ALTER whose ALGORITHM
//	                                this table does not allow)
//	-- else shared: what it locks   the same, but it blocks writes: run only
//	-- else exclusive: …            when the operator allows that lock
//
// each followed by its statement. They share the step's mode and probe. Inside statements, {{q "name"}} quotes an
// identifier, {{qt .Schema .Table}} a table, {{param "lo"}} is a value bound
// when the statement runs, and {{bind .Table}} a value bound now. Values are
// never spliced into SQL; expressions from the plan file are, by design.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
)

//go:embed *.sql
var files embed.FS

// Mode says how a step runs.
type Mode string

const (
	InTx   Mode = ""     // inside the phase's transaction, with its state write
	Own    Mode = "own"  // alone, in its own transaction, before the phase's transaction
	NoTx   Mode = "notx" // alone, outside any transaction
	ConnOp Mode = "conn" // a connection setting, outside any transaction
	// Check is a query that counts problems (foreign key violations): the
	// first occurrence in a script is the baseline, later ones must not
	// count more.
	Check Mode = "check"
)

// Param is one placeholder of a statement: either a value bound at render
// time (Fixed) or one the engine supplies by Name when it runs the statement.
type Param struct {
	Name  string
	Value any
	Fixed bool
}

// Statement is one SQL statement with its placeholders in order.
type Statement struct {
	SQL    string
	Params []Param
}

// Args returns the statement's arguments, taking named ones from runtime.
func (s Statement) Args(runtime map[string]any) ([]any, error) {
	args := make([]any, len(s.Params))
	for i, p := range s.Params {
		if p.Fixed {
			args[i] = p.Value
			continue
		}
		v, ok := runtime[p.Name]
		if !ok {
			return nil, fmt.Errorf("statement needs a value for %q", p.Name)
		}
		args[i] = v
	}
	return args, nil
}

// Step is one statement of a script, with what it locks and how it runs.
type Step struct {
	Statement
	Lock    string
	Mode    Mode
	Applied *Statement // probe: non-zero when the step already took effect
	// NoExport, when set, says why the step cannot be a migration file.
	NoExport string
	// Blocks, when set, is the lock level (LevelShared, LevelExclusive)
	// the statement takes on every server, in its only form, and
	// BlocksWhy says why: it runs only when the operator allows it.
	Blocks, BlocksWhy string
	// Else are other forms of the step, in order, each run only when the
	// database refuses the form before it.
	Else []Alt
	// UnderLock marks a step that runs while its connection holds MySQL's
	// LOCK TABLES (the line "-- under-lock"): a transaction on that
	// connection would end the lock, so what records the step is written
	// through another one.
	UnderLock bool
}

// Lock levels of an Alt: what it blocks beyond the step's own brief locks.
const (
	LevelNone      = ""          // reads and writes go on
	LevelShared    = "shared"    // writes wait while it runs
	LevelExclusive = "exclusive" // reads and writes wait while it runs
)

// Alt is another form of a step, for a database that refuses the forms
// before it. Level says what it blocks while it runs.
type Alt struct {
	Statement
	Lock  string
	Level string
}

// When says when the form runs, for people.
func (a Alt) When() string {
	if a.Level == LevelNone {
		return "if the server refuses the form above"
	}
	return "if it refuses that too, only with --allow-lock " + a.Level
}

// LevelRank orders lock levels: none < shared < exclusive; -1 for an
// unknown level.
func LevelRank(level string) int {
	switch level {
	case LevelNone:
		return 0
	case LevelShared:
		return 1
	case LevelExclusive:
		return 2
	}
	return -1
}

// Script is the steps of one operation, in order.
type Script []Step

// Question is the placeholder of MySQL and SQLite.
func Question(int) string { return "?" }

// Dollar is PostgreSQL's numbered placeholder.
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// Set is one dialect's templates.
type Set struct {
	Dialect string
	tmpl    *template.Template
	quote   func(string) string
	ph      func(n int) string
	// rendering serializes renders: bound collects the values the one
	// under way binds (the "bind" function appends to it). One parsed
	// set serves every render, where a clone per render with its own
	// "bind" cost more than the statement's round trip.
	rendering sync.Mutex
	bound     []any
}

// Load parses a dialect's template file. quote quotes one identifier;
// placeholder writes the nth (from 1) bound parameter's placeholder.
func Load(dialect string, quote func(string) string, placeholder func(n int) string) (*Set, error) {
	s := &Set{Dialect: dialect, quote: quote, ph: placeholder}
	funcs := template.FuncMap{
		"q": quote,
		"qt": func(schema, table string) string {
			if schema == "" {
				return quote(table)
			}
			return quote(schema) + "." + quote(table)
		},
		"qlist": func(names []string) string {
			out := make([]string, len(names))
			for i, n := range names {
				out[i] = quote(n)
			}
			return strings.Join(out, ", ")
		},
		"param": func(name string) string { return "\x00p" + name + "\x00" },
		// bind collects the value into the render under way; see render.
		"bind": func(v any) string {
			s.bound = append(s.bound, v)
			return fmt.Sprintf("\x00b%d\x00", len(s.bound)-1)
		},
		"join": strings.Join,
	}
	t, err := template.New(dialect).Funcs(funcs).Option("missingkey=error").ParseFS(files, dialect+".sql")
	if err != nil {
		return nil, fmt.Errorf("templates for %s: %w", dialect, err)
	}
	s.tmpl = t
	return s, nil
}

// Has reports whether the dialect defines template name.
func (s *Set) Has(name string) bool { return s.tmpl.Lookup(name) != nil }

// Names lists the set's templates, sorted.
func (s *Set) Names() []string {
	var out []string
	for _, t := range s.tmpl.Templates() {
		if t.Name() != s.Dialect && !strings.HasSuffix(t.Name(), ".sql") {
			out = append(out, t.Name())
		}
	}
	sort.Strings(out)
	return out
}

func (s *Set) render(name string, data any) (string, []any, error) {
	s.rendering.Lock()
	defer s.rendering.Unlock()
	s.bound = nil
	var buf bytes.Buffer
	err := s.tmpl.ExecuteTemplate(&buf, name, data)
	bound := s.bound
	s.bound = nil
	if err != nil {
		return "", nil, fmt.Errorf("render %s/%s: %w", s.Dialect, name, err)
	}
	return buf.String(), bound, nil
}

// statement turns markers into the dialect's placeholders, numbered from 1.
func (s *Set) statement(text string, bound []any) Statement {
	var st Statement
	var b strings.Builder
	for {
		i := strings.IndexByte(text, 0)
		if i < 0 {
			b.WriteString(text)
			break
		}
		j := strings.IndexByte(text[i+1:], 0) + i + 1
		b.WriteString(text[:i])
		marker := text[i+1 : j]
		if marker[0] == 'b' {
			n, _ := strconv.Atoi(marker[1:])
			st.Params = append(st.Params, Param{Value: bound[n], Fixed: true})
		} else {
			st.Params = append(st.Params, Param{Name: marker[1:]})
		}
		b.WriteString(s.ph(len(st.Params)))
		text = text[j+1:]
	}
	st.SQL = strings.TrimSpace(b.String())
	return st
}

// Query renders a template that holds one statement.
func (s *Set) Query(name string, data any) (Statement, error) {
	text, bound, err := s.render(name, data)
	if err != nil {
		return Statement{}, err
	}
	return s.statement(text, bound), nil
}

// Script renders a template of steps.
func (s *Set) Script(name string, data any) (Script, error) {
	text, bound, err := s.render(name, data)
	if err != nil {
		return nil, err
	}
	var script Script
	var cur *Step
	var alt *Alt // the else form being read, if any
	var body []string
	// end ends the statement being read: the step's, or its else form's.
	end := func() {
		st := s.statement(strings.Join(body, "\n"), bound)
		body = nil
		switch {
		case alt != nil:
			alt.Statement = st
			if st.SQL != "" {
				cur.Else = append(cur.Else, *alt)
			}
			alt = nil
		case cur != nil:
			cur.Statement = st
		}
	}
	flush := func() {
		end()
		if cur != nil && cur.SQL != "" {
			script = append(script, *cur)
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "-- step"):
			flush()
			head, lock, _ := strings.Cut(strings.TrimPrefix(trimmed, "-- step"), ":")
			cur = &Step{Lock: strings.TrimSpace(lock), Mode: Mode(strings.TrimSpace(head))}
			switch cur.Mode {
			case InTx, Own, NoTx, ConnOp, Check:
			default:
				return nil, fmt.Errorf("render %s/%s: unknown step mode %q", s.Dialect, name, cur.Mode)
			}
		case trimmed == "-- under-lock" && cur != nil && alt == nil && len(body) == 0:
			cur.UnderLock = true
		case strings.HasPrefix(trimmed, "-- noexport:") && cur != nil && alt == nil && len(body) == 0:
			cur.NoExport = strings.TrimSpace(strings.TrimPrefix(trimmed, "-- noexport:"))
		case strings.HasPrefix(trimmed, "-- blocks") && cur != nil && alt == nil && len(body) == 0:
			head, why, _ := strings.Cut(strings.TrimPrefix(trimmed, "-- blocks"), ":")
			cur.Blocks, cur.BlocksWhy = strings.TrimSpace(head), strings.TrimSpace(why)
			if LevelRank(cur.Blocks) < 1 {
				return nil, fmt.Errorf("render %s/%s: unknown lock level %q in -- blocks", s.Dialect, name, cur.Blocks)
			}
		case strings.HasPrefix(trimmed, "-- else") && cur != nil:
			end()
			head, lock, _ := strings.Cut(strings.TrimPrefix(trimmed, "-- else"), ":")
			alt = &Alt{Lock: strings.TrimSpace(lock), Level: strings.TrimSpace(head)}
			if LevelRank(alt.Level) < 0 {
				return nil, fmt.Errorf("render %s/%s: unknown lock level %q in -- else", s.Dialect, name, alt.Level)
			}
		case strings.HasPrefix(trimmed, "-- applied:") && cur != nil && alt == nil && len(body) == 0:
			probe := s.statement(strings.TrimPrefix(trimmed, "-- applied:"), bound)
			cur.Applied = &probe
		case cur == nil:
			if trimmed != "" {
				return nil, fmt.Errorf("render %s/%s: text before the first -- step: %q", s.Dialect, name, trimmed)
			}
		default:
			body = append(body, line)
		}
	}
	flush()
	return script, nil
}

// Quote quotes one identifier the dialect's way.
func (s *Set) Quote(name string) string { return s.quote(name) }
