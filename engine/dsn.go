package engine

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// DSN is a parsed connection string. Its password never leaves this struct:
// String shows the DSN with the password masked, and Scrub masks it (and the
// raw DSN) in any text, such as an error a driver returns.
type DSN struct {
	Dialect string
	// Path is the SQLite database file.
	Path string
	url  *url.URL
	raw  string
}

// ParseDSN reads postgres://…, postgresql://…, mysql://user:pass@host:port/db
// and sqlite:path/to/file.db.
func ParseDSN(s string) (DSN, error) {
	d := DSN{raw: s}
	switch {
	case s == "":
		return d, &UsageError{Msg: "no database given: pass --db DSN or set SHEPHERD_DB (postgres://…, mysql://user:pass@host:port/db or sqlite:path/to/file.db)"}
	case strings.HasPrefix(s, "sqlite:"):
		d.Dialect = "sqlite"
		d.Path = strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		if d.Path == "" {
			return d, &UsageError{Msg: "sqlite DSN has no file: write sqlite:path/to/file.db"}
		}
		return d, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		d.Dialect = "postgres"
	case strings.HasPrefix(s, "mysql://"), strings.HasPrefix(s, "mariadb://"):
		d.Dialect = "mysql"
	default:
		// The DSN is not echoed as given: only a masked form of it, and
		// what its shape looks like.
		return d, &UsageError{Msg: fmt.Sprintf("DSN %q is not one shepherd reads%s: use postgres://…, mysql://user:pass@host:port/db or sqlite:path/to/file.db", maskRaw(s), dsnShape(s))}
	}
	u, err := url.Parse(s)
	if err != nil {
		// url's message quotes the input: say where it went wrong without it.
		return d, &UsageError{Msg: fmt.Sprintf("%s DSN is not a valid URL (%s); write it as %s://user:password@host:port/database", d.Dialect, urlProblem(err), d.Dialect)}
	}
	d.url = u
	if u.Host == "" {
		return d, &UsageError{Msg: fmt.Sprintf("%s DSN has no host: write it as %s://user:password@host:port/database", d.Dialect, d.Dialect)}
	}
	return d, nil
}

// urlProblem says what is wrong with a URL that did not parse, without any
// of its text: url's messages quote the part they stumbled on, which may be
// part of the password (invalid URL escape "%Pa").
func urlProblem(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return "it does not parse"
	}
	var esc url.EscapeError
	if errors.As(ue.Err, &esc) {
		return "a % not followed by two hex digits: write a % in the password or elsewhere as %25"
	}
	msg := quotedRE.ReplaceAllString(ue.Err.Error(), "")
	msg = strings.TrimPrefix(strings.Join(strings.Fields(msg), " "), "net/url: ")
	if strings.Contains(msg, "userinfo") {
		msg += ": escape special characters of the user and password (space as %20, @ as %40, / as %2F)"
	}
	return msg
}

var quotedRE = regexp.MustCompile(`"[^"]*"|'[^']*'`)

// secretParams are query parameters whose values are secrets.
func secretParams() []string { return []string{"password", "sslpassword"} }

// secrets returns the DSN's passwords: the URL's and any in its query.
func (d DSN) secrets() []string {
	if d.url == nil {
		return nil
	}
	var out []string
	if d.url.User != nil {
		if p, ok := d.url.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	q := d.url.Query()
	for _, k := range secretParams() {
		for _, v := range q[k] {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// String is the DSN with its password masked: safe to print and log.
func (d DSN) String() string {
	if d.Dialect == "sqlite" {
		return "sqlite:" + d.Path
	}
	if d.url == nil {
		return maskRaw(d.raw)
	}
	u := *d.url
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for _, k := range secretParams() {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return strings.ReplaceAll(u.String(), "xxxxx", "***")
}

// secretKVRE finds the secret values of key=value connection strings:
// libpq's password='…' or password=…, ADO.NET's Password=…; (any case,
// with or without spaces around =, quoted or not).
var secretKVRE = regexp.MustCompile(`(?i)\b((?:ssl)?password|passwd|pwd|secret|token)(\s*=\s*)('(?:\\.|[^'\\])*'?|"(?:[^"]|"")*"?|[^\s;]*)`)

// maskRaw masks a DSN that shepherd does not read or that did not parse, so
// that it can be named in a message: the values of password=… and
// Password=…; pairs, and anything before an '@' (user and password, in
// every user:password@host form: a URL, go-sql-driver's
// user:password@tcp(host)/db, or a bare user:password@host/db). Whatever
// the form, the password is not in what it returns.
func maskRaw(s string) string {
	s = secretKVRE.ReplaceAllString(s, "${1}${2}***")
	if j := strings.LastIndex(s, "@"); j >= 0 {
		start := 0
		if i := strings.Index(s, "://"); i >= 0 && i < j {
			start = i + 3
		}
		s = s[:start] + "***" + s[j:]
	}
	return s
}

// dsnShape names a DSN's form when it is one shepherd does not read but
// knows, to say how to rewrite it.
func dsnShape(s string) string {
	switch {
	case strings.Contains(s, "@tcp(") || strings.Contains(s, "@unix("):
		return " (it is go-sql-driver/mysql's user:pass@tcp(host:port)/db form; write mysql://user:pass@host:port/db)"
	case strings.Contains(s, ";") && strings.Contains(s, "="):
		return " (it is a Key=Value; connection string; write postgres://user:password@host:port/database or mysql://user:pass@host:port/db)"
	case strings.Contains(s, "="):
		return " (it is a key=value connection string; write it as postgres://user:password@host:port/database)"
	case !strings.Contains(s, "://") && strings.Contains(s, "@"):
		return " (it has no scheme: start it with postgres:// or mysql://)"
	}
	return ""
}

// Scrub masks the password and the raw DSN in text.
func (d DSN) Scrub(text string) string {
	if d.raw != "" && d.Dialect != "sqlite" {
		text = strings.ReplaceAll(text, d.raw, d.String())
	}
	for _, p := range d.secrets() {
		// The DSN itself is masked above, wherever it appears whole. A
		// password of one to three characters is not also masked as
		// loose text: it would be masked inside every word ("***ostgres"),
		// and such a password is no secret from anyone who guesses.
		if len([]rune(p)) < 4 {
			continue
		}
		text = strings.ReplaceAll(text, p, "***")
		if esc := url.QueryEscape(p); esc != p {
			text = strings.ReplaceAll(text, esc, "***")
		}
		if esc := url.PathEscape(p); esc != p {
			text = strings.ReplaceAll(text, esc, "***")
		}
	}
	return text
}

// hostPort returns host:port with the dialect's default port.
func (d DSN) hostPort(defaultPort string) string {
	host, port := d.url.Hostname(), d.url.Port()
	if port == "" {
		port = defaultPort
	}
	return net.JoinHostPort(host, port)
}

// database is the path's database name.
func (d DSN) database() string { return strings.TrimPrefix(d.url.Path, "/") }

// scrubbedError wraps an error whose text must not carry the password.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with the password masked in its text, keeping it
// unwrappable so that callers can still classify it.
func (d DSN) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := d.Scrub(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}
