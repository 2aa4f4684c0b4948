package phases

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input panics the parser, and whatever it accepts holds up:
// every name is a valid identifier, every expression one value of one row,
// and the hash is stable.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, path := range examples {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("name: x\nplaybook: add-column\ntable: \"users; drop table users\"\ncolumn: c\ntype: text\nbackfill: \"1\"\n"))
	f.Add([]byte("name: x\nplaybook: tighten-constraint\ntable: t\nconstraint: {name: n, unique: [a, a]}\n"))
	f.Add([]byte("name: x\nplaybook: add-column\ntable: t\ncolumn: c\ntype: text\nbackfill: \"a, (SELECT b FROM t) e\"\n"))
	f.Add([]byte("name: x\nplaybook: rename-column\ntable: t\ncolumn: a\nto: b\n---\nname: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		f := p.fields()
		names := []string{p.Table, f.Column, f.To, p.Key, p.Schema}
		if c := f.Constraint; c != nil {
			names = append(names, c.Name, c.NotNull)
			names = append(names, c.Unique...)
		}
		var exprs []string
		exprs = append(exprs, f.Backfill.Values()...)
		for _, a := range f.Clean {
			names = append(names, a.Column)
			exprs = append(exprs, a.Expr.Values()...)
		}
		if c := f.Constraint; c != nil {
			exprs = append(exprs, c.Check.Values()...)
			for _, a := range c.Violating {
				names = append(names, a.Column)
				exprs = append(exprs, a.Expr.Values()...)
			}
		}
		for _, n := range names {
			if n == "" {
				continue
			}
			if err := CheckIdent(n); err != nil {
				t.Fatalf("accepted the name %q: %v", n, err)
			}
		}
		for _, e := range exprs {
			if err := CheckScalar(e); err != nil {
				t.Fatalf("accepted the expression %q: %v", e, err)
			}
		}
		for _, ty := range f.Type.Values() {
			if err := CheckType(ty); err != nil {
				t.Fatalf("accepted the type %q: %v", ty, err)
			}
		}
		again, err := Parse("fuzz.yaml", data)
		if err != nil || again.Hash() != p.Hash() {
			t.Fatalf("parsing the same input twice gave another result: %v", err)
		}
	})
}

// FuzzCheckExpr: an accepted expression has no statement separator or
// comment outside string literals and balanced parentheses.
func FuzzCheckExpr(f *testing.F) {
	for _, s := range []string{"lower(username) || '@x'", "a; b", "'a;' || b", "x -- y", "'--'", "(a", `"a""b"`, "abs(amount)", "#", "'#'",
		`'\'' # '`, `'\'' ; drop table t; -- '`, `"\"" # "`, `'a\\' # '`, `'\\'' # '`, "`\\` # `"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckExpr(s) != nil {
			return
		}
		// Read as PostgreSQL and SQLite read quoted text, and as MySQL
		// does (a backslash escapes): neither sees a statement separator,
		// a comment or unbalanced parentheses outside quotes.
		for _, quoteEnd := range []func(string, int) int{closingQuote, closingQuoteBackslash} {
			checkOutsideQuotes(t, s, quoteEnd)
		}
	})
}

func checkOutsideQuotes(t *testing.T, s string, quoteEnd func(string, int) int) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"', '`':
			j := quoteEnd(s, i)
			if j < 0 {
				t.Fatalf("accepted an unterminated quote: %q", s)
			}
			i = j
		case ';', '#':
			t.Fatalf("accepted %q outside quotes: %q", c, s)
		case '-', '/':
			if i+1 < len(s) && (c == '-' && s[i+1] == '-' || c == '/' && s[i+1] == '*') {
				t.Fatalf("accepted a comment: %q", s)
			}
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth < 0 {
			t.Fatalf("accepted unbalanced parentheses: %q", s)
		}
	}
	if depth != 0 {
		t.Fatalf("accepted unbalanced parentheses: %q", s)
	}
}

// The quote readers of checkOutsideQuotes: independent of the lexer they
// check (sqllex), as PostgreSQL and SQLite, and MySQL, read quoted text.

// closingQuote returns the index of the quote that closes the one at s[i], or
// -1. A doubled quote inside is an escaped quote, as in SQL.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j
		}
	}
	return -1
}

// closingQuoteBackslash is closingQuote as MySQL reads quoted text: a
// backslash inside '…' or "…" escapes the character after it (not inside
// `…`, an identifier).
func closingQuoteBackslash(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j
		}
	}
	return -1
}
