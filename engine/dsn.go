package engine

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
)

// DSN is a parsed connection string. Its passwords never leave this struct:
// String shows the DSN with them masked, and Scrub masks them (and the raw
// DSN) in any text, such as an error a driver returns.
//
// A DSN is read only when every reader agrees on it: Go's URL reader, which
// shepherd shows it with (and builds MySQL's driver configuration from), and
// the dialect's driver, which connects with it (PostgreSQL's reads it by
// libpq's rules). Where a #, an @, a space or a % makes them read different
// users, passwords, hosts or databases, the DSN is refused, saying which
// character to percent-encode, and without a word of the DSN: a masked form
// of a string that two readers split differently could still show a piece
// of the password. The forms that are not URLs are read by their driver
// alone: a libpq key=value string by pgx (split again only to find its
// passwords, by pgx's rules, and refused where the two disagree:
// dsn_keyvalue.go), go-sql-driver's form by that driver (dsn_mysql.go).
type DSN struct {
	Dialect string
	// Path is the SQLite database file.
	Path string
	url  *url.URL
	raw  string
	// shown is the DSN with its passwords masked, for the forms that are
	// not URLs: key=value (rebuilt from its pairs) and go-sql-driver's.
	shown string
	// my is MySQL's driver configuration, read from either of its forms.
	my *mysql.Config
	// secrets are the passwords the driver would use, as it reads them and
	// as the DSN spells them (raw, percent-encoded).
	secrets []string
}

// dsnForms is what a refusal says to write instead.
const dsnForms = "postgres://user:password@host:port/db (or postgres:///db?host=/socket/dir, with PG* variables and ~/.pgpass), " +
	"a libpq key=value string (host=… user=… dbname=…), mysql://user:password@host:port/db (or mysql://user@/db?socket=/path), " +
	"go-sql-driver's user:password@tcp(host:port)/db or user@unix(/path)/db, or sqlite:path/to/file.db"

// ParseDSN reads the forms of dsnForms. Each form is told by how it
// starts: a scheme (postgres://, postgresql://, mysql://, mariadb://,
// sqlite:), one of libpq's keywords and an = (key=value), or a user and
// @tcp( or @unix( (go-sql-driver's, also after mysql://).
func ParseDSN(s string) (DSN, error) {
	d := DSN{raw: s}
	switch {
	case s == "":
		return d, &UsageError{Msg: "no database given: pass --db DSN or set SHEPHERD_DB (" + dsnForms + ")"}
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
		if _, rest, _ := strings.Cut(s, "://"); isMySQLDriverForm(rest) {
			return parseMySQLDriverDSN(d, rest)
		}
	case isKeywordValue(s):
		d.Dialect = "postgres"
		return parseKeywordValueDSN(d)
	case isMySQLDriverForm(s):
		d.Dialect = "mysql"
		return parseMySQLDriverDSN(d, s)
	default:
		// Not a word of it is shown: a form shepherd does not read is one
		// it cannot tell the password of.
		return d, &UsageError{Msg: fmt.Sprintf("the DSN given is not one shepherd reads%s: use %s (the DSN is not shown here, as it may hold a password)", dsnShape(s), dsnForms)}
	}
	if err := d.checkChars(); err != nil {
		return d, err
	}
	u, err := url.Parse(s)
	if err != nil {
		// url's message quotes the input: say where it went wrong without it.
		return d, &UsageError{Msg: fmt.Sprintf("%s DSN is not a valid URL (%s); write it as %s://user:password@host:port/database", d.Dialect, d.urlProblem(err), d.Dialect)}
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		// Go's URL reader drops such a parameter; PostgreSQL's driver
		// refuses the DSN: they would not agree on it.
		return d, &UsageError{Msg: fmt.Sprintf("%s DSN is not a valid URL (a parameter has a %% not followed by two hex digits: write a %% in a password or elsewhere as %%25); write it as %s://user:password@host:port/database", d.Dialect, d.Dialect)}
	}
	d.url = u
	d.secrets = d.urlSecrets()
	if d.Dialect == "mysql" {
		// MySQL's driver configuration is built from the URL as Go reads it.
		if d.my, err = d.mysqlURLConfig(); err != nil {
			return d, err
		}
		if d.my.DBName == "" {
			return d, usageErrorf("%s has no database: write mysql://user:password@host:port/database", d.String())
		}
		return d, nil
	}
	// PostgreSQL's host may come from PGHOST, a service file or the
	// default socket directory: pgx reads the DSN as libpq does.
	dl, err := dialectFor(d.Dialect)
	if err != nil {
		return d, err
	}
	more, err := readDSN(dl, d)
	if err != nil {
		return d, err
	}
	d.secrets = append(d.secrets, more...)
	return d, nil
}

// encodeHint is how to write the characters DSN readers disagree on.
const encodeHint = `percent-encode special characters of the user and password: space as %20, " as %22, # as %23, % as %25, / as %2F, ? as %3F, @ as %40`

// checkChars refuses the characters that make Go's URL reader and the
// drivers read a URL DSN differently, before it is read at all, naming
// every one to percent-encode at once.
func (d DSN) checkChars() error {
	var fix []string
	if strings.IndexFunc(d.raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		// PostgreSQL's driver trims spaces around each part and refuses
		// them inside; Go's URL reader refuses them in the user and
		// password and keeps them elsewhere.
		fix = append(fix, "a space (or a control character) as %20 (or its %XX)")
	}
	if strings.Contains(d.raw, "#") {
		// Go's URL reader takes what follows # as a fragment, which no
		// driver reads; PostgreSQL's driver reads it as part of the
		// password (or the database, or a parameter).
		fix = append(fix, "a # as %23")
	}
	if _, rest := d.authority(); strings.Contains(rest, "@") {
		// The host part ends at the first / or ?: an @ after it is in the
		// path or a parameter, and the user and password before it (with
		// a / or ? in the password) are not read as such by Go's URL
		// reader, nor by PostgreSQL's driver when a / comes first.
		fix = append(fix, fmt.Sprintf("a %c as %s (the DSN has an @ after the %c that ends its host), and an @ that is not the one before the host as %%40", rest[0], percentEncoded(rest[0]), rest[0]))
	}
	if len(fix) == 0 {
		return nil
	}
	return &UsageError{Msg: fmt.Sprintf("%s DSN holds characters that its readers take apart differently: percent-encode, in the password or wherever they are, %s; write it as %s://user:password@host:port/database",
		d.Dialect, strings.Join(fix, "; "), d.Dialect)}
}

// authority splits a URL DSN after its scheme at the first / or ? (the #
// was refused before): the user, password, host and port, and the rest.
func (d DSN) authority() (authority, rest string) {
	_, after, _ := strings.Cut(d.raw, "://")
	if i := strings.IndexAny(after, "/?"); i >= 0 {
		return after[:i], after[i:]
	}
	return after, ""
}

// userinfo is the raw user and password of a URL DSN (up to the last @ of
// its host part, as Go's URL reader reads it), and whether it has one.
func (d DSN) userinfo() (string, bool) {
	authority, _ := d.authority()
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return "", false
	}
	return authority[:at], true
}

func percentEncoded(c byte) string { return fmt.Sprintf("%%%02X", c) }

// urlProblem says what is wrong with a URL that did not parse, without any
// of its text: url's messages quote the part they stumbled on, which may be
// part of the password (invalid URL escape "%Pa").
func (d DSN) urlProblem(err error) string {
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
		// Name the character (one character is no piece of a password),
		// so that the operator knows what to encode.
		if ui, ok := d.userinfo(); ok {
			for i := 0; i < len(ui); i++ {
				if !userinfoChar(ui[i]) {
					return fmt.Sprintf("%s: the user or password holds a %q: percent-encode it as %s", msg, ui[i], percentEncoded(ui[i]))
				}
			}
		}
		msg += ": " + encodeHint
	}
	return msg
}

// userinfoChar is a byte Go's URL reader accepts in a user and password.
func userinfoChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._:~!$&'()*+,;=%@", c) >= 0
}

var quotedRE = regexp.MustCompile("\"[^\"]*\"|'[^']*'|`[^`]*`")

// secretParams are query parameters whose values are secrets.
func secretParams() []string { return []string{"password", "sslpassword"} }

// urlSecrets are the passwords of a URL DSN: the user info's and those of
// its query, each as the DSN spells it and as a reader decodes it.
func (d DSN) urlSecrets() []string {
	var out []string
	if d.url.User != nil {
		if p, ok := d.url.User.Password(); ok {
			out = append(out, p)
		}
		if ui, ok := d.userinfo(); ok {
			if _, p, ok := strings.Cut(ui, ":"); ok {
				out = append(out, p)
			}
		}
	}
	for _, pair := range strings.Split(d.url.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || !isSecretParam(key) {
			continue
		}
		out = append(out, v)
		// Go's URL reader reads + as a space; PostgreSQL's driver as +.
		if dec, err := url.QueryUnescape(v); err == nil {
			out = append(out, dec)
		}
		if dec, err := url.PathUnescape(v); err == nil {
			out = append(out, dec)
		}
	}
	return out
}

func isSecretParam(k string) bool {
	for _, s := range secretParams() {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// String is the DSN with its passwords masked: safe to print and log.
func (d DSN) String() string {
	if d.Dialect == "sqlite" {
		return "sqlite:" + d.Path
	}
	if d.shown != "" {
		return d.shown
	}
	if d.url == nil {
		// A DSN that was not read: no part of it is shown.
		return "(the DSN given)"
	}
	u := *d.url
	u.Fragment, u.RawFragment = "", ""
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if isSecretParam(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return strings.ReplaceAll(u.String(), "xxxxx", "***")
}

// dsnShape names a DSN's form when it is one shepherd does not read but
// knows, to say how to rewrite it, without quoting any of it.
func dsnShape(s string) string {
	switch {
	case strings.Contains(s, ";") && strings.Contains(s, "="):
		return " (it is a Key=Value; connection string, as .NET and ODBC write them; write postgres://user:password@host:port/database, a libpq key=value string or mysql://user:pass@host:port/db)"
	case strings.Contains(s, "="):
		return " (it is a key=value connection string that does not start with one of libpq's keywords, such as host=, user= or dbname=, in lower case)"
	case strings.Contains(s, "://"):
		if scheme, _, _ := strings.Cut(s, "://"); schemeRE.MatchString(scheme) {
			return fmt.Sprintf(" (its scheme, %s://, is not a database shepherd changes)", scheme)
		}
		return ""
	case strings.Contains(s, "@"):
		return " (it has no scheme: start it with postgres:// or mysql://, or write go-sql-driver's user:pass@tcp(host:port)/db)"
	}
	return ""
}

// schemeRE is a URL scheme, which holds no password: the one part of a DSN
// shepherd does not read that it names.
var schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]{0,19}$`)

// Scrub masks the passwords and the raw DSN in text.
func (d DSN) Scrub(text string) string {
	if d.raw != "" && d.Dialect != "sqlite" {
		text = strings.ReplaceAll(text, d.raw, d.String())
	}
	for _, p := range d.secrets {
		// The DSN itself is masked above, wherever it appears whole. A
		// password of one to three characters is not also masked as
		// loose text: it would be masked inside every word ("***ostgres"),
		// and such a password is no secret from anyone who guesses.
		if len([]rune(p)) < 4 {
			continue
		}
		text = strings.ReplaceAll(text, p, "***")
		if utf8.ValidString(p) { // a decoded %FF is no text to match by pattern
			text = secretRE(p).ReplaceAllString(text, "***")
		}
	}
	return text
}

// secretRE matches a password as a message may quote it: as is, or with
// any of its characters percent-encoded (a space also as +), in whatever
// mix a URL writer chose.
func secretRE(p string) *regexp.Regexp {
	var b strings.Builder
	for _, r := range p {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
			continue
		}
		// A letter beyond ASCII is encoded as each of its UTF-8 bytes.
		var enc strings.Builder
		for _, c := range []byte(string(r)) {
			enc.WriteString(percentEncoded(c))
		}
		alt := regexp.QuoteMeta(string(r)) + "|(?i:" + enc.String() + ")"
		if r == ' ' {
			alt += `|\+`
		}
		b.WriteString("(?:" + alt + ")")
	}
	return regexp.MustCompile(b.String())
}

// hostPort returns host:port with the dialect's default port.
func (d DSN) hostPort(defaultPort string) string {
	host, port := d.url.Hostname(), d.url.Port()
	if port == "" {
		port = defaultPort
	}
	return net.JoinHostPort(host, port)
}

// database is the database the DSN names: MySQL's, as its driver reads
// it, or a URL's path.
func (d DSN) database() string {
	if d.my != nil {
		return d.my.DBName
	}
	if d.url == nil {
		return ""
	}
	return strings.TrimPrefix(d.url.Path, "/")
}
