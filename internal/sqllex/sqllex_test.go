package sqllex

import (
	"fmt"
	"strings"
	"testing"
)

func (t Token) String() string {
	s := fmt.Sprintf("%s %q", [...]string{"Space", "Comment", "Word", "Number", "Quoted", "String", "Punct"}[t.Kind], t.Text)
	if t.Open {
		s += " open"
	}
	if t.Backslash {
		s += " backslash"
	}
	return s
}

func TestLex(t *testing.T) {
	sp := func(s string) Token { return Token{Kind: Space, Text: s} }
	w := func(s string) Token { return Token{Kind: Word, Text: s} }
	num := func(s string) Token { return Token{Kind: Number, Text: s} }
	p := func(s string) Token { return Token{Kind: Punct, Text: s} }
	q := func(s string) Token { return Token{Kind: Quoted, Text: s} }
	str := func(s string) Token { return Token{Kind: String, Text: s} }
	com := func(s string) Token { return Token{Kind: Comment, Text: s} }
	open := func(t Token) Token { t.Open = true; return t }
	bs := func(t Token) Token { t.Backslash = true; return t }
	all := []Syntax{SQLite, Expr, Statement}
	for _, tc := range []struct {
		name string
		in   string
		syn  []Syntax
		want []Token
	}{
		// quotes, alike in every syntax
		{"string", "'a b'", all, []Token{str("'a b'")}},
		{"doubled quote in a string", "'it''s'", all, []Token{str("'it''s'")}},
		{"double-quoted name", `"a""b" x`, all, []Token{q(`"a""b"`), sp(" "), w("x")}},
		{"backticks", "`a``b`", all, []Token{q("`a``b`")}},
		{"no escape in backticks", "`a\\`", all, []Token{q("`a\\`")}},
		{"semicolon and comment markers in quotes", "'a;b -- c /* d'", all, []Token{str("'a;b -- c /* d'")}},
		{"other quotes inside quotes", `'"' "'"`, all, []Token{str(`'"'`), sp(" "), q(`"'"`)}},
		{"unterminated string", "'abc", all, []Token{open(str("'abc"))}},
		{"unterminated after a doubled quote", "'it''s", all, []Token{open(str("'it''s"))}},
		{"unterminated name", "`abc", all, []Token{open(q("`abc"))}},
		{"lone quote", "x'", all, []Token{w("x"), open(str("'"))}},
		{"quoted text over lines", "'a\nb'", all, []Token{str("'a\nb'")}},
		// where MySQL, reading a backslash as an escape, ends a quote elsewhere
		{"backslash before a quote", `'\'' # '`, all, []Token{bs(str(`'\'' # '`))}}, // one text to PostgreSQL; to MySQL a text, a comment and an open quote
		{"backslash before the closing quote", `'\'`, all, []Token{bs(str(`'\'`))}},
		{"backslash in a double-quoted name", `"\"" # "`, all, []Token{bs(q(`"\"" # "`))}},
		{"backslash away from quotes", `'a\b' '\\'`, all, []Token{str(`'a\b'`), sp(" "), str(`'\\'`)}},
		{"escaped backslash before a doubled quote", `'\\'' # '`, all, []Token{str(`'\\'' # '`)}}, // both end it at the last quote

		// brackets: a quoted name to SQLite only
		{"bracketed name", "[a b] x", []Syntax{SQLite}, []Token{q("[a b]"), sp(" "), w("x")}},
		{"no escape in brackets", "[a]]", []Syntax{SQLite}, []Token{q("[a]"), p("]")}},
		{"quotes in brackets", "[it's]", []Syntax{SQLite}, []Token{q("[it's]")}},
		{"unterminated bracket", "[abc", []Syntax{SQLite}, []Token{open(q("[abc"))}},
		{"array subscript", "a[1]", []Syntax{Expr}, []Token{w("a"), p("["), num("1"), p("]")}},
		{"array of placeholders", "ARRAY[$1, ?]", []Syntax{Statement}, []Token{w("ARRAY"), p("["), w("$1"), p(","), sp(" "), p("?"), p("]")}},
		{"quote in a subscript", "a['x']", []Syntax{Statement, Expr}, []Token{w("a"), p("["), str("'x'"), p("]")}},

		// comments
		{"line comment", "a -- b 'c\nd", all, []Token{w("a"), sp(" "), com("-- b 'c"), sp("\n"), w("d")}},
		{"line comment at the end", "a--", all, []Token{w("a"), com("--")}},
		{"block comment", "a/* b\n'c */d", all, []Token{w("a"), com("/* b\n'c */"), w("d")}},
		{"unterminated block comment", "a /* b", all, []Token{w("a"), sp(" "), open(com("/* b"))}},
		{"no comment in a lone slash or dash", "a/b-c", []Syntax{SQLite, Statement}, []Token{w("a"), p("/"), w("b"), p("-"), w("c")}},
		{"no comment ends with */ alone", "*/", []Syntax{SQLite, Statement}, []Token{p("*"), p("/")}},
		{"hash is not a comment", "# x", all, []Token{p("#"), sp(" "), w("x")}},

		// semicolons and other punctuation
		{"semicolon", "a;b", all, []Token{w("a"), p(";"), w("b")}},
		{"NUL", "a\x00", all, []Token{w("a"), p("\x00")}},
		{"invalid UTF-8", "\xff", []Syntax{SQLite, Statement}, []Token{p("\xff")}},

		// words, numbers and operators: SQLite and Statement
		{"words of letters, digits, _ and $", "a_1$ 1x $1 naïve", []Syntax{SQLite, Statement}, []Token{w("a_1$"), sp(" "), w("1x"), sp(" "), w("$1"), sp(" "), w("naïve")}},
		{"a number is a word", "1.5", []Syntax{SQLite, Statement}, []Token{w("1"), p("."), w("5")}},
		{"a mark is punctuation", "e\u0301", []Syntax{SQLite, Statement}, []Token{w("e"), p("\u0301")}},
		{"operators one by one", "a->>b||c", []Syntax{SQLite, Statement}, []Token{w("a"), p("-"), p(">"), p(">"), w("b"), p("|"), p("|"), w("c")}},
		{"space", " \t\r\n", []Syntax{SQLite, Statement}, []Token{sp(" \t\r\n")}},
		{"form feed and vertical tab", "a\f\vb", []Syntax{SQLite, Statement}, []Token{w("a"), p("\f"), p("\v"), w("b")}},
		{"dollar quotes are not read", "$$a;b$$", []Syntax{SQLite, Statement}, []Token{w("$$a"), p(";"), w("b$$")}},

		// words, numbers and operators: Expr
		{"numbers", "1 1.5 .5 1e3 0x1f 1_000", []Syntax{Expr}, []Token{num("1"), sp(" "), num("1.5"), sp(" "), num(".5"), sp(" "), num("1e3"), sp(" "), num("0x1f"), sp(" "), num("1_000")}},
		{"a number ends at an operator", "1e-5", []Syntax{Expr}, []Token{num("1e"), p("-"), num("5")}},
		{"a dot alone", "t.*", []Syntax{Expr}, []Token{w("t"), p("."), p("*")}},
		{"words", "a_1$ _x naïve e\u0301 имя", []Syntax{Expr}, []Token{w("a_1$"), sp(" "), w("_x"), sp(" "), w("naïve"), sp(" "), w("e\u0301"), sp(" "), w("имя")}},
		{"a word starts with a letter or _", "$x ١٢", []Syntax{Expr}, []Token{p("$"), w("x"), sp(" "), p("١"), p("٢")}},
		{"operator runs", "a->>'k' || b::int <> c", []Syntax{Expr}, []Token{w("a"), p("->>"), str("'k'"), sp(" "), p("||"), sp(" "), w("b"), p("::"), w("int"), sp(" "), p("<>"), sp(" "), w("c")}},
		{"an operator run stops at a comment", "a+--b", []Syntax{Expr}, []Token{w("a"), p("+"), com("--b")}},
		{"an operator run stops at a block comment", "a-/*b*/", []Syntax{Expr}, []Token{w("a"), p("-"), com("/*b*/")}},
		{"a slash before dashes", "a/--b", []Syntax{Expr}, []Token{w("a"), p("/"), com("--b")}},
		{"brackets and lists", "f(a, [b]){c}", []Syntax{Expr}, []Token{w("f"), p("("), w("a"), p(","), sp(" "), p("["), w("b"), p("]"), p(")"), p("{"), w("c"), p("}")}},
		{"space in Expr", " \t\r\n\f\v", []Syntax{Expr}, []Token{sp(" \t\r\n\f\v")}},
		{"dollar quotes are not read in Expr", "$$a;b$$", []Syntax{Expr}, []Token{p("$$"), w("a"), p(";"), w("b$$")}},
		{"other characters", `a\b`, []Syntax{Expr}, []Token{w("a"), p(`\`), w("b")}},
	} {
		for _, syn := range tc.syn {
			t.Run(fmt.Sprintf("%s/%d", tc.name, syn), func(t *testing.T) {
				got := Lex(tc.in, syn)
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("Lex(%q, %d)\n got %v\nwant %v", tc.in, syn, got, tc.want)
				}
			})
		}
	}
}

// TestQuotedNames: a name quoted as the dialects quote it (doubling the
// quote inside) is one Quoted token, whatever it holds.
func TestQuotedNames(t *testing.T) {
	for _, name := range []string{"users", `users"; drop table users; --`, "a`b", "naïve name", `""`, "x]y", "select", "'", "\\", "a\nb"} {
		for _, quote := range []string{`"`, "`"} {
			quoted := quote + strings.ReplaceAll(name, quote, quote+quote) + quote
			for _, syn := range []Syntax{SQLite, Expr, Statement} {
				toks := Lex(quoted, syn)
				if len(toks) != 1 || toks[0].Kind != Quoted || toks[0].Text != quoted || toks[0].Open {
					t.Errorf("%s lexes as %v", quoted, toks)
				}
			}
		}
	}
}

// FuzzLex: whatever the text, the tokens are not empty and, joined, are the
// text.
func FuzzLex(f *testing.F) {
	for _, s := range []string{"CREATE TABLE t (a int -- x\n, [b] text CHECK (a > 0) /* c */)", "'it''s'", `'\'' # '`, "a->>'k'", "1.5e3", "[x", "/* x", "e\u0301", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, syn := range []Syntax{SQLite, Expr, Statement} {
			var b strings.Builder
			for _, tk := range Lex(s, syn) {
				if tk.Text == "" {
					t.Fatalf("%d: an empty token in %q", syn, s)
				}
				b.WriteString(tk.Text)
			}
			if b.String() != s {
				t.Fatalf("%d: %q lexes as %q", syn, s, b.String())
			}
		}
	})
}
