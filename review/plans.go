package review

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/shepherd-db/shepherd/internal/sqllex"
)

// planFile is a shepherd plan as written: fields in the order a person
// reads them.
type planFile struct {
	Name       string          `yaml:"name"`
	Playbook   string          `yaml:"playbook"`
	Schema     string          `yaml:"schema,omitempty"`
	Table      string          `yaml:"table"`
	Column     string          `yaml:"column,omitempty"`
	To         string          `yaml:"to,omitempty"`
	Type       string          `yaml:"type,omitempty"`
	Backfill   string          `yaml:"backfill,omitempty"`
	NotNull    bool            `yaml:"not_null,omitempty"`
	Index      *planIndex      `yaml:"index,omitempty"`
	Constraint *planConstraint `yaml:"constraint,omitempty"`
}

type planIndex struct {
	Name    string   `yaml:"name"`
	Columns []string `yaml:"columns"`
}

type planConstraint struct {
	Name       string         `yaml:"name,omitempty"`
	Check      string         `yaml:"check,omitempty"`
	NotNull    string         `yaml:"not_null,omitempty"`
	Unique     []string       `yaml:"unique,omitempty"`
	ForeignKey []string       `yaml:"foreign_key,omitempty"`
	References *planReference `yaml:"references,omitempty"`
}

type planReference struct {
	Schema  string   `yaml:"schema,omitempty"`
	Table   string   `yaml:"table"`
	Columns []string `yaml:"columns,omitempty"`
}

// Plan is the shepherd plan that makes a finding's change safely, as YAML,
// or nil when the change is not one a playbook can carry (an expression
// index, a constraint it cannot read).
func (f *Finding) Plan() []byte {
	a := f.action
	p := planFile{Playbook: f.Playbook, Table: a.Table}
	if schema, table, ok := strings.Cut(a.Table, "."); ok { // a key outside PostgreSQL's public schema
		p.Schema, p.Table = schema, table
	}
	note := "# Written by shepherd review for " + filepath.Base(f.File) + " line " + fmt.Sprint(f.Line) + ": " + f.Check + ".\n"
	switch {
	case f.Playbook == "add-column" && a.Kind == AddColumn:
		if a.Generated {
			return nil // a value the server computes: no backfill for add-column to run
		}
		p.Column, p.Type, p.NotNull, p.Backfill = a.Column, a.Type, a.NotNull, a.Default
		if p.Backfill == "" {
			p.Backfill = "NULL"
			note += "# Set backfill: to the value existing rows get (an SQL expression over the row).\n"
		}
	case f.Playbook == "change-column-type":
		p.Column, p.Type = a.Column, a.Type
	case f.Playbook == "rename-column":
		p.Column, p.To = a.Column, a.To
	case f.Playbook == "drop-column":
		p.Column = a.Column
	case f.Playbook == "add-index":
		for _, c := range a.Columns {
			if !plainName(c) {
				return nil
			}
		}
		if a.Name == "" {
			a.Name = a.Table + "_" + strings.Join(a.Columns, "_") + "_idx"
		}
		p.Index = &planIndex{Name: a.Name, Columns: a.Columns}
	case f.Playbook == "tighten-constraint":
		c := constraintOf(a)
		if c == nil {
			return nil
		}
		p.Constraint = c
	default:
		return nil
	}
	key := p.Table + "-" + firstOf(p.Column, a.Column)
	if p.Index != nil || p.Constraint != nil {
		key = firstOf(a.Name, p.Table+"-"+a.Column)
		if p.Constraint != nil {
			key = firstOf(p.Constraint.Name, key)
		}
	}
	p.Name = slug(key + "-" + f.Playbook)
	data, err := yaml.Marshal(p)
	if err != nil {
		return nil
	}
	return append([]byte(note), data...)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// constraintOf reads what tighten-constraint adds from the statement.
func constraintOf(a Action) *planConstraint {
	if a.Kind == SetNotNull {
		return &planConstraint{Name: a.Table + "_" + a.Column + "_not_null", NotNull: a.Column}
	}
	if a.Kind == CreateIndex {
		for _, c := range a.Columns {
			if !plainName(c) {
				return nil
			}
		}
		return &planConstraint{Name: a.Name, Unique: a.Columns}
	}
	c := &planConstraint{Name: a.Name}
	toks := words(a.Body)
	switch a.Constraint {
	case "CHECK":
		body := strings.TrimSpace(a.Body)
		if !strings.HasPrefix(body, "(") || !strings.HasSuffix(body, ")") {
			return nil
		}
		c.Check = strings.TrimSpace(body[1 : len(body)-1])
	case "UNIQUE":
		cols, _ := nameList(toks, 0)
		if len(cols) == 0 {
			return nil
		}
		c.Unique = cols
	case "FOREIGN KEY":
		cols, i := nameList(toks, 0)
		if len(cols) == 0 || i >= len(toks) || !is(toks[i], "REFERENCES") {
			return nil
		}
		refSchema, ref, j := qname(toks, i+1)
		refCols, _ := nameList(toks, j)
		c.ForeignKey, c.References = cols, &planReference{Schema: refSchema, Table: ref, Columns: refCols}
	default:
		return nil
	}
	return c
}

// nameList reads "( a, b )" at toks[i]: the names and the index after it.
func nameList(toks []sqllex.Token, i int) ([]string, int) {
	if i >= len(toks) || toks[i].Text != "(" {
		return nil, i
	}
	var out []string
	i++
	for i < len(toks) && toks[i].Text != ")" {
		if toks[i].Text == "," {
			i++
			continue
		}
		n, next := name(toks, i)
		if next == i {
			return nil, i
		}
		out = append(out, n)
		i = next
	}
	return out, i + 1
}

func plainName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " ()")
}

// slug makes a plan name: lower case letters, digits and dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// WritePlans writes the plan of each finding a playbook can carry into
// dir, as NAME.yaml, and returns the paths written. An existing file is
// not overwritten.
func WritePlans(dir string, findings []Finding) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write plans: %w", err)
	}
	var wrote []string
	seen := map[string]bool{}
	for i := range findings {
		data := findings[i].Plan()
		if data == nil {
			continue
		}
		var p planFile
		if err := yaml.Unmarshal(data, &p); err != nil {
			return wrote, fmt.Errorf("write plans: %w", err)
		}
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		path := filepath.Join(dir, p.Name+".yaml")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			return wrote, fmt.Errorf("write plans: %s exists already: move it away or choose another --write-plans folder", path)
		}
		if err != nil {
			return wrote, fmt.Errorf("write plans: %w", err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return wrote, fmt.Errorf("write plan %s: %w", path, err)
		}
		wrote = append(wrote, path)
	}
	return wrote, nil
}
