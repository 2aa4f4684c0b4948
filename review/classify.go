package review

import (
	"strings"

	"github.com/shepherd-db/shepherd/internal/sqllex"
)

// Kind is what one action of a statement does.
type Kind string

const (
	AddColumn      Kind = "add-column"
	AlterType      Kind = "alter-column-type"
	SetNotNull     Kind = "set-not-null"
	AddConstraint  Kind = "add-constraint"
	CreateIndex    Kind = "create-index"
	DropColumn     Kind = "drop-column"
	RenameColumn   Kind = "rename-column"
	RenameTable    Kind = "rename-table"
	DropTable      Kind = "drop-table"
	ChangeRows     Kind = "change-rows" // UPDATE, DELETE
	CreateTable    Kind = "create-table"
	OtherStatement Kind = "other"
)

// Action is one thing a statement does to one table.
type Action struct {
	Kind Kind
	// Schema is the schema (MySQL: database) the statement names the table
	// in, "" when unqualified.
	Schema string
	Table  string
	Column string
	// AddColumn: the column's type, and whether it is NOT NULL and has a
	// DEFAULT.
	Type       string
	Generated  bool // GENERATED ALWAYS AS, AUTO_INCREMENT: the server computes it
	NotNull    bool
	HasDefault bool
	Default    string
	// AddConstraint: its name, kind (CHECK, FOREIGN KEY, UNIQUE, PRIMARY
	// KEY), body (what follows the kind) and whether NOT VALID.
	Name, Constraint, Body string
	NotValid               bool
	// AddConstraint FOREIGN KEY: the table it references.
	RefSchema, RefTable string
	// CreateIndex: CONCURRENTLY, UNIQUE, the columns' text.
	Concurrently, Unique bool
	Columns              []string
	// RenameColumn, RenameTable: the new name.
	To string
	// Refused is the scratch database's refusal of the statement, when it
	// is one the review reports rather than fails on.
	Refused string
}

// words is a statement's tokens without space and comments.
func words(sql string) []sqllex.Token {
	var out []sqllex.Token
	for _, t := range sqllex.Lex(sql, sqllex.Statement) {
		if t.Kind != sqllex.Space && t.Kind != sqllex.Comment {
			out = append(out, t)
		}
	}
	return out
}

// is says whether t is the keyword kw (case-insensitive, never quoted).
func is(t sqllex.Token, kw string) bool {
	return t.Kind == sqllex.Word && strings.EqualFold(t.Text, kw)
}

// name reads a possibly schema-qualified name at toks[i]: the last part,
// unquoted, and the index after it.
func name(toks []sqllex.Token, i int) (string, int) {
	_, n, next := qname(toks, i)
	return n, next
}

// qname reads a possibly schema-qualified name at toks[i]: the part
// before the last (the schema, "" when none), the last part, unquoted, and
// the index after it.
func qname(toks []sqllex.Token, i int) (string, string, int) {
	schema, n := "", ""
	for i < len(toks) {
		t := toks[i]
		switch t.Kind {
		case sqllex.Quoted:
			q := t.Text[:1]
			if q == "[" {
				q = "]"
			}
			n = strings.ReplaceAll(t.Text[1:len(t.Text)-1], q+q, q)
		case sqllex.Word:
			n = strings.ToLower(t.Text)
		default:
			return schema, n, i
		}
		i++
		if i < len(toks) && toks[i].Kind == sqllex.Punct && toks[i].Text == "." {
			schema = n
			i++
			continue
		}
		return schema, n, i
	}
	return schema, n, i
}

// skip moves past the keywords kws where they are at toks[i], in order.
func skip(toks []sqllex.Token, i int, kws ...string) int {
	for _, kw := range kws {
		if i < len(toks) && is(toks[i], kw) {
			i++
		}
	}
	return i
}

// text joins tokens with single spaces (a rough display of a clause).
func text(toks []sqllex.Token) string {
	var b strings.Builder
	for k, t := range toks {
		call := k > 0 && t.Text == "(" && toks[k-1].Kind == sqllex.Word && !isKeyword(toks[k-1].Text)
		if k > 0 && !call && !(t.Kind == sqllex.Punct && (t.Text == "," || t.Text == ")")) && !(toks[k-1].Kind == sqllex.Punct && toks[k-1].Text == "(") {
			b.WriteByte(' ')
		}
		b.WriteString(t.Text)
	}
	return b.String()
}

// isKeyword is a word a "(" after which is no call: CHECK (…), IN (…).
func isKeyword(w string) bool {
	switch strings.ToUpper(w) {
	case "CHECK", "IN", "AND", "OR", "NOT", "KEY", "REFERENCES", "UNIQUE", "ANY", "ALL", "EXISTS":
		return true
	}
	return false
}

// Classify says what a statement does, one Action per ALTER TABLE clause.
func Classify(sql string) []Action {
	toks := words(sql)
	if len(toks) < 2 {
		return []Action{{Kind: OtherStatement}}
	}
	switch {
	case is(toks[0], "ALTER") && is(toks[1], "TABLE"):
		i := skip(toks, 2, "IF", "EXISTS", "ONLY")
		schema, table, i := qname(toks, i)
		var out []Action
		for _, clause := range splitTop(toks[i:]) {
			a := alterClause(table, clause)
			a.Schema = schema
			out = append(out, a)
		}
		return out
	case is(toks[0], "RENAME") && is(toks[1], "TABLE"): // MySQL
		schema, table, i := qname(toks, 2)
		to, _ := name(toks, skip(toks, i, "TO"))
		return []Action{{Kind: RenameTable, Schema: schema, Table: table, To: to}}
	case is(toks[0], "DROP") && is(toks[1], "TABLE"):
		schema, table, _ := qname(toks, skip(toks, 2, "IF", "EXISTS"))
		return []Action{{Kind: DropTable, Schema: schema, Table: table}}
	case is(toks[0], "CREATE") && (is(toks[1], "INDEX") || is(toks[1], "UNIQUE")):
		return []Action{createIndex(toks)}
	case is(toks[0], "CREATE") && is(toks[1], "TABLE"):
		s, t, _ := qname(toks, skip(toks, 2, "IF", "NOT", "EXISTS"))
		return []Action{{Kind: CreateTable, Schema: s, Table: t}}
	case is(toks[0], "UPDATE"):
		s, t, _ := qname(toks, skip(toks, 1, "ONLY"))
		return []Action{{Kind: ChangeRows, Schema: s, Table: t}}
	case is(toks[0], "DELETE") && is(toks[1], "FROM"):
		s, t, _ := qname(toks, skip(toks, 2, "ONLY"))
		return []Action{{Kind: ChangeRows, Schema: s, Table: t}}
	}
	return []Action{{Kind: OtherStatement}}
}

// splitTop cuts tokens at the commas outside parentheses.
func splitTop(toks []sqllex.Token) [][]sqllex.Token {
	var out [][]sqllex.Token
	depth, start := 0, 0
	for i, t := range toks {
		if t.Kind != sqllex.Punct {
			continue
		}
		switch t.Text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, toks[start:i])
				start = i + 1
			}
		}
	}
	return append(out, toks[start:])
}

func alterClause(table string, c []sqllex.Token) Action {
	a := Action{Kind: OtherStatement, Table: table}
	if len(c) == 0 {
		return a
	}
	has := func(kws ...string) bool {
		for i := 0; i+len(kws) <= len(c); i++ {
			ok := true
			for k, kw := range kws {
				ok = ok && is(c[i+k], kw)
			}
			if ok {
				return true
			}
		}
		return false
	}
	switch {
	case is(c[0], "ADD") && len(c) > 1 && (is(c[1], "INDEX") || is(c[1], "KEY") || is(c[1], "FULLTEXT") || is(c[1], "SPATIAL") ||
		is(c[1], "UNIQUE") && len(c) > 2 && (is(c[2], "INDEX") || is(c[2], "KEY"))):
		// MySQL's ALTER TABLE t ADD [UNIQUE] INDEX name (cols): CREATE INDEX's
		// reading, as CREATE [UNIQUE] INDEX name ON t (cols).
		head := []sqllex.Token{c[0]}
		if is(c[1], "UNIQUE") {
			head = append(head, c[1])
			c = c[1:]
		}
		head = append(head, sqllex.Token{Kind: sqllex.Word, Text: "INDEX"})
		rest := skip(c, 1, "INDEX", "KEY", "FULLTEXT", "SPATIAL", "INDEX", "KEY")
		var name []sqllex.Token
		if rest < len(c) && c[rest].Text != "(" {
			name, rest = c[rest:rest+1], rest+1
		}
		toks := append(append(append(head, name...), sqllex.Token{Kind: sqllex.Word, Text: "ON"}, sqllex.Token{Kind: sqllex.Quoted, Text: `"` + table + `"`}), c[rest:]...)
		a = createIndex(toks)
	case is(c[0], "ADD") && len(c) > 1 && (is(c[1], "CONSTRAINT") || is(c[1], "CHECK") || is(c[1], "FOREIGN") || is(c[1], "UNIQUE") || is(c[1], "PRIMARY")):
		a.Kind = AddConstraint
		i := 1
		if is(c[1], "CONSTRAINT") {
			a.Name, i = name(c, 2)
		}
		if i < len(c) {
			a.Constraint = strings.ToUpper(c[i].Text)
			if a.Constraint == "FOREIGN" || a.Constraint == "PRIMARY" {
				a.Constraint += " KEY"
				i++
			}
			i++
		}
		a.NotValid = has("NOT", "VALID")
		body := c[min(i, len(c)):]
		if a.NotValid {
			body = body[:len(body)-2]
		}
		a.Body = text(body)
		if a.Constraint == "FOREIGN KEY" {
			for k := range body {
				if is(body[k], "REFERENCES") {
					a.RefSchema, a.RefTable, _ = qname(body, k+1)
					break
				}
			}
		}
	case is(c[0], "ADD"):
		a.Kind = AddColumn
		i := skip(c, 1, "COLUMN", "IF", "NOT", "EXISTS")
		a.Column, i = name(c, i)
		j := i
		for j < len(c) && !is(c[j], "NOT") && !is(c[j], "NULL") && !is(c[j], "DEFAULT") && !is(c[j], "CONSTRAINT") &&
			!is(c[j], "PRIMARY") && !is(c[j], "UNIQUE") && !is(c[j], "REFERENCES") && !is(c[j], "CHECK") && !is(c[j], "GENERATED") {
			j++
		}
		a.Type = text(c[i:j])
		a.NotNull = has("NOT", "NULL")
		a.Generated = has("GENERATED") || has("AUTO_INCREMENT")
		for k := j; k < len(c); k++ {
			if !is(c[k], "DEFAULT") {
				continue
			}
			a.HasDefault = true
			e := k + 1
			for e < len(c) && !is(c[e], "NOT") && !is(c[e], "NULL") && !is(c[e], "CONSTRAINT") && !is(c[e], "PRIMARY") &&
				!is(c[e], "UNIQUE") && !is(c[e], "REFERENCES") && !is(c[e], "CHECK") {
				e++
			}
			a.Default = text(c[k+1 : e])
			break
		}
	case is(c[0], "ALTER"):
		i := skip(c, 1, "COLUMN")
		a.Column, i = name(c, i)
		rest := c[i:]
		switch {
		case len(rest) > 0 && (is(rest[0], "TYPE") || len(rest) > 2 && is(rest[0], "SET") && is(rest[1], "DATA") && is(rest[2], "TYPE")):
			a.Kind = AlterType
			k := skip(rest, 0, "SET", "DATA", "TYPE")
			e := k
			for e < len(rest) && !is(rest[e], "USING") && !is(rest[e], "COLLATE") {
				e++
			}
			a.Type = text(rest[k:e])
		case len(rest) > 2 && is(rest[0], "SET") && is(rest[1], "NOT") && is(rest[2], "NULL"):
			a.Kind = SetNotNull
		}
	case is(c[0], "MODIFY") || is(c[0], "CHANGE"): // MySQL: the column's whole definition again
		a.Kind = AlterType
		i := skip(c, 1, "COLUMN")
		a.Column, i = name(c, i)
		if is(c[0], "CHANGE") {
			a.To, i = name(c, i)
			if a.To != a.Column {
				a.Kind = RenameColumn
			}
		}
		j := i
		for j < len(c) && !is(c[j], "NOT") && !is(c[j], "NULL") && !is(c[j], "DEFAULT") && !is(c[j], "FIRST") && !is(c[j], "AFTER") {
			j++
		}
		a.Type = text(c[i:j])
		a.NotNull = has("NOT", "NULL")
	case is(c[0], "DROP") && len(c) > 1 && (is(c[1], "CONSTRAINT") || is(c[1], "INDEX") || is(c[1], "KEY") || is(c[1], "FOREIGN") ||
		is(c[1], "PRIMARY") || is(c[1], "CHECK") || is(c[1], "DEFAULT")):
	case is(c[0], "DROP"):
		a.Kind = DropColumn
		a.Column, _ = name(c, skip(c, 1, "COLUMN", "IF", "EXISTS"))
	case is(c[0], "RENAME") && len(c) > 1 && (is(c[1], "TO") || is(c[1], "AS")):
		a.Kind = RenameTable
		a.To, _ = name(c, 2)
	case is(c[0], "RENAME") && len(c) > 1 && !is(c[1], "CONSTRAINT") && !is(c[1], "INDEX") && !is(c[1], "KEY"):
		a.Kind = RenameColumn
		i := skip(c, 1, "COLUMN")
		a.Column, i = name(c, i)
		a.To, _ = name(c, skip(c, i, "TO"))
	}
	return a
}

func createIndex(toks []sqllex.Token) Action {
	a := Action{Kind: CreateIndex}
	i := 1
	if is(toks[i], "UNIQUE") {
		a.Unique = true
		i++
	}
	i = skip(toks, i, "INDEX")
	if i < len(toks) && is(toks[i], "CONCURRENTLY") {
		a.Concurrently = true
		i++
	}
	i = skip(toks, i, "IF", "NOT", "EXISTS")
	if i < len(toks) && !is(toks[i], "ON") {
		a.Name, i = name(toks, i)
	}
	i = skip(toks, i, "ON", "ONLY")
	a.Schema, a.Table, i = qname(toks, i)
	if i < len(toks) && is(toks[i], "USING") {
		i += 2
	}
	if i < len(toks) && toks[i].Text == "(" {
		depth := 0
		start := i + 1
		for k := i; k < len(toks); k++ {
			switch toks[k].Text {
			case "(":
				depth++
			case ")":
				depth--
			}
			if depth == 0 {
				for _, part := range splitTop(toks[start:k]) {
					if len(part) == 1 && (part[0].Kind == sqllex.Word || part[0].Kind == sqllex.Quoted) {
						n, _ := name(part, 0)
						a.Columns = append(a.Columns, n)
					} else {
						a.Columns = append(a.Columns, text(part))
					}
				}
				break
			}
		}
	}
	return a
}
