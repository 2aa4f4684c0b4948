package export

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/templates"
)

// inline writes a statement's values into its text, for a file that runs
// without shepherd to bind them: only values fixed when the statement was
// rendered (a table's name in a catalog probe), as SQL literals. A
// placeholder inside a quoted string or identifier is left alone.
func inline(st templates.Statement, dialect string) string {
	if len(st.Params) == 0 {
		return st.SQL
	}
	var b strings.Builder
	s := st.SQL
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(s) {
				j = len(s) - 1
			}
			b.WriteString(s[i : j+1])
			i = j
		case c == '?' && !factsOf(dialect).dollarPlaceholders || c == '$' && factsOf(dialect).dollarPlaceholders && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			if factsOf(dialect).dollarPlaceholders {
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
		default:
			b.WriteByte(c)
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
