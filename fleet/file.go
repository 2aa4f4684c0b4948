// Package fleet runs one plan across many databases: a fleet file names the
// targets (each a DSN, or a DSN template expanded over a list or a range),
// their groups in order (a canary first), how many run at once and what a
// failure does to the rest. Each target is walked by the engine as a single
// --db run would walk it, with its state in its own database.
package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/shepherd-db/shepherd/engine"
)

// Policy is what a failed target does to the rest of the fleet.
type Policy string

const (
	// Stop starts no other target once one has failed (the default);
	// targets already at work finish their step.
	Stop Policy = "stop"
	// Continue goes on with the other targets and reports the failures
	// at the end.
	Continue Policy = "continue"
)

// DefaultConcurrency is how many targets run at once when the fleet file
// does not say.
const DefaultConcurrency = 4

// Fleet is a fleet file, read and expanded.
type Fleet struct {
	Concurrency int
	OnFailure   Policy
	// Groups is the order the groups run in; targets with no group run
	// after all of them.
	Groups []string
	// Targets are in run order: group by group, then as the file lists
	// them. A target's Index is its place here (--target-index).
	Targets []Target
}

// Target is one database of the fleet.
type Target struct {
	Name  string
	Group string
	Index int
	dsn   engine.DSN
	raw   string
}

// DSN is the target's DSN as given, credentials included: for connecting
// only, never for output.
func (t Target) DSN() string { return t.raw }

// Short names the target's database without user or password.
func (t Target) Short() string { return t.dsn.Short() }

// Scrub masks the target's credentials in text.
func (t Target) Scrub(text string) string { return t.dsn.Scrub(text) }

// file is the YAML form.
type file struct {
	Concurrency int          `yaml:"concurrency"`
	OnFailure   string       `yaml:"on_failure"`
	Groups      []string     `yaml:"groups"`
	Targets     []targetSpec `yaml:"targets"`
}

type targetSpec struct {
	Name  string   `yaml:"name"`
	DB    string   `yaml:"db"`
	Group string   `yaml:"group"`
	Each  []string `yaml:"each"`
	Range *struct {
		From *int `yaml:"from"`
		To   *int `yaml:"to"`
	} `yaml:"range"`
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	envRE  = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// maxTargets bounds one file's expansion, so that a mistyped range does
// not open a million databases.
const maxTargets = 10000

// Load reads a fleet file. ${NAME} in a target's db is taken from the
// environment (getenv; an unset variable is an error), after {{.N}} is
// expanded from the target's each: list or range:, so that no value of
// the environment ever goes through the template.
func Load(path string, getenv func(string) string) (*Fleet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &engine.UsageError{Msg: fmt.Sprintf("reading the fleet file: %v", err)}
	}
	f, err := Parse(data, getenv)
	if err != nil {
		return nil, &engine.UsageError{Msg: fmt.Sprintf("fleet file %s: %v", path, err)}
	}
	return f, nil
}

// Parse reads a fleet file's text (see Load).
func Parse(data []byte, getenv func(string) string) (*Fleet, error) {
	var raw file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a fleet file: %w", err)
	}
	f := &Fleet{Concurrency: raw.Concurrency, OnFailure: Policy(raw.OnFailure), Groups: raw.Groups}
	if f.Concurrency == 0 {
		f.Concurrency = DefaultConcurrency
	}
	if f.Concurrency < 0 {
		return nil, errors.New("concurrency must be positive")
	}
	switch f.OnFailure {
	case "":
		f.OnFailure = Stop
	case Stop, Continue:
	default:
		return nil, fmt.Errorf("on_failure %q: use stop (the default) or continue", raw.OnFailure)
	}
	order := map[string]int{}
	for i, g := range f.Groups {
		if !nameRE.MatchString(g) {
			return nil, fmt.Errorf("group %q: a group name is letters, digits, _ . -", g)
		}
		if _, dup := order[g]; dup {
			return nil, fmt.Errorf("group %s is listed twice", g)
		}
		order[g] = i
	}
	if len(raw.Targets) == 0 {
		return nil, errors.New("it lists no targets")
	}
	byGroup := make([][]Target, len(f.Groups)+1) // the last: no group
	seen := map[string]bool{}
	total := 0
	for i, spec := range raw.Targets {
		ts, err := expand(spec, getenv)
		if err != nil {
			return nil, fmt.Errorf("target %d (%s): %w", i+1, spec.Name, err)
		}
		g := len(f.Groups)
		if spec.Group != "" {
			var ok bool
			if g, ok = order[spec.Group]; !ok {
				return nil, fmt.Errorf("target %s: group %q is not in groups: %v", spec.Name, spec.Group, f.Groups)
			}
		}
		for _, t := range ts {
			if seen[t.Name] {
				return nil, fmt.Errorf("two targets are named %s", t.Name)
			}
			seen[t.Name] = true
			if total++; total > maxTargets {
				return nil, fmt.Errorf("more than %d targets", maxTargets)
			}
			t.Group = spec.Group
			byGroup[g] = append(byGroup[g], t)
		}
	}
	for _, ts := range byGroup {
		for _, t := range ts {
			t.Index = len(f.Targets)
			f.Targets = append(f.Targets, t)
		}
	}
	return f, nil
}

// expand makes a target spec's targets: one, or one per value of each: or
// range:, with {{.N}} in name and db.
func expand(spec targetSpec, getenv func(string) string) ([]Target, error) {
	if spec.Name == "" || spec.DB == "" {
		return nil, errors.New("a target needs a name and a db")
	}
	values := []string{""}
	switch {
	case spec.Each != nil && spec.Range != nil:
		return nil, errors.New("give each: or range:, not both")
	case spec.Each != nil:
		values = spec.Each
	case spec.Range != nil:
		if spec.Range.From == nil || spec.Range.To == nil {
			return nil, errors.New("range needs both from and to")
		}
		from, to := *spec.Range.From, *spec.Range.To
		if to < from || to-from >= maxTargets {
			return nil, fmt.Errorf("range from %d to %d: to must be at least from, and the range at most %d long", from, to, maxTargets)
		}
		values = nil
		for n := from; n <= to; n++ {
			values = append(values, strconv.Itoa(n))
		}
	}
	templated := len(values) > 1 || spec.Each != nil || spec.Range != nil
	if templated && !strings.Contains(spec.Name, "{{") {
		return nil, errors.New("a target with each: or range: needs {{.N}} in its name")
	}
	nameT, err := parseTemplate("name", spec.Name)
	if err != nil {
		return nil, err
	}
	dbT, err := parseTemplate("db", spec.DB)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, v := range values {
		name, err := render(nameT, v)
		if err != nil {
			return nil, err
		}
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("target name %q: letters, digits, _ . - (at most 63)", name)
		}
		db, err := render(dbT, v)
		if err != nil {
			return nil, err
		}
		if db, err = expandEnv(db, getenv); err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
		d, err := engine.ParseDSN(db)
		if err != nil {
			return nil, fmt.Errorf("target %s: %s", name, d.Scrub(err.Error()))
		}
		out = append(out, Target{Name: name, dsn: d, raw: db})
	}
	return out, nil
}

func parseTemplate(field, text string) (*template.Template, error) {
	t, err := template.New(field).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

func render(t *template.Template, n string) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, struct{ N string }{n}); err != nil {
		return "", fmt.Errorf("%s: %w", t.Name(), err)
	}
	return b.String(), nil
}

// expandEnv replaces ${NAME} with the variable's value; an unset one is an
// error that names it (never its value).
func expandEnv(s string, getenv func(string) string) (string, error) {
	var missing []string
	out := envRE.ReplaceAllStringFunc(s, func(m string) string {
		name := envRE.FindStringSubmatch(m)[1]
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("db: environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

// Select picks the targets a command works on: every target, or those of
// group (when not empty), and of those the one at index (when >= 0) or the
// one named name (when not empty).
func (f *Fleet) Select(group string, index int, name string) ([]Target, error) {
	ts := f.Targets
	if group != "" {
		ts = nil
		for _, t := range f.Targets {
			if t.Group == group {
				ts = append(ts, t)
			}
		}
		if len(ts) == 0 {
			return nil, &engine.UsageError{Msg: fmt.Sprintf("--group %s: no target of the fleet is in that group (groups: %v)", group, f.Groups)}
		}
	}
	switch {
	case index >= 0 && name != "":
		return nil, &engine.UsageError{Msg: "give --target-index or --target, not both"}
	case index >= 0:
		if index >= len(ts) {
			return nil, &engine.UsageError{Msg: fmt.Sprintf("--target-index %d: the fleet has %d targets here (0 to %d)", index, len(ts), len(ts)-1)}
		}
		return ts[index : index+1], nil
	case name != "":
		for _, t := range ts {
			if t.Name == name {
				return []Target{t}, nil
			}
		}
		return nil, &engine.UsageError{Msg: fmt.Sprintf("--target %s: the fleet has no such target", name)}
	}
	return ts, nil
}
