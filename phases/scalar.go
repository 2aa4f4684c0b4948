package phases

import (
	"fmt"
	"strings"
)

// CheckScalar reports why expr is not one value of one row: what a column
// takes in `UPDATE t SET col = (expr)`, which is how backfill:, clean: set:
// and constraint.violating are written (and change-column-type's using:,
// when that playbook comes). A SELECT list accepts more, and the database's
// own compile of `SELECT expr FROM t` let all of these through:
//
//   - a list: `a, b` (PostgreSQL made `username, '@example.com'` one row
//     value, "(alice,@example.com)", and wrote it into every row);
//   - every column: `*`, `t.*`;
//   - an alias: `x AS e`, `x e`;
//   - a query's words outside parentheses: DISTINCT or ALL first, FROM,
//     WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, UNION, INTERSECT, EXCEPT;
//   - an aggregate (`max(x)`, `count(*)`) or a window function (`… OVER
//     (…)`) outside a subquery: computed over many rows, not one.
//
// A scalar subquery in parentheses, `(SELECT max(amount) FROM orders WHERE
// orders.user_id = users.id)`, is one value of each row and is accepted:
// inside it, all of the above belong. The database checks that it gives one
// column; that it gives at most one row only shows when it runs (PostgreSQL
// and MySQL fail the batch, SQLite takes the first row), so write one that
// does (an aggregate, or LIMIT 1).
//
// This is the lexical half of the check, without a database: the engine has
// the database compile each expression as one value of its column's type
// before anything changes, which also catches what a lexer cannot know (a
// user-defined aggregate, a bare alias that is also a keyword).
func CheckScalar(expr string) error {
	toks, err := scanExpr(expr)
	if err != nil {
		return err
	}
	markSubqueries(toks)
	for _, check := range []func([]token) error{listOrQuery, windowOrAggregate, bareAlias} {
		if err := check(toks); err != nil {
			return fmt.Errorf("is not one value of one row: %w", err)
		}
	}
	return nil
}

// HasOperator reports whether op is an operator of expr, outside quoted
// text and names: MySQL reads || as OR unless told otherwise.
func HasOperator(expr, op string) bool {
	toks, err := scanExpr(expr)
	if err != nil {
		return false
	}
	for _, t := range toks {
		if t.kind == tokPunct && strings.Contains(t.text, op) {
			return true
		}
	}
	return false
}

// markSubqueries sets sub on every token inside a parenthesised query:
// one whose first word is SELECT, WITH or VALUES, or that starts with such a
// group (`((SELECT 1) UNION (SELECT 2))`).
func markSubqueries(toks []token) {
	match := map[int]int{}
	var open []int
	for i, t := range toks {
		switch {
		case t.kind == tokPunct && t.text == "(":
			open = append(open, i)
		case t.kind == tokPunct && t.text == ")" && len(open) > 0:
			match[open[len(open)-1]] = i
			open = open[:len(open)-1]
		}
	}
	isSub := map[int]bool{}
	// Inner groups open later: decide them first.
	for i := len(toks) - 1; i >= 0; i-- {
		end, ok := match[i]
		if !ok || i+1 >= end {
			continue
		}
		first := toks[i+1]
		if isWord(first, "SELECT", "WITH", "VALUES") || isSub[i+1] {
			isSub[i] = true
		}
	}
	for i, end := range match {
		if isSub[i] {
			for j := i + 1; j < end; j++ {
				toks[j].sub = true
			}
		}
	}
}

func isWord(t token, words ...string) bool {
	if t.kind != tokWord {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

func isPunct(t token, text string) bool { return t.kind == tokPunct && t.text == text }

// queryWords are a query's clauses: outside parentheses, the expression is
// a query, or the end of one, not a value.
var queryWords = []string{"SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT", "INTO"}

const subqueryHint = "to use other rows, read them in a scalar subquery in parentheses, such as (SELECT max(amount) FROM orders WHERE orders.user_id = users.id)"

// listOrQuery finds, at the top level, a list, every column, an alias or a
// query's words.
func listOrQuery(toks []token) error {
	for i, t := range toks {
		if t.depth > 0 {
			continue
		}
		prev := token{}
		if i > 0 {
			prev = toks[i-1]
		}
		switch {
		case isPunct(t, ","):
			msg := "it has a ',' outside parentheses, which makes a list of values, and a column takes one"
			if hasText(toks) {
				msg += "; to join texts into one, concatenate them: a || 'b' (MySQL: CONCAT(a, 'b'))"
			}
			return fmt.Errorf("%s", msg)
		case isPunct(t, "*") && (i == 0 || isPunct(prev, ".")):
			what := "*"
			if i >= 2 {
				what = toks[i-2].text + ".*"
			}
			return fmt.Errorf("%s is every column of the row, not one value; name the column, or write the expression that computes the value", what)
		case isWord(t, "AS"):
			alias := ""
			if i+1 < len(toks) {
				alias = " " + toks[i+1].text
			}
			return fmt.Errorf("it has an alias (AS%s), which names a column of a SELECT's result; the value goes into the plan's column: remove AS%s", alias, alias)
		case isWord(t, "DISTINCT", "ALL") && i == 0:
			return fmt.Errorf("%s belongs to a SELECT list, not to one row's value; remove it", strings.ToUpper(t.text))
		case isWord(t, "DISTINCT") && !isWord(prev, "IS", "NOT"):
			return fmt.Errorf("it has DISTINCT outside parentheses, which belongs to a SELECT list; remove it")
		case isWord(t, "FROM") && i >= 1 && isWord(prev, "DISTINCT"):
			// x IS [NOT] DISTINCT FROM y
		case isWord(t, "GROUP") && isWord(prev, "WITHIN"):
			return fmt.Errorf("%s WITHIN GROUP (…) is an aggregate, computed over many rows; %s", funcBefore(toks, i-1), subqueryHint)
		case isWord(t, queryWords...):
			word := strings.ToUpper(t.text)
			if i == 0 && word == "SELECT" {
				return fmt.Errorf("it is a query; a subquery is written in parentheses: (SELECT …), and gives one column of one row")
			}
			what := "a query's clause"
			if word == "UNION" || word == "INTERSECT" || word == "EXCEPT" {
				what = "it joins the rows of two queries"
			}
			return fmt.Errorf("it has %s outside parentheses (%s), and a column takes one value of one row; %s", word, what, subqueryHint)
		}
	}
	return nil
}

// hasText reports whether a top-level token is a quoted text.
func hasText(toks []token) bool {
	for _, t := range toks {
		if t.depth == 0 && t.kind == tokString {
			return true
		}
	}
	return false
}

// aggregates are the aggregate functions of the three dialects: each
// computes one value over many rows. (min and max with two or more
// arguments are SQLite's scalar functions.)
var aggregates = []string{
	"count", "sum", "avg", "min", "max", "total", "group_concat", "string_agg", "array_agg",
	"json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "json_arrayagg", "json_objectagg",
	"json_group_array", "json_group_object", "xmlagg", "bool_and", "bool_or", "every", "bit_and", "bit_or",
	"bit_xor", "std", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
	"covar_pop", "covar_samp", "corr", "mode", "percentile_cont", "percentile_disc", "any_value",
}

// windowFunctions exist only with OVER (…).
var windowFunctions = []string{
	"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
	"first_value", "last_value", "nth_value",
}

// windowOrAggregate finds a window function or an aggregate outside a
// subquery (inside a function's parentheses too: coalesce(max(x), 0) is
// computed over many rows as well).
func windowOrAggregate(toks []token) error {
	for i, t := range toks {
		if t.sub {
			continue
		}
		if isWord(t, "OVER") && i > 0 && isPunct(toks[i-1], ")") {
			return fmt.Errorf("%s OVER (…) is a window function, computed over other rows; %s", funcBefore(toks, i-1), subqueryHint)
		}
		if isWord(t, "FILTER") && i > 0 && isPunct(toks[i-1], ")") && i+1 < len(toks) && isPunct(toks[i+1], "(") {
			return fmt.Errorf("%s FILTER (…) is an aggregate, computed over many rows; %s", funcBefore(toks, i-1), subqueryHint)
		}
	}
	for i, t := range toks {
		if t.sub || i+1 >= len(toks) || !isPunct(toks[i+1], "(") {
			continue
		}
		if isWord(t, windowFunctions...) {
			return fmt.Errorf("%s(…) is a window function, computed over other rows; %s", t.text, subqueryHint)
		}
		if isWord(t, aggregates...) && !(isWord(t, "min", "max") && args(toks, i+1) >= 2) {
			return fmt.Errorf("%s(…) is an aggregate, computed over many rows, not from one row's columns; %s", t.text, subqueryHint)
		}
	}
	return nil
}

// funcBefore names the function whose call ends with the ')' at close.
func funcBefore(toks []token, close int) string {
	depth := 0
	for j := close; j >= 0; j-- {
		switch {
		case isPunct(toks[j], ")"):
			depth++
		case isPunct(toks[j], "("):
			depth--
			if depth == 0 && j > 0 && toks[j-1].kind == tokWord {
				return toks[j-1].text + "(…)"
			}
			if depth == 0 {
				return "(…)"
			}
		}
	}
	return "it"
}

// args counts the arguments of the call whose '(' is at open.
func args(toks []token, open int) int {
	n, depth := 1, toks[open].depth
	for j := open + 1; j < len(toks); j++ {
		t := toks[j]
		if t.depth == depth && isPunct(t, ")") {
			if j == open+1 {
				return 0
			}
			return n
		}
		if t.depth == depth+1 && isPunct(t, ",") {
			n++
		}
	}
	return n
}

// operandEnd are the keywords that end an operand, as a name or a value
// does: after one, a name would be an alias.
var operandEnd = []string{"NULL", "TRUE", "FALSE", "UNKNOWN", "END", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP"}

// notAlias are words that end an expression without being an alias:
// keywords, the words of multi-word type names (x::double precision),
// interval units (INTERVAL 1 DAY) and postfix operators (x ISNULL).
var notAlias = []string{
	"AND", "OR", "NOT", "IS", "IN", "LIKE", "ILIKE", "BETWEEN", "SYMMETRIC", "ASYMMETRIC", "SIMILAR", "TO", "ESCAPE",
	"COLLATE", "AT", "TIME", "ZONE", "WITH", "WITHOUT", "LOCAL", "PRECISION", "VARYING", "CASE", "WHEN", "THEN", "ELSE",
	"DIV", "MOD", "XOR", "REGEXP", "RLIKE", "GLOB", "MATCH", "SOUNDS", "ISNULL", "NOTNULL", "OVERLAPS", "ANY", "SOME",
	"EXISTS", "BINARY", "ARRAY", "ROW", "INTERVAL", "DOCUMENT", "NORMALIZED", "NFC", "NFD", "NFKC", "NFKD", "JSON",
	"OBJECT", "SCALAR", "MEMBER", "OF", "UNSIGNED", "SIGNED", "ZEROFILL",
	"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
	"SECOND_MICROSECOND", "MINUTE_MICROSECOND", "MINUTE_SECOND", "HOUR_MICROSECOND", "HOUR_SECOND", "HOUR_MINUTE",
	"DAY_MICROSECOND", "DAY_SECOND", "DAY_MINUTE", "DAY_HOUR", "YEAR_MONTH",
}

// bareAlias finds `x e`: an expression that ends with a name right after
// an operand. Only the last word is looked at, and only when it is no
// keyword of any dialect shepherd knows of, so that no expression is
// refused for a word this list lacks; the database refuses the rest.
func bareAlias(toks []token) error {
	n := len(toks)
	if n < 2 {
		return nil
	}
	last, prev := toks[n-1], toks[n-2]
	if last.depth > 0 || prev.depth > 0 && !isPunct(prev, ")") && !isPunct(prev, "]") {
		return nil
	}
	if !(last.kind == tokQuoted || last.kind == tokWord && !isWord(last, notAlias...) && !isWord(last, operandEnd...) && !isWord(last, queryWords...)) {
		return nil
	}
	ends := prev.kind == tokQuoted || prev.kind == tokString || prev.kind == tokNumber ||
		isPunct(prev, ")") || isPunct(prev, "]") ||
		prev.kind == tokWord && (isWord(prev, operandEnd...) || !isWord(prev, notAlias...) && !isWord(prev, queryWords...) && !isWord(prev, "DISTINCT", "ALL", "AS"))
	if !ends || isPunct(prev, ")") && operatorCall(toks, n-2) {
		return nil
	}
	return fmt.Errorf("it ends with %s after a value, which a SELECT reads as an alias (a name for its result column); the value goes into the plan's column: remove %s, or join it with an operator", last.text, last.text)
}

// operatorCall reports whether the ')' at close ends PostgreSQL's
// OPERATOR(schema.op), which stands between two operands.
func operatorCall(toks []token, close int) bool {
	depth := 0
	for j := close; j >= 0; j-- {
		switch {
		case isPunct(toks[j], ")"):
			depth++
		case isPunct(toks[j], "("):
			if depth--; depth == 0 {
				return j > 0 && isWord(toks[j-1], "OPERATOR")
			}
		}
	}
	return false
}
