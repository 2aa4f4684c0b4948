package testdb

import (
	"fmt"
	"net/url"
	"strings"
)

// DSN forms and passwords for the tests that prove no password reaches
// output: every form an operator may write a password in, and passwords
// holding each character that makes DSN readers disagree.

// passwordSpecials are the characters the tricky passwords hold: those a
// URL reader, PostgreSQL's driver (libpq's rules) and key=value readers
// treat differently.
const passwordSpecials = "#@ %/:?'\""

// TrickyPasswords are passwords with each special character between two
// distinctive pieces, one with all of them, one with a valid escape (%41
// reads as A), one with a space at its end, and one with a non-ASCII
// letter.
func TrickyPasswords() []string {
	var out []string
	for _, c := range passwordSpecials {
		out = append(out, "Kq7w"+string(c)+"Zt4v")
	}
	return append(out,
		`Rm2x#Yp8n@Lb3c Hd6f%Gs5j/Nw1e:Ua9r?Vc0t'Jk4m"Wq7p`,
		"Kq7w%41Zt4v",
		"Kq7wZt4v ",
		"Kq7wé#Zt4v",
	)
}

// PasswordPieces are the password and each of its pieces between special
// characters (or the % of an escape) that is 4 characters or longer: none
// may be printed.
func PasswordPieces(pw string) []string {
	out := []string{pw}
	for _, p := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune(passwordSpecials, r) }) {
		if len(p) >= 4 && p != pw {
			out = append(out, p)
		}
	}
	return out
}

// PercentEncode encodes every byte of s but letters, digits and -._~, as a
// URL's user, password or query value needs: the form both URL readers
// and PostgreSQL's driver read the same way.
func PercentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// DSNForm is one way of writing a DSN with a password.
type DSNForm struct {
	Name    string
	Dialect string // the server it names: postgres or mysql
	// Read says shepherd reads this form; the others it refuses.
	Read bool
	// Build writes the DSN: the password as given (encoded: percent-encoded,
	// or quoted, where the form has an encoding), for user on host:port,
	// database db.
	Build func(user, pw string, encoded bool, hostPort, db string) string
	// Hint is what a refusal of a password written as typed says to do,
	// when it is not percent-encoding it.
	Hint string
}

// KVQuote quotes a libpq key=value value: in single quotes, ' as \' and \
// as \\.
func KVQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// DSNForms are the forms of DSN an operator may write a password in.
func DSNForms() []DSNForm {
	userinfo := func(scheme, tail string) func(user, pw string, enc bool, hp, db string) string {
		return func(user, pw string, enc bool, hp, db string) string {
			if enc {
				pw = PercentEncode(pw)
			}
			return scheme + "://" + user + ":" + pw + "@" + hp + "/" + db + tail
		}
	}
	query := func(scheme, key, before string) func(user, pw string, enc bool, hp, db string) string {
		return func(user, pw string, enc bool, hp, db string) string {
			if enc {
				pw = PercentEncode(pw)
			}
			return scheme + "://" + user + "@" + hp + "/" + db + "?" + before + key + "=" + pw
		}
	}
	hostPort := func(hp string) (string, string) {
		u := url.URL{Host: hp}
		return u.Hostname(), u.Port()
	}
	const quoteHint = "single quotes"
	return []DSNForm{
		{"postgres URL", "postgres", true, userinfo("postgres", "?sslmode=disable"), ""},
		{"postgresql URL", "postgres", true, userinfo("postgresql", "?sslmode=disable"), ""},
		{"postgres ?password=", "postgres", true, query("postgres", "password", "sslmode=disable&"), ""},
		{"postgres ?sslpassword=", "postgres", true, query("postgres", "sslpassword", "sslmode=disable&"), ""},
		{"mysql URL", "mysql", true, userinfo("mysql", ""), ""},
		{"mariadb URL", "mysql", true, userinfo("mariadb", ""), ""},
		{"mysql ?password=", "mysql", true, query("mysql", "password", ""), ""},
		{"key=value", "postgres", true, func(user, pw string, enc bool, hp, db string) string {
			h, p := hostPort(hp)
			if enc {
				pw = KVQuote(pw)
			}
			return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable", h, p, user, pw, db)
		}, quoteHint},
		{"key=value quoted", "postgres", true, func(user, pw string, enc bool, hp, db string) string {
			h, p := hostPort(hp)
			return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable", h, p, user, KVQuote(pw), db)
		}, quoteHint},
		{"key=value sslpassword", "postgres", true, func(user, pw string, enc bool, hp, db string) string {
			h, p := hostPort(hp)
			return fmt.Sprintf("sslmode=disable user=%s sslpassword=%s dbname=%s host=%s port=%s", user, KVQuote(pw), db, h, p)
		}, quoteHint},
		{"go-sql-driver", "mysql", true, func(user, pw string, enc bool, hp, db string) string {
			return user + ":" + pw + "@tcp(" + hp + ")/" + db
		}, ""},
		{"mysql:// go-sql-driver", "mysql", true, func(user, pw string, enc bool, hp, db string) string {
			return "mysql://" + user + ":" + pw + "@tcp(" + hp + ")/" + db + "?tls=false"
		}, ""},
		{"Key=Value;", "postgres", false, func(user, pw string, enc bool, hp, db string) string {
			h, p := hostPort(hp)
			return fmt.Sprintf("Server=%s;Port=%s;User Id=%s;Password=%s;Database=%s;", h, p, user, pw, db)
		}, ""},
	}
}
