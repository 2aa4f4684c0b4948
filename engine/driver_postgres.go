package engine

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// What shepherd reads from PostgreSQL's driver (pgx): how it reads a DSN,
// and how its errors read.

// readDSN reads the DSN as pgx will when it connects (libpq's rules), refuses
// it where that is not what Go's URL reader read (the DSN shepherd shows
// and masks), and returns the password pgx would use: the DSN's, or one
// from PGPASSWORD or a password file, which is masked too.
func (postgresDialect) readDSN(d DSN) ([]string, error) {
	refuse := func(what string) error {
		return &UsageError{Msg: fmt.Sprintf("postgres DSN %s; write it as postgres://user:password@host:port/database", what)}
	}
	if ui, ok := d.userinfo(); ok && strings.Contains(ui, "@") {
		// libpq and pgx end the user and password at the first @, Go's URL
		// reader at the last: the rest of the password would be read as
		// the host, and a failed host lookup would print it.
		return nil, refuse("has an @ in its user or password: PostgreSQL's driver ends them at the first @; percent-encode an @ in the password as %40")
	}
	cfg, err := pgx.ParseConfig(d.raw)
	if err != nil {
		return nil, refuse("cannot be read by PostgreSQL's driver (" + pgParseProblem(err) + "): " + encodeHint)
	}
	var differs []string
	if u := d.url.User; u != nil {
		if name := u.Username(); name != "" && name != cfg.User {
			differs = append(differs, "user")
		}
		if p, ok := u.Password(); ok && p != "" && p != cfg.Password && !d.url.Query().Has("password") {
			differs = append(differs, "password")
		}
	}
	if db := d.database(); db != "" && db != cfg.Database {
		differs = append(differs, "database")
	}
	if len(differs) > 0 {
		return nil, refuse(fmt.Sprintf("is read by PostgreSQL's driver with another %s than a URL reader reads: %s", strings.Join(differs, ", "), encodeHint))
	}
	return []string{cfg.Password, os.Getenv("PGSSLPASSWORD")}, nil
}

// pgParseProblem is why pgx could not read a DSN, without the DSN: its
// ParseConfigError quotes the DSN (with what it recognises as a password
// masked) and its parts.
func pgParseProblem(err error) string {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+3:]
		}
	}
	return strings.Join(strings.Fields(quotedRE.ReplaceAllString(msg, "…")), " ")
}

// describe renders PostgreSQL's error as pgx does (ERROR: message (SQLSTATE
// code)), with the row values it quotes masked. Those are in its message
// only for data exceptions (class 22: invalid input syntax for type
// integer: "…", value "…" is out of range, the bytes of an invalid
// sequence) and in what a trigger raises (class P0); integrity violations
// (class 23) name the constraint and column and keep the row in Detail,
// which the message does not include.
func (postgresDialect) describe(err error) (string, bool) {
	pe, ok := err.(*pgconn.PgError)
	if !ok {
		return "", false
	}
	c := *pe
	switch {
	case strings.HasPrefix(pe.Code, "22"):
		c.Message = pgBytesRE.ReplaceAllString(pgQuotedRE.ReplaceAllString(c.Message, `"…"`), "$1…")
	case strings.HasPrefix(pe.Code, "P0"):
		c.Message = quotedValueRE.ReplaceAllString(pgQuotedRE.ReplaceAllString(c.Message, `"…"`), "'…'")
	}
	return c.Error(), true
}

var (
	pgQuotedRE = regexp.MustCompile(`"(?:[^"]|"")*"`)
	// pgBytesRE is the bytes PostgreSQL quotes from an invalid value:
	// invalid byte sequence for encoding "UTF8": 0xc3 0x28.
	pgBytesRE = regexp.MustCompile(`(: )0x[0-9a-fA-F]{2}(?: 0x[0-9a-fA-F]{2})*`)
)
