package engine

import (
	"regexp"
	"strings"
)

// Database errors as shepherd shows them. A database quotes values of the
// rows it refused in its errors (MySQL: Duplicate entry 'ada@example.com';
// PostgreSQL: invalid input syntax for type integer: "Ada"): copied
// production data, which the Migration Operations guide says not to log.
// Every database error enters the engine through DSN.scrub, which wraps it
// in a dbError: its text has the DSN's passwords and the row values masked
// (each driver renders its own error from its typed fields: see describe in
// driver_*.go), while errors.As and errors.Is still reach the driver's error,
// which classify reads.

// dbError is a database error with its text made safe to show.
type dbError struct {
	msg string
	err error
}

func (e *dbError) Error() string { return e.msg }
func (e *dbError) Unwrap() error { return e.err }

// scrub returns err with the DSN's passwords and the row values its
// database errors quote masked in its text, keeping it unwrappable so that
// callers can still classify it.
func (d DSN) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := d.Scrub(describe(err))
	if msg == err.Error() {
		return err
	}
	return &dbError{msg: msg, err: err}
}

// drivers are the dialects, each of which describes its own driver's
// errors: an error is described by whichever driver returned it.
func drivers() []dialect { return dialects() }

// describe is err's text with the text of each database error in its chain
// replaced by how its driver describes it (without row values), and then
// masked once more for the value-quoting messages databases are known for
// (maskValues), in case a driver's text reached it some other way.
func describe(err error) string {
	text := err.Error()
	walkErrors(err, func(e error) {
		for _, dl := range drivers() {
			if clean, ok := dl.describe(e); ok {
				if raw := e.Error(); raw != clean {
					text = strings.ReplaceAll(text, raw, clean)
				}
				return
			}
		}
	})
	return maskValues(text)
}

// ErrorText is err's text as shepherd prints it: the row values that
// database errors in it quote are masked, even those of an error that did
// not come through DSN.scrub. (Passwords are the DSN's to mask: DSN.Scrub.)
func ErrorText(err error) string { return describe(err) }

// errorText is err's text as an event carries it: with the DSN's
// passwords and the row values database errors quote masked, wherever in
// err's chain the database error is.
func (s *Session) errorText(err error) string { return s.dsn.Scrub(describe(err)) }

// walkErrors calls fn on err and every error it wraps.
func walkErrors(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, fn)
		}
	}
}

// valueREs are the messages in which databases and Go's database/sql quote
// a value, as text: the last guard, for a message that reached a printed
// text without its error (describe masks them from the drivers' typed
// fields).
var valueREs = []struct {
	re   *regexp.Regexp
	with string
}{
	// MySQL: Duplicate entry 'x' for key 'k'.
	{regexp.MustCompile(`(Duplicate entry ')(?:[^']|'')*?(' for key )`), "$1…$2"},
	// MySQL: Incorrect integer value: 'x' for column …, Truncated
	// incorrect INTEGER value: 'x', Incorrect datetime value: 'x'.
	{regexp.MustCompile(`((?i:incorrect) [\w ]{1,40} value: ')(?:[^']|'')*?('(?: for |$|[;,)\n]))`), "$1…$2"},
	// PostgreSQL: invalid input syntax for type integer: "x"; value "x" is
	// out of range; Key (c)=(x); Failing row contains (x).
	{regexp.MustCompile(`((?:syntax|value) for (?:type|enum) [^:"]+: )"(?:[^"]|"")*"`), `$1"…"`},
	{regexp.MustCompile(`(value )"(?:[^"]|"")*"( is out of range)`), `$1"…"$2`},
	{regexp.MustCompile(`(Key \([^)]*\)=\()[^\n]*?(\) (?:already exists|is (?:not present|still referenced|duplicated)))`), "$1…$2"},
	{regexp.MustCompile(`(Failing row contains \()[^\n]*\)`), "$1…)"},
	// database/sql and strconv, converting a value that does not fit.
	{regexp.MustCompile(`(converting driver\.Value type [^ ]+ \()"(?:[^"\\]|\\.)*"\)`), `$1"…")`},
	{regexp.MustCompile(`(strconv\.\w+: parsing )"(?:[^"\\]|\\.)*"`), `$1"…"`},
}

// maskValues masks the values quoted in the known value-quoting messages
// of text.
func maskValues(text string) string {
	for _, v := range valueREs {
		text = v.re.ReplaceAllString(text, v.with)
	}
	return text
}
