package engine

import (
	"errors"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL's key=value connection strings (host=… user=… dbname=…), as
// libpq and pgx read them. pgx's ParseConfig reads them to connect (with the
// PG* variables and ~/.pgpass, as for a URL); the pairs are split here only
// to mask the passwords they hold and to show the DSN, by the same rules
// pgx splits them by (pgconn's parseKeywordValueSettings), and shepherd
// checks that both read the same password.

// kvPair is one keyword and its value: as read (quotes and backslashes
// undone) and as written.
type kvPair struct{ key, val, spelled string }

// libpqKeywords are the keywords libpq reads, and those pgx adds; libpq
// refuses any other, and so does shepherd (pgx would send it to the server
// as a setting, where a piece of a password split off by a space would be
// quoted back).
func libpqKeywords() []string {
	return []string{
		"host", "hostaddr", "port", "dbname", "database", "user", "password", "passfile", "channel_binding",
		"connect_timeout", "client_encoding", "options", "application_name", "fallback_application_name",
		"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"replication", "gssencmode", "sslmode", "sslnegotiation", "sslcompression", "sslcert", "sslkey",
		"sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
		"ssl_min_protocol_version", "ssl_max_protocol_version", "min_protocol_version", "max_protocol_version",
		"krbsrvname", "krbspn", "gsslib", "gssdelegation", "service", "servicefile", "target_session_attrs",
		"load_balance_hosts", "require_auth",
		// pgx's own
		"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode",
	}
}

// kvStartRE is how a key=value DSN starts: a keyword, then =.
var kvStartRE = regexp.MustCompile(`^\s*([a-z_]+)\s*=`)

// isKeywordValue says s is a libpq key=value string: it starts with one of
// libpq's keywords and an =. (No URL, no go-sql-driver DSN starts so.)
func isKeywordValue(s string) bool {
	m := kvStartRE.FindStringSubmatch(s)
	return m != nil && isOneOf(m[1], libpqKeywords())
}

// kvQuoteHint is how to write a value libpq would split.
const kvQuoteHint = `put a value that holds a space, a ' or a \ in single quotes, writing ' as \' and \ as \\ (password='my secret')`

// splitKeywordValue splits a key=value string as pgx does.
func splitKeywordValue(s string) ([]kvPair, error) {
	const spaces = " \t\n\r\v\f"
	var out []kvPair
	s = strings.TrimLeft(s, spaces)
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, errors.New("a word has no = after it")
		}
		key := strings.Trim(s[:eq], spaces)
		if key == "" || strings.ContainsAny(key, spaces) {
			return nil, errors.New("a word has no = after it")
		}
		s = strings.TrimLeft(s[eq+1:], spaces)
		var spelled string
		switch {
		case s == "":
		case s[0] != '\'':
			end := 0
			for ; end < len(s) && !strings.ContainsRune(spaces, rune(s[end])); end++ {
				if s[end] == '\\' {
					end++
					if end == len(s) {
						break
					}
				}
			}
			end = min(end, len(s))
			spelled, s = s[:end], strings.TrimLeft(s[end:], spaces)
		default:
			end := 1
			for ; end < len(s) && s[end] != '\''; end++ {
				if s[end] == '\\' {
					end++
				}
			}
			if end >= len(s) {
				return nil, errors.New("a quoted value has no closing '")
			}
			spelled, s = s[:end+1], strings.TrimLeft(s[end+1:], spaces)
		}
		out = append(out, kvPair{key: key, val: unquoteKV(spelled), spelled: spelled})
	}
	return out, nil
}

// unquoteKV undoes a value's quotes and backslashes.
func unquoteKV(spelled string) string {
	if strings.HasPrefix(spelled, "'") && len(spelled) >= 2 {
		spelled = spelled[1 : len(spelled)-1]
	}
	var b strings.Builder
	for i := 0; i < len(spelled); i++ {
		if spelled[i] == '\\' {
			i++
			if i == len(spelled) {
				break
			}
		}
		b.WriteByte(spelled[i])
	}
	return b.String()
}

// quoteKV writes a value as libpq reads it back.
func quoteKV(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// parseKeywordValueDSN reads a key=value DSN: pgx reads it, shepherd checks
// that its keywords are libpq's and that pgx read the password it wrote,
// and masks that password and sslpassword (and those pgx took from
// PGPASSWORD, PGSSLPASSWORD or a password file).
func parseKeywordValueDSN(d DSN) (DSN, error) {
	refuse := func(what string) (DSN, error) {
		return d, usageErrorf("the postgres key=value DSN %s: %s (the DSN is not shown here, as it may hold a password)", what, kvQuoteHint)
	}
	pairs, err := splitKeywordValue(d.raw)
	if err != nil {
		return refuse("cannot be read (" + err.Error() + ")")
	}
	var pw, hasPw = "", false
	for _, p := range pairs {
		if isSecretParam(p.key) {
			d.secrets = append(d.secrets, p.val, p.spelled, strings.Trim(p.spelled, "'"))
		}
	}
	for _, p := range pairs {
		if !isOneOf(p.key, libpqKeywords()) {
			return refuse("has a keyword libpq does not read (it may be a piece of a value with an unquoted space)")
		}
		if p.key == "password" {
			pw, hasPw = p.val, true
		}
	}
	cfg, err := pgx.ParseConfig(d.raw)
	if err != nil {
		return refuse("cannot be read by PostgreSQL's driver (" + d.Scrub(pgParseProblem(err)) + ")")
	}
	if hasPw && pw != "" && cfg.Password != pw {
		return refuse("is read by PostgreSQL's driver with another password than shepherd reads")
	}
	d.secrets = append(d.secrets, cfg.Password, os.Getenv("PGSSLPASSWORD"))
	shown := make([]string, len(pairs))
	for i, p := range pairs {
		v := quoteKV(p.val)
		if isSecretParam(p.key) {
			v = "***"
		}
		shown[i] = p.key + "=" + v
	}
	d.shown = strings.Join(shown, " ")
	return d, nil
}
