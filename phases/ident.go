package phases

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shepherd-db/shepherd/internal/sqllex"
)

// MaxIdentLen is the longest identifier every supported dialect accepts
// (PostgreSQL truncates at 63 bytes, MySQL refuses past 64 characters).
const MaxIdentLen = 63

// FitIdent keeps a name shepherd makes up (a temporary check's, a suggested
// constraint's) within MaxIdentLen bytes. A longer one is cut and ends in
// 8 hex digits of a hash of the whole name, so that two long names that
// share their first 54 bytes do not become one.
func FitIdent(name string) string {
	if len(name) <= MaxIdentLen {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return fitIdent(name, "_"+hex.EncodeToString(sum[:4]))
}

// CutIdent keeps a name that a person reads (a migration guard's
// constraint, which its failure shows) within MaxIdentLen bytes: a longer
// one is cut, with no hash to make it unreadable.
func CutIdent(name string) string { return fitIdent(name, "") }

// fitIdent cuts name to MaxIdentLen bytes with suffix at its end. It cuts
// on a character boundary: cutting inside a UTF-8 character makes the
// database refuse the statement.
func fitIdent(name, suffix string) string {
	if len(name) <= MaxIdentLen {
		return name
	}
	cut := MaxIdentLen - len(suffix)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + suffix
}

// CheckIdent reports why s cannot be used as a table, column or constraint
// name. Identifiers are always quoted when they reach SQL, so the rule is not
// there to make quoting safe: it is there so that a plan that says
// `table: users; drop table users` is caught as a mistake, with a message,
// instead of being quoted into a table name that does not exist.
//
// Allowed: letters and digits of any script, '_', '$', '-' (an existing
// column "E-mail"; not two in a row, which reads as a comment), and single
// spaces inside the name (mixed case and reserved words are fine: they are
// quoted). '.' is refused: a name is one identifier, never split, and a
// table elsewhere is named with schema:.
func CheckIdent(s string) error {
	if s == "" {
		return fmt.Errorf("is empty")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	if len(s) > MaxIdentLen {
		return fmt.Errorf("is %d bytes long; the limit is %d", len(s), MaxIdentLen)
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("has leading or trailing spaces")
	}
	if strings.Contains(s, "  ") {
		return fmt.Errorf("has two spaces in a row")
	}
	if strings.Contains(s, "--") {
		return fmt.Errorf("contains '--', which starts an SQL comment; a name may have single '-'")
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r):
		case r == '_', r == '$', r == ' ', r == '-':
		case r == '.':
			return fmt.Errorf("contains '.': a name is one identifier, quoted whole, never split at '.'; for a table in another schema (PostgreSQL) or database (MySQL), give schema: in the plan")
		default:
			if strings.ContainsRune(exprRunes, r) {
				return fmt.Errorf("contains %q, so it looks like an SQL expression, not a name", r)
			}
			return fmt.Errorf("contains %q, which is not allowed in a name (letters, digits, _, $ and single spaces are)", r)
		}
	}
	return nil
}

// exprRunes are characters that make a "name" look like an expression.
const exprRunes = "()'\"`;|=<>+-*/,%!:.[]{}\\"

// looksLikeIdent reports whether an expression is nothing but a bare name,
// such as `amount` (as opposed to `amount > 0`).
func looksLikeIdent(expr string) bool {
	s := strings.TrimSpace(expr)
	if s == "" {
		return false
	}
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '`' && s[len(s)-1] == '`') {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$') {
			return false
		}
	}
	return !unicode.IsDigit([]rune(s)[0])
}

// CheckExpr reports why expr cannot be spliced into a statement as one SQL
// expression. Expressions come only from reviewed plan files, but a stray
// semicolon or comment would turn one statement into two, or swallow the rest
// of it, so both are refused outside string literals; quotes and brackets must
// balance.
func CheckExpr(expr string) error {
	_, err := scanExpr(expr)
	return err
}

// tokenKind is what a token of an expression is.
type tokenKind int

const (
	tokWord   tokenKind = iota // a bare word: a name, a keyword or a function's name
	tokQuoted                  // a quoted name, "x" or `x` (MySQL reads "x" as text)
	tokString                  // a quoted text, 'x'
	tokNumber                  // 1, 1.5, 1e3, 0x1f
	tokPunct                   // an operator or punctuation: ( ) [ ] , . * :: || …
)

// token is one lexical unit of an expression, as scanExpr reads it.
type token struct {
	kind tokenKind
	text string
	// depth counts the brackets, ( or [, open around the token: 0 is the
	// expression's top level. A bracket itself has the depth outside it.
	depth int
	// sub marks a token inside a parenthesised subquery, (SELECT …), where
	// clauses, lists and aggregates belong.
	sub bool
}

// scanExpr reads an expression into tokens, refusing what cannot be
// spliced into a statement as one expression (see CheckExpr). It is the
// one reader of plan expressions: CheckExpr, CheckScalar and HasOperator
// read its tokens, which sqllex splits as every supported database would.
func scanExpr(expr string) ([]token, error) {
	s := strings.TrimSpace(expr)
	if s == "" {
		return nil, fmt.Errorf("is empty")
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("is not valid UTF-8")
	}
	var toks []token
	parens, depth := 0, 0
	add := func(k tokenKind, text string) { toks = append(toks, token{kind: k, text: text, depth: depth}) }
	for _, t := range sqllex.Lex(s, sqllex.Expr) {
		switch t.Kind {
		case sqllex.Space:
		case sqllex.Comment:
			if strings.HasPrefix(t.Text, "--") {
				return nil, fmt.Errorf("contains a '--' comment")
			}
			return nil, fmt.Errorf("contains a '/*' comment")
		case sqllex.String, sqllex.Quoted:
			// MySQL reads a backslash in quoted text as an escape (\' is
			// a quote inside the text); PostgreSQL and SQLite read it as a
			// backslash. Where the two disagree on where the text ends,
			// one of them would read what follows as SQL: '\'' # ' is one
			// literal to PostgreSQL, a literal and a comment to MySQL.
			if t.Backslash {
				return nil, fmt.Errorf("has a backslash before a quote inside quoted text, which MySQL reads as an escaped quote and PostgreSQL and SQLite as a backslash that ends the text; write a quote inside text doubled ('') and keep backslashes away from quotes")
			}
			if t.Open {
				return nil, fmt.Errorf("has an unterminated %c quote", t.Text[0])
			}
			// A quoted text that spans lines could put a line of its
			// own into a rendered statement.
			if strings.ContainsAny(t.Text, "\r\n") {
				return nil, fmt.Errorf("has a quoted text that spans lines; keep each quoted text on one line")
			}
			kind := tokQuoted
			if t.Kind == sqllex.String {
				kind = tokString
			}
			add(kind, t.Text)
		case sqllex.Word:
			add(tokWord, t.Text)
		case sqllex.Number:
			add(tokNumber, t.Text)
		default:
			switch t.Text {
			case "(", "[":
				if t.Text == "(" {
					parens++
				}
				add(tokPunct, t.Text)
				depth++
			case ")", "]":
				if t.Text == ")" {
					parens--
					if parens < 0 {
						return nil, fmt.Errorf("has a ')' without a matching '('")
					}
				}
				depth = max(depth-1, 0) // an unbalanced ']' is the database's to refuse
				add(tokPunct, t.Text)
			case ";":
				return nil, fmt.Errorf("contains ';': an expression is one SQL expression, not a statement")
			case "#":
				return nil, fmt.Errorf("contains '#', which starts a comment on MySQL")
			case "\x00":
				return nil, fmt.Errorf("contains a NUL byte")
			default:
				add(tokPunct, t.Text)
			}
		}
	}
	if parens != 0 {
		return nil, fmt.Errorf("has a '(' without a matching ')'")
	}
	return toks, nil
}

// CheckType reports why t cannot be used as a column type. Types are spliced
// into DDL, so they are held to the shape of a type name: words, digits,
// spaces, and one parenthesised list of numbers or quoted values.
func CheckType(t string) error {
	s := strings.TrimSpace(t)
	if s == "" {
		return fmt.Errorf("is empty")
	}
	if err := CheckExpr(s); err != nil {
		return err
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r):
		case strings.ContainsRune(" _(),'[]", r):
		default:
			return fmt.Errorf("contains %q; a type looks like text, varchar(255) or numeric(10, 2)", r)
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return !unicode.IsLetter(r) && r != '_' }) {
		switch w {
		case "NOT", "NULL", "PRIMARY", "KEY", "UNIQUE", "REFERENCES", "DEFAULT", "CHECK", "CONSTRAINT",
			"GENERATED", "AS", "AUTO_INCREMENT", "AUTOINCREMENT", "IDENTITY":
			return fmt.Errorf("contains %s: give the type only; shepherd adds the column nullable and enforces NOT NULL in its own phase", w)
		}
	}
	return nil
}

// IsPlanName reports whether s is a valid plan name (as name: takes it), so
// that a command can take a plan by its name where it takes a plan file.
func IsPlanName(s string) bool { return planNameRE.MatchString(s) }
