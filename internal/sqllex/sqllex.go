// Package sqllex splits SQL text into tokens. It is the one lexer of
// shepherd's three readers of SQL: plan expressions (phases), SQLite's table
// and trigger definitions (engine's rebuild), and rendered statements
// (export's placeholders). Each reads with its Syntax.
//
// It refuses nothing: a quote or a comment left open runs to the end of the
// text and is marked Open, and what a reader refuses (a comment in an
// expression, a ';') is the reader's to say. The tokens' texts, joined,
// are the text.
package sqllex

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a token is.
type Kind uint8

const (
	Space   Kind = iota // whitespace
	Comment             // -- to the end of the line (not the newline), or /* … */
	Word                // a bare word: a name, a keyword, a function's name
	Number              // 1, 1.5, .5, 1e3, 0x1f: Expr only (elsewhere a number is a Word)
	Quoted              // a quoted name: "x", `x`, and [x] in SQLite
	String              // a quoted text: 'x'
	Punct               // an operator or punctuation
)

// Token is one lexical unit.
type Token struct {
	Kind Kind
	Text string
	// Open marks a quote or a /* comment that the text ends inside: Text
	// runs to the end.
	Open bool
	// Backslash marks a '…' or "…" that MySQL, which reads a backslash in
	// them as an escape (\' is a quote inside the text), ends somewhere
	// else, or not at all: PostgreSQL and SQLite read a backslash as a
	// backslash, so one of them would read what follows as SQL.
	Backslash bool
}

// Syntax is how a reader reads its text.
type Syntax int

const (
	// SQLite reads SQLite's own statements as sqlite_schema keeps them:
	// [x] is a quoted name; a word is any run of letters, digits, _ and $
	// (a number is a word); every other character, operators included, is
	// a Punct of its own, \f and \v too.
	SQLite Syntax = iota
	// Expr reads a plan's expression as PostgreSQL, MySQL and SQLite all
	// read it: [ is a bracket (PostgreSQL's a[1]); a word starts with a
	// letter or _ and goes on with letters, digits, marks, _ and $; a
	// number starts with a digit (or . and a digit) and is read loosely
	// (1.5, 1e3, 0x1f, 1_000): what matters is where it ends; a run of
	// operator characters (+-/<>=~!@%^&|?:$, never holding a comment's
	// start) is one Punct; \f and \v are space.
	Expr
	// Statement reads a statement shepherd rendered, for where its quoted
	// texts and comments are: as SQLite, but [ is a bracket (PostgreSQL's
	// ARRAY[…] holds placeholders).
	Statement
)

// operatorBytes are the characters Expr's operators are made of ('*' is a
// token of its own: t.* must be seen as such).
const operatorBytes = "+-/<>=~!@%^&|?:$"

// Lex splits s into tokens.
func Lex(s string, syn Syntax) []Token {
	var toks []Token
	for i := 0; i < len(s); {
		t := syn.next(s, i)
		toks = append(toks, t)
		i += len(t.Text)
	}
	return toks
}

// next is the token that starts at s[i].
func (syn Syntax) next(s string, i int) Token {
	c := s[i]
	switch {
	case c == '\'' || c == '"' || c == '`' || c == '[' && syn == SQLite:
		return quoted(s, i)
	case strings.HasPrefix(s[i:], "--"):
		end := strings.IndexByte(s[i:], '\n')
		if end < 0 {
			end = len(s) - i
		}
		return Token{Kind: Comment, Text: s[i : i+end]}
	case strings.HasPrefix(s[i:], "/*"):
		end := strings.Index(s[i+2:], "*/")
		if end < 0 {
			return Token{Kind: Comment, Text: s[i:], Open: true}
		}
		return Token{Kind: Comment, Text: s[i : i+2+end+2]}
	case syn.isSpace(c):
		j := i
		for j < len(s) && syn.isSpace(s[j]) {
			j++
		}
		return Token{Kind: Space, Text: s[i:j]}
	}
	if syn == Expr {
		return exprToken(s, i)
	}
	if isWordRune(s, i) {
		j := i
		for j < len(s) && isWordRune(s, j) {
			_, n := utf8.DecodeRuneInString(s[j:])
			j += n
		}
		return Token{Kind: Word, Text: s[i:j]}
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return Token{Kind: Punct, Text: s[i : i+n]}
}

func (syn Syntax) isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r':
		return true
	case '\f', '\v':
		return syn == Expr
	}
	return false
}

// isWordRune: SQLite's and Statement's words are runs of these.
func isWordRune(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// exprToken is Expr's token at s[i], which is no quote, comment or space.
func exprToken(s string, i int) Token {
	c := s[i]
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
		j := i
		for j < len(s) && isNumberByte(s[j]) {
			j++
		}
		return Token{Kind: Number, Text: s[i:j]}
	case c == '_' || unicode.IsLetter(r):
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !(r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
				break
			}
			j += n
		}
		return Token{Kind: Word, Text: s[i:j]}
	case strings.IndexByte(operatorBytes, c) >= 0:
		j := i + 1
		for j < len(s) && strings.IndexByte(operatorBytes, s[j]) >= 0 && !strings.HasPrefix(s[j:], "--") && !strings.HasPrefix(s[j:], "/*") {
			j++
		}
		return Token{Kind: Punct, Text: s[i:j]}
	}
	return Token{Kind: Punct, Text: s[i : i+n]}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNumberByte(c byte) bool {
	return isDigit(c) || c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// quoted is the quoted name or text that opens at s[i]. A quote doubled
// inside is one quote of the text or name, as in SQL; a [name] has no
// escape.
func quoted(s string, i int) Token {
	q := s[i]
	kind := Quoted
	if q == '\'' {
		kind = String
	}
	end := closing(s, i, false)
	t := Token{Kind: kind, Text: s[i:], Open: end < 0}
	if end >= 0 {
		t.Text = s[i : end+1]
	}
	if q == '\'' || q == '"' {
		t.Backslash = closing(s, i, true) != end
	}
	return t
}

// closing is the index of the quote that closes the one at s[i], or -1;
// with backslash, as MySQL reads '…' and "…", where a backslash escapes the
// character after it.
func closing(s string, i int, backslash bool) int {
	q := s[i]
	if q == '[' {
		if j := strings.IndexByte(s[i+1:], ']'); j >= 0 {
			return i + 1 + j
		}
		return -1
	}
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\':
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
