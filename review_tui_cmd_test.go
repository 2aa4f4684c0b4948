package main

import (
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Outside a terminal, or with --non-interactive, review prints its report
// and exits as scripts expect; the TUI is for a terminal only.
func TestReviewNonInteractivePrintsTheReport(t *testing.T) {
	db := testdb.New(t, "postgres")
	t.Setenv("GITHUB_ACTIONS", "")
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"review/testdata/plain/002_unique_username.sql", "--non-interactive"}, exitFailed,
			[]string{"002_unique_username.sql:1: SHARE on users while its rows", ": 2 unsafe\n"}},
		{[]string{"review/testdata/plain", "--since", "003_safe.sql", "--non-interactive"}, exitOK,
			[]string{"rehearsed 11 statements in 1 new migration file: nothing unsafe\n"}},
		{[]string{"review/testdata/plain", "--since", "003_safe.sql"}, exitOK,
			[]string{": nothing unsafe\n"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runReview(t, append(append([]string{"review"}, tc.args...), "--db", db.DSN)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("the report does not say %q:\n%s", w, out)
				}
			}
		})
	}
}
