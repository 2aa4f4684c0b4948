package engine

import (
	"regexp"
	"strings"
)

// What shepherd's own tables keep of keys and of the database's messages:
// never a row's value.

// keysWithheld is what shepherd's tables say instead of the sample keys of
// rows at fault when the key column holds data (an email, a name): only an
// integer key, a surrogate, is recorded there. The operator's terminal and
// JSON events still show them.
const keysWithheld = "keys not recorded: the key column holds data"

// recordedKeys is a list of sample keys as shepherd's tables may keep it.
func (s *Session) recordedKeys(sample []string) string {
	if s.keyIsInteger() {
		return "keys " + strings.Join(sample, ", ")
	}
	return keysWithheld
}

// recordedDetail is err's text as shepherd's tables keep it: with a key
// column that holds data, each error in err's chain that mentions key
// values (a keyedError: the sample keys of a failed verification, a failed
// batch's range, a checkpoint) renders itself without them (the checkpoint
// column keeps the one key a rerun resumes from). An error that wraps one
// holds its whole text, which is replaced by its text without keys; a
// wrapper that changed that text is not kept, only the text without keys.
func (s *Session) recordedDetail(err error) string {
	text := err.Error()
	if s.table == nil || s.keyIsInteger() {
		return text
	}
	for _, ke := range keyedErrors(err) {
		whole, without := ke.Error(), ke.withoutKeys()
		if !strings.Contains(text, whole) {
			return without
		}
		text = strings.Replace(text, whole, without, 1)
	}
	return text
}

// keyedErrors are the errors in err's tree that mention key values,
// outermost first.
func keyedErrors(err error) []keyedError {
	var out []keyedError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ke, ok := err.(keyedError); ok {
			out = append(out, ke)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

var (
	quotedValueRE = regexp.MustCompile(`'(?:[^']|'')*'`)
	pgInputRE     = regexp.MustCompile(`(syntax for type [^:]+: )"(?:[^"]|"")*"`)
	pgKeyRE       = regexp.MustCompile(`\)=\((?:[^)]*)\)`)
)

// redactValues masks the row values a database quotes in its messages
// (MySQL's Duplicate entry 'x', PostgreSQL's invalid input "x" and
// Key (c)=(x)) before a message is kept in shepherd's tables. It masks
// every quoted text, names too: the database's errors have their values
// masked already where they enter the engine (dberror.go), and so do the
// events; this is the tables' second guard.
func redactValues(text string) string {
	text = quotedValueRE.ReplaceAllString(text, "'…'")
	text = pgInputRE.ReplaceAllString(text, `$1"…"`)
	return pgKeyRE.ReplaceAllString(text, ")=(…)")
}
