package phases

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A plan's YAML is read into yaml.Nodes first, and its shape (known
// fields, each once, of the right type) is checked on them, against the
// fields of raw: each problem has the line and column of its node and the
// path of its field, from the nodes themselves. go.yaml.in/yaml/v3's
// TypeError is only a list of sentences, and its KnownFields error only
// names the Go type; the checks here need neither.

const fieldsFix = "remove it or fix its spelling; plan fields are name, playbook, schema, table, key, column, type, backfill, not_null, to, constraint (name, check, not_null, unique, foreign_key, references (schema, table, columns), violating) and clean (set)"

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkShape checks node n against the Go type t of the field at path.
func checkShape(file string, n *yaml.Node, t reflect.Type, path string, lines map[string]int) PlanErrors {
	at := n // a wrong type is shown where it is used: at an alias, not its anchor
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// An empty value (field: or field: ~) leaves the field unset.
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	// A field that decodes itself (PerDialect, keyField, assigns) says
	// what is wrong with it, at its node.
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		err := n.Decode(reflect.New(t).Interface())
		if err == nil {
			return nil
		}
		pe := decodeError(file, err, lines)
		// The field is this one; in clean: set:, the column's.
		pe.Field = path
		if rest, ok := strings.CutPrefix(fieldAt(lines, pe.Line), path+"."); ok && t == reflect.TypeFor[assigns]() {
			col, _, _ := strings.Cut(rest, ".")
			pe.Field = join(path, col)
		}
		return PlanErrors{pe}
	}
	if t.Kind() != reflect.Struct {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return PlanErrors{{File: file, Line: at.Line, Column: at.Column, Field: path, Problem: typeProblem(n, t), Fix: "see the plan format in the README"}}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return PlanErrors{{File: file, Line: at.Line, Column: at.Column, Field: path, Problem: typeProblem(n, t), Fix: "see the plan format in the README"}}
	}
	fields := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" {
			fields[name] = f
		}
	}
	var errs PlanErrors
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, &PlanError{File: file, Line: k.Line, Column: k.Column, Field: field,
				Problem: fmt.Sprintf("is given twice (first at line %d)", first), Fix: "give each field once"})
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			problem := fmt.Sprintf("unknown field %q", k.Value)
			if path != "" {
				problem += " in " + path
			}
			errs = append(errs, &PlanError{File: file, Line: k.Line, Column: k.Column, Field: field, Problem: problem, Fix: fieldsFix})
			continue
		}
		errs = append(errs, checkShape(file, v, f.Type, field, lines)...)
	}
	return errs
}

// decodeError turns an error found while decoding into a PlanError: a
// value of the wrong shape (valueError) at its node, named by the field
// whose key is on its line.
func decodeError(file string, err error, lines map[string]int) *PlanError {
	var ve *valueError
	if errors.As(err, &ve) {
		return &PlanError{File: file, Line: ve.at.Line, Column: ve.at.Column, Field: fieldAt(lines, ve.at.Line), Problem: ve.msg, Fix: "see the plan format in the README"}
	}
	// checkShape found every other problem first: this is the library's
	// word, unexpected, as it gives it.
	return &PlanError{File: file, Problem: "not a valid plan: " + err.Error(), Fix: "see the plan format in the README"}
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

// typeProblem says, for people, that node n is not a value of Go type t.
func typeProblem(n *yaml.Node, t reflect.Type) string {
	got := tagWords(n.ShortTag())
	if n.Kind == yaml.ScalarNode {
		got += fmt.Sprintf(" (%s)", n.Value)
	}
	want := "a mapping of fields"
	switch t.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.String:
		want = "text"
	case reflect.Slice:
		want = "a list of column names, such as [email]"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
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

// yamlError turns a YAML syntax error into a PlanError. go.yaml.in/yaml/v3
// gives a syntax error as text only ("yaml: line 3: mapping values are
// not allowed in this context"), before any node exists: its line is read
// from that text, and its column is not known.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pe := &PlanError{File: file, Fix: "fix the YAML syntax"}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				pe.Line, msg = line, text
			}
		}
	}
	pe.Problem = "not valid YAML: " + msg
	return pe
}
