package engine

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/internal/sqllex"
)

// SQLite cannot add NOT NULL or CHECK to an existing table with ALTER TABLE,
// so shepherd rebuilds the table: it edits the table's own CREATE TABLE text
// (as sqlite_schema keeps it, so collations, defaults, foreign keys and every
// other constraint survive), creates the new table, copies every row, swaps
// the tables and recreates the indexes and triggers, all in one transaction.
//
// The edits work on tokens, never on raw text, so a "NOT NULL" inside a
// string, a comment or a CHECK expression is never touched.

// sqlToken is one lexical token of an SQLite statement, as sqllex reads
// it, under the kinds the rebuild's readers match on.
type sqlToken struct {
	text string
	kind byte // 'w' word, 'q' quoted identifier, 's' string, 'p' punctuation, ' ' space or comment
}

func lexSQL(s string) []sqlToken {
	var toks []sqlToken
	for _, t := range sqllex.Lex(s, sqllex.SQLite) {
		kind := byte('p')
		switch t.Kind {
		case sqllex.Space, sqllex.Comment:
			kind = ' '
		case sqllex.Word, sqllex.Number: // SQLite's syntax reads a number as a word
			kind = 'w'
		case sqllex.Quoted:
			kind = 'q'
		case sqllex.String:
			kind = 's'
		}
		toks = append(toks, sqlToken{t.Text, kind})
	}
	return toks
}

// name returns a word or quoted identifier's name, unquoted.
func (t sqlToken) name() string {
	if t.kind == 'q' {
		inner := t.text[1 : len(t.text)-1]
		switch t.text[0] {
		case '"':
			return strings.ReplaceAll(inner, `""`, `"`)
		case '`':
			return strings.ReplaceAll(inner, "``", "`")
		}
		return inner
	}
	return t.text
}

func (t sqlToken) is(word string) bool { return t.kind == 'w' && strings.EqualFold(t.text, word) }

// createTable is a CREATE TABLE statement split into its definition items
// (column definitions and table constraints) and what follows the list
// (WITHOUT ROWID, STRICT).
type createTable struct {
	items [][]sqlToken
	tail  string
}

func parseCreateTable(sql string) (*createTable, error) {
	toks := lexSQL(sql)
	open := -1
	for i, t := range toks {
		if t.kind == 'p' && t.text == "(" {
			open = i
			break
		}
	}
	if open < 0 {
		return nil, fmt.Errorf("no column list in %q", sql)
	}
	ct := &createTable{}
	depth := 0
	var cur []sqlToken
	for i := open + 1; i < len(toks); i++ {
		t := toks[i]
		if t.kind == 'p' {
			switch t.text {
			case "(":
				depth++
			case ")":
				if depth == 0 {
					ct.items = append(ct.items, trimSpace(cur))
					var tail strings.Builder
					for _, t := range toks[i+1:] {
						tail.WriteString(t.text)
					}
					ct.tail = tail.String()
					return ct, nil
				}
				depth--
			case ",":
				if depth == 0 {
					ct.items = append(ct.items, trimSpace(cur))
					cur = nil
					continue
				}
			}
		}
		cur = append(cur, t)
	}
	return nil, fmt.Errorf("unbalanced parentheses in %q", sql)
}

func trimSpace(ts []sqlToken) []sqlToken {
	for len(ts) > 0 && ts[0].kind == ' ' {
		ts = ts[1:]
	}
	for len(ts) > 0 && ts[len(ts)-1].kind == ' ' {
		ts = ts[:len(ts)-1]
	}
	return ts
}

func words(ts []sqlToken) []sqlToken {
	var out []sqlToken
	for _, t := range ts {
		if t.kind != ' ' {
			out = append(out, t)
		}
	}
	return out
}

func render(ts []sqlToken) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.text)
	}
	return b.String()
}

// isConstraint reports whether an item is a table constraint rather than a
// column definition.
func isConstraint(item []sqlToken) bool {
	w := words(item)
	if len(w) == 0 {
		return false
	}
	for _, kw := range []string{"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"} {
		if w[0].is(kw) {
			return true
		}
	}
	return false
}

func (ct *createTable) column(name string) int {
	for i, item := range ct.items {
		if isConstraint(item) {
			continue
		}
		if w := words(item); len(w) > 0 && strings.EqualFold(w[0].name(), name) {
			return i
		}
	}
	return -1
}

// definition renders the column list and tail: what follows the table name
// in CREATE TABLE.
func (ct *createTable) definition() string {
	parts := make([]string, len(ct.items))
	for i, item := range ct.items {
		parts[i] = render(item)
	}
	return "(\n  " + strings.Join(parts, ",\n  ") + "\n)" + ct.tail
}

func (ct *createTable) setNotNull(col string) error {
	i := ct.column(col)
	if i < 0 {
		return fmt.Errorf("column %q not found in the table definition", col)
	}
	ct.items[i] = append(ct.items[i], sqlToken{" NOT NULL", 'w'})
	return nil
}

// dropNotNull removes `[CONSTRAINT name] NOT NULL [ON CONFLICT x]` from a
// column definition, outside parentheses.
func (ct *createTable) dropNotNull(col string) error {
	i := ct.column(col)
	if i < 0 {
		return fmt.Errorf("column %q not found in the table definition", col)
	}
	item := ct.items[i]
	idx := wordIndexes(item)
	depth := 0
	for k := 0; k < len(idx); k++ {
		t := item[idx[k]]
		if t.kind == 'p' && t.text == "(" {
			depth++
		}
		if t.kind == 'p' && t.text == ")" {
			depth--
		}
		if depth != 0 || !t.is("NOT") || k+1 >= len(idx) || !item[idx[k+1]].is("NULL") {
			continue
		}
		from, to := idx[k], idx[k+1]+1
		if k >= 2 && item[idx[k-2]].is("CONSTRAINT") {
			from = idx[k-2]
		}
		if k+3 < len(idx) && item[idx[k+2]].is("ON") && item[idx[k+3]].is("CONFLICT") && k+4 < len(idx) {
			to = idx[k+4] + 1
		}
		ct.items[i] = splice(item, from, to)
		return nil
	}
	return nil // not NOT NULL: nothing to drop
}

// splice removes item[from:to] and the space before it, so that no double
// space is left where a clause was.
func splice(item []sqlToken, from, to int) []sqlToken {
	if from > 0 && item[from-1].kind == ' ' && (to >= len(item) || item[to].kind == ' ') {
		from--
	}
	return trimSpace(append(append([]sqlToken{}, item[:from]...), item[to:]...))
}

func wordIndexes(item []sqlToken) []int {
	var idx []int
	for i, t := range item {
		if t.kind != ' ' {
			idx = append(idx, i)
		}
	}
	return idx
}

func (ct *createTable) addCheck(name, expr, quotedName string) {
	ct.items = append(ct.items, lexSQL("CONSTRAINT "+quotedName+" CHECK ("+expr+")"))
}

// dropConstraint removes a named constraint: a table constraint item, or a
// `CONSTRAINT name CHECK (…)` inside a column definition.
func (ct *createTable) dropConstraint(name string) bool {
	for i, item := range ct.items {
		w := words(item)
		if len(w) >= 2 && w[0].is("CONSTRAINT") && strings.EqualFold(w[1].name(), name) {
			ct.items = append(ct.items[:i], ct.items[i+1:]...)
			return true
		}
	}
	for i, item := range ct.items {
		if isConstraint(item) {
			continue
		}
		idx := wordIndexes(item)
		for k := 0; k+2 < len(idx); k++ {
			if !item[idx[k]].is("CONSTRAINT") || !strings.EqualFold(item[idx[k+1]].name(), name) || !item[idx[k+2]].is("CHECK") {
				continue
			}
			// CONSTRAINT name CHECK ( … ): find the closing parenthesis.
			end, depth := -1, 0
			for j := idx[k+2] + 1; j < len(item); j++ {
				if item[j].kind == 'p' && item[j].text == "(" {
					depth++
				}
				if item[j].kind == 'p' && item[j].text == ")" {
					depth--
					if depth == 0 {
						end = j
						break
					}
				}
			}
			if end < 0 {
				return false
			}
			ct.items[i] = splice(item, idx[k], end+1)
			return true
		}
	}
	return false
}

// constraints lists the named constraints of a CREATE TABLE.
func (ct *createTable) constraints() []Constraint {
	var out []Constraint
	for _, item := range ct.items {
		w := words(item)
		for k := 0; k+2 < len(w); k++ {
			if !w[k].is("CONSTRAINT") {
				continue
			}
			c := Constraint{Name: w[k+1].name(), Validated: true}
			switch {
			case w[k+2].is("CHECK"):
				c.Kind = CatalogCheck
			case w[k+2].is("UNIQUE"):
				c.Kind = CatalogUnique
			case w[k+2].is("FOREIGN"), w[k+2].is("REFERENCES"):
				c.Kind = CatalogForeignKey
			case w[k+2].is("PRIMARY"):
				c.Kind = CatalogPrimaryKey
			case w[k+2].is("NOT"):
				c.Kind = CatalogNotNull
			default:
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// notNullDDLChecksRows: the rebuild copies every row into a table with the
// NOT NULL, in one transaction that a NULL row fails and rolls back.
func (sqliteDialect) notNullDDLChecksRows() bool { return true }
