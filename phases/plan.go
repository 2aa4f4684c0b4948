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
	// single-column primary key, found from the live schema.
	Key string `json:"key,omitempty"`

	// add-column; rename-column uses Column and To, and Type optionally.
	Column   string     `json:"column,omitempty"`
	Type     PerDialect `json:"type,omitzero"`
	Backfill PerDialect `json:"backfill,omitzero"`
	NotNull  bool       `json:"not_null"`
	To       string     `json:"to,omitempty"`

	// tighten-constraint
	Constraint *Constraint `json:"constraint,omitempty"`
	Clean      []Assign    `json:"clean,omitempty"`

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

// Kind names which kind of constraint it is: check, not_null, unique or
// foreign_key.
func (c *Constraint) Kind() string {
	switch {
	case c.NotNull != "":
		return "not_null"
	case len(c.Unique) > 0:
		return "unique"
	case len(c.ForeignKey) > 0:
		return "foreign_key"
	default:
		return "check"
	}
}

// Columns returns the columns of the plan's table the constraint is about,
// where it names them.
func (c *Constraint) Columns() []string {
	switch c.Kind() {
	case "not_null":
		return []string{c.NotNull}
	case "unique":
		return c.Unique
	case "foreign_key":
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
	b, err := json.Marshal(p)
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
	Key        string     `yaml:"key"`
	Column     string     `yaml:"column"`
	Type       PerDialect `yaml:"type"`
	Backfill   PerDialect `yaml:"backfill"`
	NotNull    *bool      `yaml:"not_null"`
	To         string     `yaml:"to"`
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
}

type assigns []Assign

func (a *assigns) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &valueError{line: n.Line, msg: "expected a mapping of column: expression, such as {amount: \"abs(amount)\"}"}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if prev, dup := seen[k.Value]; dup {
			return &valueError{line: k.Line, msg: fmt.Sprintf("column %q is given twice (lines %d and %d)", k.Value, prev, k.Line)}
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

// valueError is a value of the wrong shape, found while decoding; Parse
// names the field from its line.
type valueError struct {
	line int
	msg  string
}

func (e *valueError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

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
			return &valueError{line: n.Line, msg: "expected text, got " + tagWords(n.Tag)}
		}
		p.All = n.Value
		return nil
	case yaml.MappingNode:
		p.By = map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !KnownDialect(k.Value) {
				return &valueError{line: k.Line, msg: fmt.Sprintf("%q is not a dialect; use postgres, mysql or sqlite", k.Value)}
			}
			if _, dup := p.By[k.Value]; dup {
				return &valueError{line: k.Line, msg: fmt.Sprintf("%s is given twice", k.Value)}
			}
			if !textTag(v) {
				return &valueError{line: v.Line, msg: fmt.Sprintf("the %s value must be text, not %s", k.Value, tagWords(v.Tag))}
			}
			p.By[k.Value] = v.Value
		}
		return nil
	}
	return &valueError{line: n.Line, msg: "expected text or a {postgres: …, mysql: …, sqlite: …} mapping"}
}

var planNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// yamlLineRE finds "line N:" in the YAML library's messages.
var yamlLineRE = regexp.MustCompile(`line (\d+): `)

// Parse validates a plan read from file.
func Parse(file string, data []byte) (*Plan, error) {
	if err := checkSize(file, data); err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
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
	var r raw
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, decodeError(file, err, lines)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, &PlanError{File: file, Line: more.Line, Problem: "the file holds more than one YAML document", Fix: "keep one plan per file, without a second ---"}
	}
	p := &Plan{
		File: file, Name: r.Name, Playbook: r.Playbook, Schema: r.Schema, Table: r.Table, Key: r.Key,
		Column: r.Column, Type: r.Type, Backfill: r.Backfill, NotNull: r.NotNull == nil || *r.NotNull, To: r.To,
		lines: lines,
	}
	if r.Constraint != nil {
		p.Constraint = &Constraint{Name: r.Constraint.Name, Check: r.Constraint.Check, NotNull: r.Constraint.NotNull,
			Unique: r.Constraint.Unique, ForeignKey: r.Constraint.ForeignKey, Violating: r.Constraint.Violating}
		if ref := r.Constraint.References; ref != nil {
			p.Constraint.References = &Reference{Schema: ref.Schema, Table: ref.Table, Columns: ref.Columns}
		}
	}
	if r.Clean != nil {
		p.Clean = r.Clean.Set
	}
	if r.Playbook != AddColumn {
		p.NotNull = false // only add-column enforces NOT NULL on its own column
	}
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

// decodeError turns an error found while decoding into a PlanError naming
// the field, which is found from the error's line.
func decodeError(file string, err error, lines map[string]int) error {
	var ve *valueError
	if errors.As(err, &ve) {
		return &PlanError{File: file, Line: ve.line, Field: fieldAt(lines, ve.line), Problem: ve.msg, Fix: "see the plan format in the README"}
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return yamlError(file, err)
	}
	var errs PlanErrors
	for _, msg := range te.Errors {
		pe := &PlanError{File: file, Fix: "see the plan format in the README"}
		if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil {
			fmt.Sscanf(msg[m[2]:m[3]], "%d", &pe.Line)
			msg = msg[:m[0]] + msg[m[1]:]
		}
		pe.Field = fieldAt(lines, pe.Line)
		if strings.Contains(msg, "not found in type") {
			field := strings.TrimPrefix(msg, "field ")
			field = field[:strings.Index(field, " not found")]
			if pe.Field != "" && strings.HasSuffix(pe.Field, "."+field) {
				field = pe.Field
			}
			pe.Field = field
			pe.Problem = fmt.Sprintf("unknown field %q", field[strings.LastIndex(field, ".")+1:])
			if i := strings.LastIndex(field, "."); i >= 0 {
				pe.Problem += " in " + field[:i]
			}
			pe.Fix = "remove it or fix its spelling; plan fields are name, playbook, schema, table, key, column, type, backfill, not_null, to, constraint (name, check, not_null, unique, foreign_key, references (schema, table, columns), violating) and clean (set)"
		} else if strings.Contains(msg, "already defined") {
			pe.Field = ""
			pe.Problem = "not valid YAML: " + msg
			pe.Fix = "give each field once"
		} else {
			pe.Problem = typeProblem(msg)
		}
		errs = append(errs, pe)
	}
	return errs
}

// fieldAt returns the field whose key is on line: the outermost one, and
// never a dialect key of a per-dialect value.
func fieldAt(lines map[string]int, line int) string {
	best := ""
	for path, l := range lines {
		if l != line {
			continue
		}
		if best == "" || strings.Count(path, ".") < strings.Count(best, ".") {
			best = path
		}
	}
	if i := strings.LastIndex(best, "."); i >= 0 && KnownDialect(best[i+1:]) {
		best = best[:i]
	}
	return best
}

var unmarshalRE = regexp.MustCompile("cannot unmarshal (!!\\w+)(?: `([^`]*)`)? into (.*)$")

// typeProblem rewords "cannot unmarshal !!seq into bool" for people.
func typeProblem(msg string) string {
	m := unmarshalRE.FindStringSubmatch(msg)
	if m == nil {
		return "wrong type: " + msg
	}
	got := tagWords(m[1])
	if m[2] != "" {
		got += fmt.Sprintf(" (%s)", m[2])
	}
	want := "a mapping of fields"
	switch goType := m[3]; {
	case goType == "bool":
		want = "true or false"
	case goType == "string":
		want = "text"
	case goType == "[]string":
		want = "a list of column names, such as [email]"
	case strings.HasPrefix(goType, "int"):
		want = "a number"
	}
	return fmt.Sprintf("expected %s, got %s", want, got)
}

// tagWords names a YAML tag for people.
func tagWords(tag string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!bool":
		return "true/false"
	case "!!null":
		return "nothing (null)"
	case "!!int", "!!float":
		return "a number"
	case "!!str":
		return "text"
	}
	return strings.TrimPrefix(tag, "!!")
}

// yamlError rewords the YAML library's errors into a PlanError with a line.
func yamlError(file string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimPrefix(msg, "yaml: ")
	var errs PlanErrors
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		pe := &PlanError{File: file}
		if m := yamlLineRE.FindStringSubmatchIndex(line); m != nil {
			fmt.Sscanf(line[m[2]:m[3]], "%d", &pe.Line)
			line = line[:m[0]] + line[m[1]:]
		}
		switch {
		case strings.Contains(line, "not found in type"):
			field := strings.TrimPrefix(line, "field ")
			field = field[:strings.Index(field, " not found")]
			pe.Field = field
			pe.Problem = fmt.Sprintf("unknown field %q", field[strings.LastIndex(field, ".")+1:])
			if i := strings.LastIndex(field, "."); i >= 0 {
				pe.Problem += " in " + field[:i]
			}
			pe.Fix = "remove it or fix its spelling; plan fields are name, playbook, schema, table, key, column, type, backfill, not_null, to, constraint (name, check, not_null, unique, foreign_key, references (schema, table, columns), violating) and clean (set)"
		case strings.Contains(line, "cannot unmarshal"):
			pe.Problem = "wrong type: " + line
			pe.Fix = "see the plan format in the README"
		default:
			pe.Problem = "not valid YAML: " + line
			pe.Fix = "fix the YAML syntax"
		}
		errs = append(errs, pe)
	}
	if len(errs) == 0 {
		return &PlanError{File: file, Problem: msg}
	}
	return errs
}

type validator struct {
	p    *Plan
	errs PlanErrors
}

func (v *validator) add(field, problem, fix string) {
	v.errs = append(v.errs, &PlanError{File: v.p.File, Line: v.p.lines[field], Field: field, Problem: problem, Fix: fix})
}

func (v *validator) required(field, val, fix string) bool {
	if strings.TrimSpace(val) == "" {
		v.add(field, "is missing", fix)
		return false
	}
	return true
}

func (v *validator) ident(field, val, what string) {
	if val == "" {
		return
	}
	if err := CheckIdent(val); err != nil {
		v.add(field, fmt.Sprintf("%q %v", val, err), "give the "+what+"'s name as the database knows it, such as "+exampleFor(what))
	}
}

func exampleFor(what string) string {
	switch what {
	case "table":
		return "users"
	case "constraint":
		return "orders_amount_positive"
	case "schema":
		return "public"
	}
	return "email"
}

// expr checks an expression field: one value of one row (CheckScalar),
// as a column's value and a CHECK's condition both are.
func (v *validator) expr(field string, e PerDialect, example string) {
	for _, s := range e.Values() {
		if err := CheckScalar(s); err != nil {
			v.add(field, fmt.Sprintf("%q %v", s, err), "give one SQL expression, such as "+example)
		}
	}
}

// forbid reports fields that the playbook does not use: a plan that carries
// them was probably written for another playbook.
func (v *validator) forbid(field string, set bool) {
	if set {
		v.add(field, fmt.Sprintf("is not used by the %s playbook", v.p.Playbook), "remove it, or choose the playbook that uses it")
	}
}

func (v *validator) validate(r raw) {
	p := v.p
	if v.required("name", p.Name, "give the plan a name such as users-email") && !planNameRE.MatchString(p.Name) {
		v.add("name", fmt.Sprintf("%q is not a valid plan name", p.Name), "use lower-case letters, digits, '-' and '_', starting with a letter or digit, such as users-email")
	}
	if v.required("playbook", p.Playbook, "set playbook: to add-column, rename-column or tighten-constraint") {
		if _, ok := Playbooks()[p.Playbook]; !ok {
			v.add("playbook", fmt.Sprintf("%q is not a playbook", p.Playbook), "use add-column, rename-column or tighten-constraint")
		}
	}
	v.ident("schema", p.Schema, "schema")
	if v.required("table", p.Table, "set table: to the table to change") {
		v.ident("table", p.Table, "table")
	}
	v.ident("key", p.Key, "column")
	for _, d := range []struct {
		field string
		val   PerDialect
	}{{"type", p.Type}, {"backfill", p.Backfill}} {
		for k := range d.val.By {
			if !KnownDialect(k) {
				v.add(d.field, fmt.Sprintf("%q is not a dialect", k), "use postgres, mysql or sqlite")
			}
		}
	}
	for _, t := range p.Type.Values() {
		if err := CheckType(t); err != nil {
			v.add("type", fmt.Sprintf("%q %v", t, err), "give a column type such as text or varchar(255)")
		}
	}

	switch p.Playbook {
	case AddColumn:
		if v.required("column", p.Column, "set column: to the name of the column to add") {
			v.ident("column", p.Column, "column")
		}
		if p.Type.IsZero() {
			v.add("type", "is missing", "set type: to the new column's type, such as text, or per dialect: {postgres: text, mysql: varchar(255), sqlite: text}")
		}
		if p.Backfill.IsZero() {
			v.add("backfill", "is missing", "set backfill: to an SQL expression over the row that gives the new column's value, such as lower(username) || '@example.com'")
		}
		v.expr("backfill", p.Backfill, "lower(username) || '@example.com'")
		for _, e := range p.Backfill.Values() {
			if looksLikeIdent(e) && strings.EqualFold(strings.Trim(strings.TrimSpace(e), "\"`"), p.Column) {
				v.add("backfill", fmt.Sprintf("%q is the column being added, so every row would stay NULL", e), "give an expression over the existing columns, such as lower(username) || '@example.com'")
			}
		}
		v.forbid("to", p.To != "")
		v.forbid("constraint", r.Constraint != nil)
		v.forbid("clean", r.Clean != nil)
	case RenameColumn:
		if v.required("column", p.Column, "set column: to the column to rename") {
			v.ident("column", p.Column, "column")
		}
		if v.required("to", p.To, "set to: to the column's new name") {
			v.ident("to", p.To, "column")
		}
		if p.Column != "" && p.Column == p.To {
			v.add("to", fmt.Sprintf("is the same as column (%q)", p.To), "give the new name")
		}
		v.forbid("backfill", !p.Backfill.IsZero())
		v.forbid("not_null", r.NotNull != nil)
		v.forbid("constraint", r.Constraint != nil)
		v.forbid("clean", r.Clean != nil)
	case TightenConstraint:
		v.forbid("column", p.Column != "")
		v.forbid("type", !p.Type.IsZero())
		v.forbid("backfill", !p.Backfill.IsZero())
		v.forbid("not_null", r.NotNull != nil)
		v.forbid("to", p.To != "")
		v.validateConstraint()
	}
}

func (v *validator) validateConstraint() {
	p := v.p
	c := p.Constraint
	if c == nil {
		v.add("constraint", "is missing", `set constraint: to {name: orders_amount_positive, check: "amount > 0"}, {not_null: COLUMN}, {name: users_email_key, unique: [email]} or {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}`)
		return
	}
	kinds := 0
	if !c.Check.IsZero() {
		kinds++
	}
	if c.NotNull != "" {
		kinds++
	}
	if len(c.Unique) > 0 {
		kinds++
	}
	if len(c.ForeignKey) > 0 {
		kinds++
	}
	if kinds != 1 {
		v.add("constraint", "must give exactly one of check, not_null, unique and foreign_key", "split it into one plan per constraint")
		return
	}
	if c.References != nil && c.Kind() != "foreign_key" {
		v.add("constraint.references", "is only for a foreign key", "add foreign_key: [COLUMN...] with the columns that reference it, or remove references:")
	}
	v.ident("constraint.name", c.Name, "constraint")
	switch c.Kind() {
	case "check":
		v.required("constraint.name", c.Name, "name the constraint, such as orders_amount_positive")
		v.expr("constraint.check", c.Check, `"amount > 0"`)
		for _, e := range c.Check.Values() {
			if looksLikeIdent(e) {
				v.add("constraint.check", fmt.Sprintf("%q is a column name, not a condition", e), fmt.Sprintf("give a condition such as \"amount > 0\"; to forbid NULLs use not_null: %s", strings.Trim(e, "\"`")))
			}
		}
	case "not_null":
		v.ident("constraint.not_null", c.NotNull, "column")
	case "unique":
		v.required("constraint.name", c.Name, "name the constraint, such as users_email_key")
		v.columnList("constraint.unique", c.Unique)
	case "foreign_key":
		v.required("constraint.name", c.Name, "name the constraint, such as orders_user_fk")
		v.columnList("constraint.foreign_key", c.ForeignKey)
		ref := c.References
		if ref == nil {
			v.add("constraint.references", "is missing", "say what the foreign key references, such as references: {table: users} (its primary key) or references: {table: users, columns: [id]}")
			break
		}
		v.ident("constraint.references.schema", ref.Schema, "schema")
		if strings.TrimSpace(ref.Table) == "" {
			v.errs = append(v.errs, &PlanError{File: p.File, Line: p.lines["constraint.references"], Field: "constraint.references.table",
				Problem: "is missing", Fix: "name the referenced table, such as references: {table: users}"})
		}
		v.ident("constraint.references.table", ref.Table, "table")
		if ref.Columns != nil {
			if len(ref.Columns) == 0 {
				v.add("constraint.references.columns", "is an empty list", "list the referenced columns, such as [id], or leave columns: out to reference the primary key")
			}
			v.columnList("constraint.references.columns", ref.Columns)
			if len(ref.Columns) > 0 && len(ref.Columns) != len(c.ForeignKey) {
				v.add("constraint.references.columns", fmt.Sprintf("names %d columns (%s) for %d in foreign_key (%s)", len(ref.Columns), strings.Join(ref.Columns, ", "), len(c.ForeignKey), strings.Join(c.ForeignKey, ", ")),
					"give one referenced column for each foreign_key column, in the same order")
			}
		}
	}
	for _, a := range c.Violating {
		v.ident("constraint.violating", a.Column, "column")
		v.expr("constraint.violating."+a.Column, a.Expr, "-1")
	}
	for _, a := range p.Clean {
		v.ident("clean.set", a.Column, "column")
		v.expr("clean.set."+a.Column, a.Expr, "abs(amount)")
	}
}

// columnList checks a list of column names: each a valid name, none twice.
func (v *validator) columnList(field string, cols []string) {
	seen := map[string]bool{}
	for _, col := range cols {
		v.ident(field, col, "column")
		if seen[col] {
			v.add(field, fmt.Sprintf("names %q twice", col), "list each column once")
		}
		seen[col] = true
	}
}

// PlanError is a problem with a plan file: where, what, and what to do.
type PlanError struct {
	File    string
	Line    int
	Field   string
	Problem string
	Fix     string
}

func (e *PlanError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
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
