package phases

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkReason asserts that err is nil when reason is "", and otherwise an
// error whose text contains reason.
func checkReason(t *testing.T, fn string, in string, err error, reason string) {
	t.Helper()
	switch {
	case reason == "" && err != nil:
		t.Errorf("%s(%q) = %q, want accepted", fn, in, err)
	case reason != "" && err == nil:
		t.Errorf("%s(%q) accepted, want refused with %q", fn, in, reason)
	case reason != "" && !strings.Contains(err.Error(), reason):
		t.Errorf("%s(%q) = %q, want it to contain %q", fn, in, err, reason)
	}
}

const exprLike = "so it looks like an SQL expression, not a name"
const notInName = "which is not allowed in a name (letters, digits, _, $ and single spaces are)"

func TestCheckIdent(t *testing.T) {
	a63 := strings.Repeat("a", 63)
	for _, tc := range []struct {
		in     string
		reason string // "" = accepted
	}{
		// accepted
		{"users", ""},
		{"email", ""},
		{"Users", ""},
		{"USERS", ""},
		{"userId", ""},
		{"user_id", ""},
		{"_private", ""},
		{"x1", ""},
		{"1x", ""},
		{"123", ""},
		{"order", ""}, // reserved words are fine: names are quoted
		{"select", ""},
		{"user", ""},
		{"$price", ""},
		{"price$", ""},
		{"user table", ""}, // a single space inside
		{"a b c", ""},
		{"E-mail", ""}, // '-' is fine alone: names are quoted
		{"first-name", ""},
		{"x-1-y", ""},
		{"naïve", ""},
		{"Straße", ""},
		{"Ünïcödé", ""},
		{"имя", ""},
		{"用户", ""},
		{"α_β", ""},
		{"e\u0301", ""},                     // a combining mark
		{"١٢٣", ""},                         // Arabic-Indic digits
		{a63, ""},                           // exactly the limit
		{strings.Repeat("é", 31) + "a", ""}, // 63 bytes, 32 characters

		// refused
		{"", "is empty"},
		{a63 + "a", "is 64 bytes long; the limit is 63"},
		{strings.Repeat("é", 32), "is 64 bytes long; the limit is 63"}, // 32 characters, 64 bytes
		{strings.Repeat("x", 200), "is 200 bytes long"},
		{"\xff", "is not valid UTF-8"},
		{"us\xc3ers", "is not valid UTF-8"},
		{" users", "has leading or trailing spaces"},
		{"users ", "has leading or trailing spaces"},
		{"\tusers", "has leading or trailing spaces"},
		{"users\n", "has leading or trailing spaces"},
		{"\u00a0users", "has leading or trailing spaces"}, // no-break space
		{"user  name", "has two spaces in a row"},
		{`"users"`, `contains '"', ` + exprLike},
		{"o'brien", `contains '\'', ` + exprLike},
		{"`users`", "contains '`', " + exprLike},
		{"users; drop table users", "contains ';', " + exprLike},
		{"users;", "contains ';', " + exprLike},
		{`a\b`, `contains '\\', ` + exprLike},
		{"lower(email)", "contains '(', " + exprLike},
		{"public.users", "contains '.': a name is one identifier, quoted whole, never split at '.'; for a table in another schema (PostgreSQL) or database (MySQL), give schema: in the plan"},
		{"a.b.c", "contains '.'"},
		{"a--b", "contains '--', which starts an SQL comment"},
		{"-- x", "contains '--'"},
		{"a=b", "contains '=', " + exprLike},
		{"a,b", "contains ',', " + exprLike},
		{"a|b", "contains '|', " + exprLike},
		{"a:b", "contains ':', " + exprLike},
		{"a[0]", "contains '[', " + exprLike},
		{"a\x00b", `contains '\x00', ` + notInName},
		{"a\tb", `contains '\t', ` + notInName},
		{"a\nb", `contains '\n', ` + notInName},
		{"a\rb", `contains '\r', ` + notInName},
		{"a\x1bb", `contains '\x1b', ` + notInName},
		{"a\x7fb", `contains '\x7f', ` + notInName},
		{"a\u00a0b", `contains '\u00a0', ` + notInName},
		{"a\u200bb", `contains '\u200b', ` + notInName}, // zero-width space
		{"a@b", `contains '@', ` + notInName},
		{"#tmp", `contains '#', ` + notInName},
		{"a&b", `contains '&', ` + notInName},
		{"a?b", `contains '?', ` + notInName},
		{"😀", `contains '😀', ` + notInName},
		{"a；b", `contains '；', ` + notInName}, // fullwidth semicolon
	} {
		t.Run(fmt.Sprintf("%q", in(tc.in)), func(t *testing.T) {
			checkReason(t, "CheckIdent", tc.in, CheckIdent(tc.in), tc.reason)
		})
	}
}

// in shortens long inputs for subtest names.
func in(s string) string {
	if len(s) > 24 {
		return fmt.Sprintf("%s…(%d bytes)", s[:12], len(s))
	}
	return s
}

func TestCheckExpr(t *testing.T) {
	for _, tc := range []struct {
		in     string
		reason string
	}{
		// accepted
		{"amount > 0", ""},
		{"  amount > 0  ", ""},
		{"lower(username) || '@example.com'", ""},
		{"concat(lower(username), '@example.com')", ""},
		{"coalesce(nickname, username)", ""},
		{"abs(amount)", ""},
		{"((a + b) * c) / d", ""},
		{"-1", ""},
		{"0", ""},
		{"a - -1", ""},
		{"a-1", ""},
		{"a / b", ""},
		{"a * b", ""},
		{"data->>'key'", ""},
		{"'it''s'", ""},            // a doubled quote inside a literal
		{"'a;b'", ""},              // semicolon inside a literal
		{"'-- not a comment'", ""}, // comment markers inside literals
		{"'/* nor this */'", ""},
		{"'('", ""}, // brackets inside literals do not count
		{"')'", ""},
		{`"weird;name" + 1`, ""}, // quoted identifiers
		{`"a""b"`, ""},
		{"`col;x` + 1", ""},
		{"CASE WHEN a > 0 THEN 'x' ELSE 'y' END", ""},
		{"'naïve' || 'é'", ""},
		{`replace(path, '\\', '/')`, ""}, // backslashes away from quotes read alike everywhere
		{`'a\b'`, ""},
		{"`a\\`", ""}, // no escapes in MySQL's quoted identifiers

		// refused
		{"", "is empty"},
		{"   ", "is empty"},
		{"\xff", "is not valid UTF-8"},
		{"a; drop table users", "contains ';': an expression is one SQL expression, not a statement"},
		{"a;", "contains ';'"},
		{"'x'; 'y'", "contains ';'"},
		{"a -- comment", "contains a '--' comment"},
		{"x--1", "contains a '--' comment"},
		{"a --", "contains a '--' comment"},
		{"'a' -- b", "contains a '--' comment"},
		{"a /* c */", "contains a '/*' comment"},
		{"a/*", "contains a '/*' comment"},
		{"'abc", "has an unterminated ' quote"},
		{"'it''s", "has an unterminated ' quote"},
		{"abc'", "has an unterminated ' quote"},
		{`"abc`, `has an unterminated " quote`},
		{"`abc", "has an unterminated ` quote"},
		{"lower(a", "has a '(' without a matching ')'"},
		{"((a)", "has a '(' without a matching ')'"},
		{"a)", "has a ')' without a matching '('"},
		{")(", "has a ')' without a matching '('"},
		{"(a))(", "has a ')' without a matching '('"},
		{"a\x00b", "contains a NUL byte"},
		// A backslash before a quote: MySQL and PostgreSQL would end the
		// text in different places, and one of them reads the rest as SQL.
		{`'\'' # '`, "has a backslash before a quote inside quoted text, which MySQL reads as an escaped quote"},
		{`'\'' ; drop table users; -- '`, "has a backslash before a quote inside quoted text"},
		{`'a\' || b || '; drop table users'`, "has a backslash before a quote inside quoted text"},
		{`"\"" # "`, "has a backslash before a quote inside quoted text"},
		{`'\'`, "has a backslash before a quote inside quoted text"},
		{`'it\'s'`, "has a backslash before a quote inside quoted text"},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			checkReason(t, "CheckExpr", tc.in, CheckExpr(tc.in), tc.reason)
		})
	}
}

const typeShape = "a type looks like text, varchar(255) or numeric(10, 2)"

func TestCheckType(t *testing.T) {
	for _, tc := range []struct {
		in     string
		reason string
	}{
		// accepted
		{in: "text"},
		{in: "TEXT"},
		{in: " text "},
		{in: "integer"},
		{in: "bigint"},
		{in: "int unsigned"},
		{in: "varchar(255)"},
		{in: "varchar(320)"},
		{in: "character varying(255)"},
		{in: "numeric(10, 2)"},
		{in: "numeric(10,2)"},
		{in: "double precision"},
		{in: "timestamp with time zone"},
		{in: "timestamp(3)"},
		{in: "mediumtext"},
		{in: "text[]"},
		{in: "int[][]"},
		{in: "enum('a', 'b')"},
		{in: "varchar(255) character set utf8mb4"},
		{in: "bit varying(8)"},

		// refused
		{in: "", reason: "is empty"},
		{in: "   ", reason: "is empty"},
		{in: "text;", reason: "contains ';': an expression is one SQL expression, not a statement"},
		{in: "text; drop table users", reason: "contains ';'"},
		{in: "text -- x", reason: "contains a '--' comment"},
		{in: "text /* x */", reason: "contains a '/*' comment"},
		{in: "varchar(255", reason: "has a '(' without a matching ')'"},
		{in: "varchar 255)", reason: "has a ')' without a matching '('"},
		{in: "enum('a)", reason: "has an unterminated ' quote"},
		{in: "text\x00", reason: "contains a NUL byte"},
		{in: "public.mytype", reason: "contains '.'; " + typeShape},
		{in: `"char"`, reason: `contains '"'; ` + typeShape},
		{in: `text collate "C"`, reason: `contains '"'; ` + typeShape},
		{in: "varchar(255)::text", reason: "contains ':'; " + typeShape},
		{in: "int = 1", reason: "contains '='; " + typeShape},
		{in: "int-1", reason: "contains '-'; " + typeShape},
		{in: "int\ttext", reason: `contains '\t'; ` + typeShape},
		{in: "text`", reason: "has an unterminated ` quote"},

		// A "type" that carries column constraints turns add-column's
		// nullable column (DESIGN: add the column nullable, enforce NOT NULL
		// in the last phase) into something else at step one.
		{in: "text not null", reason: "contains NOT: give the type only"},
		{in: "integer primary key", reason: "contains PRIMARY: give the type only"},
		{in: "text unique", reason: "contains UNIQUE: give the type only"},
		{in: "integer references users(id)", reason: "contains REFERENCES: give the type only"},
		{in: "varchar(255) character set utf8mb4", reason: ""},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			checkReason(t, "CheckType", tc.in, CheckType(tc.in), tc.reason)
		})
	}
}

func TestLooksLikeIdent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{in: "amount", want: true},
		{in: "  amount  ", want: true},
		{in: `"amount"`, want: true},
		{in: "`amount`", want: true},
		{in: "$x", want: true},
		{in: "_x1", want: true},
		{in: "Straße", want: true},
		{in: "amount > 0", want: false},
		{in: "lower(x)", want: false},
		{in: "a.b", want: false},
		{in: "1abc", want: false},
		{in: "123", want: false},
		{in: "'amount'", want: false}, // a string literal, not a name
		{in: "", want: false},
		{in: "   ", want: false},
		{in: `""`, want: false},
		{in: "``", want: false},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			var got bool
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("looksLikeIdent(%q) panicked: %v", tc.in, r)
					}
				}()
				got = looksLikeIdent(tc.in)
			}()
			if got != tc.want {
				t.Errorf("looksLikeIdent(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// A quoted text spanning lines could put a line of its own, such as a
// template directive, into a rendered script.
func TestCheckExprRefusesMultilineQuotes(t *testing.T) {
	for _, e := range []string{"'x\n-- step own: sneaky\nDROP TABLE users'", "\"a\r\nb\"", "`a\nb`"} {
		if err := CheckExpr(e); err == nil || !strings.Contains(err.Error(), "spans lines") {
			t.Errorf("CheckExpr(%q) = %v", e, err)
		}
	}
	if err := CheckExpr("CASE\n  WHEN a > 0 THEN 'yes'\n  ELSE 'no'\nEND"); err != nil {
		t.Errorf("a multi-line expression with one-line quotes: %v", err)
	}
}

// TestFitIdent: a name within the limit is kept; a longer one is cut on a
// character boundary to at most the limit, and FitIdent ends it in a hash
// of the whole name, so that names sharing their start stay apart.
func TestFitIdent(t *testing.T) {
	long := strings.Repeat("a", 60) + "éé" // 64 bytes: é is cut whole
	for _, tc := range []struct {
		fn       func(string) string
		in, want string
	}{
		{FitIdent, "shepherd_nn_users_email", "shepherd_nn_users_email"},
		{CutIdent, "shepherd_nn_users_email", "shepherd_nn_users_email"},
		{FitIdent, strings.Repeat("a", 63), strings.Repeat("a", 63)},
		{CutIdent, strings.Repeat("a", 63), strings.Repeat("a", 63)},
		{CutIdent, long, strings.Repeat("a", 60) + "é"},
		{CutIdent, strings.Repeat("a", 62) + "é", strings.Repeat("a", 62)},
		{FitIdent, strings.Repeat("a", 64), strings.Repeat("a", 54) + "_ffe054fe"},
		{FitIdent, strings.Repeat("a", 53) + strings.Repeat("é", 6), strings.Repeat("a", 53) + "_00accc5a"}, // the cut at 54 is inside é
	} {
		got := tc.fn(tc.in)
		if got != tc.want || len(got) > MaxIdentLen || !utf8.ValidString(got) {
			t.Errorf("%q: got %q (%d bytes), want %q", tc.in, got, len(got), tc.want)
		}
	}
	if FitIdent(strings.Repeat("a", 63)+"b") == FitIdent(strings.Repeat("a", 63)+"c") {
		t.Error("two long names that share their start got one name")
	}
}
