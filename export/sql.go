package export

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/internal/sqllex"
	"github.com/shepherd-db/shepherd/templates"
)

// inline writes a statement's values into its text, for a file that runs
// without shepherd to bind them: only values fixed when the statement was
// rendered (a table's name in a catalog probe), as SQL literals. A
// placeholder inside a quoted string or identifier, or a comment, is left
// alone.
func inline(st templates.Statement, dialect string) string {
	if len(st.Params) == 0 {
		return st.SQL
	}
	dollar := factsOf(dialect).dollarPlaceholders
	var b strings.Builder
	n := 0
	for _, t := range sqllex.Lex(st.SQL, sqllex.Statement) {
		if t.Kind == sqllex.String || t.Kind == sqllex.Quoted || t.Kind == sqllex.Comment {
			b.WriteString(t.Text)
			continue
		}
		// A placeholder is ? or $ and digits, which the Statement syntax
		// keeps within one token (a Punct, or a Word of $ and digits).
		s := t.Text
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c == '?' && !dollar || c == '$' && dollar && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
				b.WriteByte(c)
				continue
			}
			if dollar {
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				n, _ = strconv.Atoi(s[i+1 : j])
				n--
				i = j - 1
			}
			if n >= 0 && n < len(st.Params) && st.Params[n].Fixed {
				b.WriteString(literal(st.Params[n].Value, dialect))
			} else {
				b.WriteString("<" + paramName(st.Params, n) + ">")
			}
			n++
		}
	}
	return b.String()
}

func paramName(ps []templates.Param, n int) string {
	if n >= 0 && n < len(ps) {
		return ps[n].Name
	}
	return "value"
}

// literal is a value as an SQL literal.
func literal(v any, dialect string) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	case string:
		s := strings.ReplaceAll(x, "'", "''")
		if factsOf(dialect).backslashEscapes {
			s = strings.ReplaceAll(s, `\`, `\\`)
		}
		return "'" + s + "'"
	}
	return literal(fmt.Sprint(v), dialect)
}

// comment turns text into SQL comment lines, wrapped at about 100 columns,
// each line starting with prefix after "-- ".
func comment(text string, prefix string) []string {
	const width = 100
	var out []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			out = append(out, "--")
			continue
		}
		line := "-- " + prefix
		first := true
		for _, w := range words {
			if !first && len(line)+1+len(w) > width {
				out = append(out, line)
				line = "-- " + strings.Repeat(" ", len(prefix))
				first = true
			}
			if !first {
				line += " "
			}
			line += w
			first = false
		}
		out = append(out, line)
	}
	return out
}

// stepLines is one statement of a migration: its locks and, where shepherd
// has one, its rerun probe in comments above it. It ends without the
// statement's terminator.
func stepLines(st templates.Step, dialect string) (lines []string, sql string) {
	lock := st.Lock
	if lock == "" {
		lock = "as the statement above"
	}
	lines = comment(lock, "locks: ")
	if st.Applied != nil {
		lines = append(lines, "-- shepherd's rerun skips this statement when this query finds it done (non-zero):")
		lines = append(lines, comment(inline(*st.Applied, dialect), "  ")...)
	}
	return lines, strings.TrimSpace(st.SQL)
}
