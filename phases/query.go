package phases

import (
	"fmt"
	"strings"
)

// CheckQuery reports why q cannot be add-index's query:, the statement the
// index is for. shepherd only asks the database for its plan of it (EXPLAIN,
// which does not run it), but the text is spliced after EXPLAIN, so it is
// held to one read-only query: a SELECT (or WITH … SELECT), with no ';'
// inside, no comment, and none of the words that write.
func CheckQuery(q string) error {
	s := strings.TrimSuffix(strings.TrimSpace(q), ";")
	toks, err := scanExpr(s)
	if err != nil {
		return err
	}
	if len(toks) == 0 || !isWord(toks[0], "SELECT", "WITH") {
		return fmt.Errorf("is not a query: it must start with SELECT or WITH")
	}
	for _, t := range toks {
		if isWord(t, "INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "COPY", "CALL", "TRUNCATE", "DROP", "ALTER", "CREATE", "GRANT", "LOCK") {
			return fmt.Errorf("contains %s: give the SELECT the index is for, which shepherd only EXPLAINs", strings.ToUpper(t.text))
		}
	}
	return nil
}

// IndexMethods lists the index methods add-index's using: takes
// (PostgreSQL's built-in ones).
func IndexMethods() []string { return []string{"btree", "hash", "gist", "spgist", "gin", "brin"} }
