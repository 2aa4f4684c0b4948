package phases

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decoding errors turned into PlanErrors: the YAML library's messages
// (its line, its Go types) become the plan's field, line and words.

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
