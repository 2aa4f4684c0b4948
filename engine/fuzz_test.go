package engine

import (
	"testing"
)

// FuzzQuoteIdent: whatever the name, each dialect's quoting yields exactly
// one quoted-identifier token that reads back as the name: nothing gets out
// of its quotes.
func FuzzQuoteIdent(f *testing.F) {
	for _, s := range []string{"users", `users"; drop table users; --`, "a`b", "naïve name", `""`, "x]y", "select", "'", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, d := range fuzzDialects() {
			q := d.quote(name)
			toks := lexSQL(q)
			if len(toks) != 1 || toks[0].kind != 'q' || toks[0].name() != name {
				t.Fatalf("%s: %q quoted as %s lexes as %v", d.name(), name, q, toks)
			}
		}
	})
}

// fuzzDialects are the dialects whose quoting is fuzzed.
func fuzzDialects() []dialect {
	var out []dialect
	for _, n := range []string{"sqlite", "postgres", "mysql"} {
		if d, err := dialectFor(n); err == nil {
			out = append(out, d)
		}
	}
	return out
}
