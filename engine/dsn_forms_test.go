package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// encodingOf is how a character that DSN readers disagree on is written
// percent-encoded, as a refusal must say.
var encodingOf = map[rune]string{' ': "%20", '"': "%22", '#': "%23", '%': "%25", '/': "%2F", '?': "%3F", '@': "%40"}

// leaks returns the pieces of the password that text holds.
func leaks(text, pw string) []string {
	var out []string
	for _, p := range testdb.PasswordPieces(pw) {
		if strings.Contains(text, p) {
			out = append(out, p)
		}
	}
	return out
}

// TestDSNPasswordForms: in every form a DSN may hold a password (URL user
// info, ?password=, ?sslpassword=, key=value plain, quoted and
// sslpassword=, go-sql-driver's with and without mysql://), with passwords
// holding each character the readers disagree on, written percent-encoded
// (quoted, in key=value) or as typed, no piece of the password is in the
// refusal, in DSN.String() or in the scrubbed error of a connection to a
// closed port. An encoded DSN is read; one as typed is read or refused
// saying which character to percent-encode (or how to quote it); a form
// shepherd does not read (.NET's Key=Value;) is refused without a word of
// it.
func TestDSNPasswordForms(t *testing.T) {
	const user = "u_dsnform"
	for _, form := range testdb.DSNForms() {
		for _, pw := range testdb.TrickyPasswords() {
			for _, enc := range []bool{false, true} {
				dsn := form.Build(user, pw, enc, "127.0.0.1:1", "dbform")
				name := fmt.Sprintf("%s/%q/encoded=%v", form.Name, pw, enc)
				d, err := ParseDSN(dsn)
				if err != nil {
					var ue *UsageError
					if !errors.As(err, &ue) {
						t.Errorf("%s: refused with a %T, not a usage error (exit 2): %v", name, err, err)
					}
					if l := leaks(err.Error(), pw); len(l) > 0 {
						t.Errorf("%s: the refusal shows %q of the password: %v", name, l, err)
					}
					if !form.Read {
						if strings.Contains(err.Error(), user) || strings.Contains(err.Error(), "dbform") {
							t.Errorf("%s: a DSN shepherd does not read is echoed: %v", name, err)
						}
						continue
					}
					if enc {
						t.Errorf("%s: a percent-encoded DSN is refused: %v", name, err)
						continue
					}
					said := form.Hint != "" && strings.Contains(err.Error(), form.Hint)
					for _, c := range pw {
						if e, ok := encodingOf[c]; ok && form.Hint == "" && strings.Contains(err.Error(), e) {
							said = true
						}
					}
					if !said {
						t.Errorf("%s: the refusal does not say which character to percent-encode: %v", name, err)
					}
					continue
				}
				if !form.Read {
					t.Errorf("%s: a form shepherd does not read was read", name)
					continue
				}
				shown := d.String()
				if l := leaks(shown, pw); len(l) > 0 || strings.Contains(shown, "#") {
					t.Errorf("%s: String() = %s", name, shown)
				}
				if !strings.Contains(shown, "***") {
					t.Errorf("%s: String() does not show the password masked: %s", name, shown)
				}
				// A driver's error may quote the DSN, or the password raw or
				// escaped.
				for _, quoted := range []string{dsn, pw, url.QueryEscape(pw), url.PathEscape(pw), testdb.PercentEncode(pw)} {
					msg := d.scrub(errors.New("connect: " + quoted + ": refused")).Error()
					if l := leaks(msg, pw); len(l) > 0 {
						t.Errorf("%s: scrub leaves %q of the password in %q", name, l, msg)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				e, err := Open(ctx, dsn)
				cancel()
				if err == nil {
					e.Close()
					t.Errorf("%s: connected to a closed port", name)
					continue
				}
				if l := leaks(err.Error(), pw); len(l) > 0 {
					t.Errorf("%s: the connection error shows %q of the password: %v", name, l, err)
				}
			}
		}
	}
}

// TestDSNPasswordFormsServers: the same forms against the real servers, where
// the connection fails there: MariaDB refuses the wrong password; the test
// PostgreSQL trusts local connections, so its connection fails on a database
// that does not exist. The server's error shows no piece of the password.
// Its hundred or so refused connections take seconds (a server process is
// started for each), spent beside the other tests: nothing here is shared
// with them (the user and the database exist nowhere).
func TestDSNPasswordFormsServers(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"postgres": testdb.EnvPostgres, "mysql": testdb.EnvMySQL}[dialect]
			base := os.Getenv(env)
			if base == "" {
				t.Skipf("%s is not set", env)
			}
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			db := strings.TrimPrefix(u.Path, "/")
			if dialect == "postgres" {
				db = "no_such_db_dsnform"
			}
			for _, form := range testdb.DSNForms() {
				if form.Dialect != dialect || !form.Read {
					continue
				}
				for _, pw := range testdb.TrickyPasswords() {
					for _, enc := range []bool{false, true} {
						dsn := form.Build("u_dsnform", pw, enc, u.Host, db)
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						e, err := Open(ctx, dsn)
						cancel()
						if err == nil {
							e.Close()
							t.Errorf("%s %q: connected", form.Name, pw)
							continue
						}
						if l := leaks(err.Error(), pw); len(l) > 0 {
							t.Errorf("%s %q encoded=%v: the error shows %q of the password: %v", form.Name, pw, enc, l, err)
						}
					}
				}
			}
		})
	}
}
