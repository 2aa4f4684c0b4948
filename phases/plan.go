// Package phases reads plan files, knows the three playbooks and decides what
// happens next. It is pure Go: nothing here touches a database.
package phases

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Dialect names, as used in plan files (`type: {postgres: …}`), in --dialect
// and in DSNs.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	SQLite   = "sqlite"
)

// Dialects lists the dialect names in the order shepherd documents them.
func Dialects() []string { return []string{Postgres, MySQL, SQLite} }

// KnownDialect reports whether d names a supported dialect.
func KnownDialect(d string) bool { return d == Postgres || d == MySQL || d == SQLite }

// Playbook names.
const (
	AddColumn         = "add-column"
	RenameColumn      = "rename-column"
	TightenConstraint = "tighten-constraint"
	AddIndex          = "add-index"
	DropIndex         = "drop-index"
	DropColumn        = "drop-column"
	ChangeColumnType  = "change-column-type"
)

// Plan is one validated plan file.
type Plan struct {
	// File is the path the plan was read from, for messages.
	File string `json:"-"`

	Name     string `json:"name"`
	Playbook string `json:"playbook"`
	// Schema is the table's schema (PostgreSQL) or database (MySQL); empty
	// means the connection's default.
	Schema string `json:"schema,omitempty"`
	Table  string `json:"table"`
	// Key is the column batches are keyed on; empty means the table's
	// primary key, found from the live schema. A composite key (key: a
	// list of two or more columns) is in Keys instead, and Key is empty:
	// code that knows only single keys sees none given.
	Key  string   `json:"key,omitempty"`
	Keys []string `json:"keys,omitempty"`

	// The playbook's own fields: exactly one is set, the one playbook:
	// names (spec.go).
	AddColumn    *AddColumnSpec    `json:"-"`
	RenameColumn *RenameColumnSpec `json:"-"`
	Tighten      *TightenSpec      `json:"-"`
	AddIndex     *AddIndexSpec     `json:"-"`
	DropIndex    *DropIndexSpec    `json:"-"`
	DropColumn   *DropColumnSpec   `json:"-"`

	ChangeType *ChangeColumnTypeSpec `json:"-"`

	// Replicas are the MySQL/MariaDB replicas whose lag batched phases
	// watch, as mysql://[user@]host[:port] URLs without a password
	// (replicas.go). They say where the plan runs, not what it does: they
	// are not in the plan's hash.
	Replicas []string `json:"-"`

	lines   map[string]int // field path → line in File, for messages
	dialect string         // set by In: texts show this dialect's fragments
}

// In returns the plan as seen on one dialect: its texts (Expand,
// ConstraintLabel) show that dialect's expressions. Its hash is the plan's.
func (p *Plan) In(dialect string) *Plan {
	c := *p
	c.dialect = dialect
	return &c
}

// Constraint is what tighten-constraint adds: exactly one of Check, NotNull,
// Unique and ForeignKey is set.
type Constraint struct {
	Name    string     `json:"name,omitempty"`
	Check   PerDialect `json:"check,omitzero"`
	NotNull string     `json:"not_null,omitempty"`
	Unique  []string   `json:"unique,omitempty"`
	// ForeignKey lists the referencing columns; References says what they
	// reference.
	ForeignKey []string   `json:"foreign_key,omitempty"`
	References *Reference `json:"references,omitempty"`
	// Violating optionally gives values that break the constraint, which
	// verify-failure-path writes to prove the database rejects them. Without
	// it shepherd derives a violating write itself.
	Violating []Assign `json:"violating,omitempty"`
}

// Reference is the parent side of a foreign key: a table (in Schema, by
// default the plan's) and its columns, which default to its primary key.
type Reference struct {
	Schema  string   `json:"schema,omitempty"`
	Table   string   `json:"table"`
	Columns []string `json:"columns,omitempty"`
}

// ConstraintKind is which kind of constraint tighten-constraint adds: the
// plan's key under constraint: that says it.
type ConstraintKind string

const (
	CheckConstraint      ConstraintKind = "check"
	NotNullConstraint    ConstraintKind = "not_null"
	UniqueConstraint     ConstraintKind = "unique"
	ForeignKeyConstraint ConstraintKind = "foreign_key"
)

// Kind says which kind of constraint it is.
func (c *Constraint) Kind() ConstraintKind {
	switch {
	case c.NotNull != "":
		return NotNullConstraint
	case len(c.Unique) > 0:
		return UniqueConstraint
	case len(c.ForeignKey) > 0:
		return ForeignKeyConstraint
	default:
		return CheckConstraint
	}
}

// Columns returns the columns of the plan's table the constraint is about,
// where it names them.
func (c *Constraint) Columns() []string {
	switch c.Kind() {
	case NotNullConstraint:
		return []string{c.NotNull}
	case UniqueConstraint:
		return c.Unique
	case ForeignKeyConstraint:
		return c.ForeignKey
	}
	return nil
}

// Assign is one `column: expression` pair, in the order the plan gives them.
type Assign struct {
	Column string     `json:"column"`
	Expr   PerDialect `json:"expr"`
}

// PerDialect is an SQL fragment (a type or an expression) that is either the
// same on every dialect or given per dialect.
type PerDialect struct {
	All string            `json:"all,omitempty"`
	By  map[string]string `json:"by,omitempty"`
}

// IsZero reports whether nothing was given.
func (p PerDialect) IsZero() bool { return p.All == "" && len(p.By) == 0 }

// For returns the fragment for dialect d.
func (p PerDialect) For(d string) (string, bool) {
	if p.All != "" {
		return p.All, true
	}
	v, ok := p.By[d]
	return v, ok
}

// Values returns every fragment given, in dialect order.
func (p PerDialect) Values() []string {
	if p.All != "" {
		return []string{p.All}
	}
	var out []string
	for _, d := range Dialects() {
		if v, ok := p.By[d]; ok {
			out = append(out, v)
		}
	}
	return out
}

// String shows the fragment for humans.
func (p PerDialect) String() string {
	if p.All != "" || len(p.By) == 0 {
		return p.All
	}
	var parts []string
	for _, d := range Dialects() {
		if v, ok := p.By[d]; ok {
			parts = append(parts, d+": "+v)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Line returns the line of a field in the plan file, or 0.
func (p *Plan) Line(field string) int { return p.lines[field] }

// Hash identifies the plan's meaning: comments, spacing and key order do not
// change it; any field that changes what runs does.
func (p *Plan) Hash() string {
	sum := sha256.Sum256(p.Canonical())
	return hex.EncodeToString(sum[:])
}

// Canonical is the plan as JSON with a fixed field order: what Hash hashes,
// and what the state log keeps so that a changed plan can be explained.
func (p *Plan) Canonical() []byte {
	b, err := json.Marshal(p.fields())
	if err != nil {
		panic(fmt.Sprintf("marshal plan: %v", err)) // only plain fields: cannot fail
	}
	return b
}

// Diff lists what differs between two canonical plans, one line a field, as
// `backfill: was "x", now "y"`.
func Diff(oldCanonical, newCanonical []byte) []string {
	var a, b map[string]any
	_ = json.Unmarshal(oldCanonical, &a)
	_ = json.Unmarshal(newCanonical, &b)
	fa, fb := map[string]string{}, map[string]string{}
	flatten("", a, fa)
	flatten("", b, fb)
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		va, oka := fa[k]
		vb, okb := fb[k]
		switch {
		case !oka:
			out = append(out, fmt.Sprintf("%s: added %s", k, vb))
		case !okb:
			out = append(out, fmt.Sprintf("%s: removed (was %s)", k, va))
		case va != vb:
			out = append(out, fmt.Sprintf("%s: was %s, now %s", k, va, vb))
		}
	}
	sort.Strings(out)
	return out
}

func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		// A PerDialect prints as its value, not as {all: …}.
		if len(t) == 1 {
			if all, ok := t["all"]; ok {
				flatten(prefix, all, out)
				return
			}
		}
		for k, vv := range t {
			key := k
			if k == "by" {
				key = ""
			}
			flatten(join(prefix, key), vv, out)
		}
	case []any:
		for i, vv := range t {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), vv, out)
		}
	default:
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // show "amount > 0", not "amount \u003e 0"
		_ = enc.Encode(t)
		out[prefix] = strings.TrimSpace(b.String())
	}
}

func join(prefix, key string) string {
	switch {
	case key == "":
		return prefix
	case prefix == "":
		return key
	}
	return prefix + "." + key
}

// Load reads and validates a plan file.
func Load(path string) (*Plan, error) {
	data, err := readPlanFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// raw mirrors the YAML file; KnownFields(true) turns a typo into an error.
type raw struct {
	Name       string     `yaml:"name"`
	Playbook   string     `yaml:"playbook"`
	Schema     string     `yaml:"schema"`
	Table      string     `yaml:"table"`
	Key        keyField   `yaml:"key"`
	Column     string     `yaml:"column"`
	Type       PerDialect `yaml:"type"`
	Backfill   PerDialect `yaml:"backfill"`
	NotNull    *bool      `yaml:"not_null"`
	To         string     `yaml:"to"`
	Using      PerDialect `yaml:"using"`
	Reverse    PerDialect `yaml:"reverse"`
	Constraint *struct {
		Name       string     `yaml:"name"`
		Check      PerDialect `yaml:"check"`
		NotNull    string     `yaml:"not_null"`
		Unique     []string   `yaml:"unique"`
		ForeignKey []string   `yaml:"foreign_key"`
		References *struct {
			Schema  string   `yaml:"schema"`
			Table   string   `yaml:"table"`
			Columns []string `yaml:"columns"`
		} `yaml:"references"`
		Violating assigns `yaml:"violating"`
	} `yaml:"constraint"`
	Clean *struct {
		Set assigns `yaml:"set"`
	} `yaml:"clean"`
	Index *struct {
		Name    string     `yaml:"name"`
		Columns []string   `yaml:"columns"`
		Where   PerDialect `yaml:"where"`
		Using   string     `yaml:"using"`
	} `yaml:"index"`
	Query   PerDialect `yaml:"query"`
	Archive *bool      `yaml:"archive"`
	Sync    string     `yaml:"sync"`

	Replicas []string `yaml:"replicas"`
}

type assigns []Assign

func (a *assigns) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &valueError{at: n, msg: "expected a mapping of column: expression, such as {amount: \"abs(amount)\"}"}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if prev, dup := seen[k.Value]; dup {
			return &valueError{at: k, msg: fmt.Sprintf("column %q is given twice (lines %d and %d)", k.Value, prev, k.Line)}
		}
		seen[k.Value] = k.Line
		var e PerDialect
		if err := n.Content[i+1].Decode(&e); err != nil {
			return err
		}
		*a = append(*a, Assign{Column: k.Value, Expr: e})
	}
	return nil
}

// valueError is a value of the wrong shape, found while decoding, at its
// node; Parse names the field from its line.
type valueError struct {
	at  *yaml.Node
	msg string
}

func (e *valueError) Error() string { return fmt.Sprintf("line %d: %s", e.at.Line, e.msg) }

// textTag reports whether a scalar is text (numbers are taken as text too:
// a type such as 123 is caught later).
func textTag(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!!int" || n.Tag == "!!float")
}

// UnmarshalYAML accepts a plain string or a {dialect: string} mapping.
func (p *PerDialect) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !textTag(n) {
			return &valueError{at: n, msg: "expected text, got " + tagWords(n.Tag)}
		}
		p.All = n.Value
		return nil
	case yaml.MappingNode:
		p.By = map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !KnownDialect(k.Value) {
				return &valueError{at: k, msg: fmt.Sprintf("%q is not a dialect; use postgres, mysql or sqlite", k.Value)}
			}
			if _, dup := p.By[k.Value]; dup {
				return &valueError{at: k, msg: fmt.Sprintf("%s is given twice", k.Value)}
			}
			if !textTag(v) {
				return &valueError{at: v, msg: fmt.Sprintf("the %s value must be text, not %s", k.Value, tagWords(v.Tag))}
			}
			p.By[k.Value] = v.Value
		}
		return nil
	}
	return &valueError{at: n, msg: "expected text or a {postgres: …, mysql: …, sqlite: …} mapping"}
}

var planNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Parse validates a plan read from file.
func Parse(file string, data []byte) (*Plan, error) {
	if err := checkSize(file, data); err != nil {
		return nil, err
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 {
		return nil, &PlanError{File: file, Problem: "the plan is empty", Fix: "see examples/ for a plan of each playbook"}
	}
	if root.Content[0].Kind != yaml.MappingNode {
		return nil, &PlanError{File: file, Line: root.Content[0].Line, Problem: "a plan is a mapping of fields (name:, playbook:, table: …)", Fix: "see examples/ for a plan of each playbook"}
	}
	lines := map[string]int{}
	recordLines(root.Content[0], "", lines)
	// The plan's shape is checked on its nodes, each with its line and
	// column, before it is decoded (yamlerrors.go).
	if errs := checkShape(file, root.Content[0], reflect.TypeFor[raw](), "", lines); len(errs) > 0 {
		return nil, errs
	}
	var r raw
	if err := root.Content[0].Decode(&r); err != nil {
		return nil, decodeError(file, err, lines)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, &PlanError{File: file, Line: more.Line, Problem: "the file holds more than one YAML document", Fix: "keep one plan per file, without a second ---"}
	}
	p := &Plan{File: file, Name: r.Name, Playbook: r.Playbook, Schema: r.Schema, Table: r.Table, lines: lines}
	p.Key, p.Keys = r.Key.split()
	p.Replicas = r.Replicas
	v := &validator{p: p}
	v.validate(r)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	if err := checkCanonicalSize(p); err != nil {
		return nil, err
	}
	return p, nil
}

func recordLines(n *yaml.Node, prefix string, lines map[string]int) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := join(prefix, k.Value)
		lines[path] = k.Line
		recordLines(v, path, lines)
	}
}

// PlanError is a problem with a plan file: where, what, and what to do.
type PlanError struct {
	File    string
	Line    int
	Column  int // 0 where only the line is known
	Field   string
	Problem string
	Fix     string
}

func (e *PlanError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" && !strings.HasPrefix(e.Problem, "unknown field") {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	return b.String()
}

// PlanErrors is every problem found in one plan, so that all can be fixed at
// once.
type PlanErrors []*PlanError

func (es PlanErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
