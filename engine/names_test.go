package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFitName: generated names stay within 63 bytes, are cut on a character
// boundary, and two long names that share their start stay apart.
func TestFitName(t *testing.T) {
	if got := notNullCheckName("users", "email"); got != "shepherd_nn_users_email" {
		t.Errorf("a short name changed: %s", got)
	}
	long := "x" + strings.Repeat("é", 24)
	seen := map[string]string{}
	for _, col := range []string{"éé", "éè", "ée", strings.Repeat("a", 63), strings.Repeat("a", 62) + "b"} {
		name := notNullCheckName(long, col)
		if len(name) > 63 || !utf8.ValidString(name) {
			t.Errorf("%s.%s: %q is %d bytes, valid UTF-8: %v", long, col, name, len(name), utf8.ValidString(name))
		}
		if other, dup := seen[name]; dup {
			t.Errorf("%s and %s both get the check name %s", other, col, name)
		}
		seen[name] = col
	}
}

// TestRecordedDetail: with a key column that holds data, what shepherd's
// tables keep of a failure has no key value in it; with an integer key it
// is the error as the operator saw it.
func TestRecordedDetail(t *testing.T) {
	text := &Session{table: &Table{Columns: []Column{{Name: "email", Type: "varchar(100)"}}}, key: "email"}
	num := &Session{table: &Table{Columns: []Column{{Name: "id", Type: "bigint"}}}, key: "id"}
	errs := []error{
		&VerifyError{Phase: "clean", What: "no row should violate c", Count: 7, Sample: []string{"alice@x.example", "bob@x.example"}, Hint: "fix them"},
		fmt.Errorf("wrapped: %w", &VerifyError{Phase: "enforce", What: "no NULLs", Count: 1, Sample: []string{"alice@x.example"}}),
		&BatchError{Phase: "backfill", Range: "email > alice@x.example AND email <= bob@x.example", Checkpoint: "email alice@x.example", Err: errors.New("division by zero")},
		&InterruptedError{Phase: "backfill", Checkpoint: "email alice@x.example"},
		&VerifyError{Phase: "backfill", What: "rows should have nick filled", UpTo: "email alice@x.example", Count: 2, Sample: []string{"bob@x.example"}},
		errors.Join(errors.New("two things"), &BatchError{Phase: "clean", Range: "email <= bob@x.example", Err: errors.New("boom")}, &InterruptedError{Phase: "clean", Checkpoint: "email alice@x.example"}),
		fmt.Errorf("%w; and dropping it again failed: %v", &VerifyError{Phase: "add-constraint", What: "orphans", Count: 1, Sample: []string{"alice@x.example"}}, errors.New("gone")),
	}
	for _, err := range errs {
		got := text.recordedDetail(err)
		if strings.Contains(got, "@x.example") {
			t.Errorf("recorded %q", got)
		}
		if num.recordedDetail(err) != err.Error() {
			t.Errorf("an integer key changed %q", err.Error())
		}
	}
	for i, want := range map[int]string{
		0: "clean: verification failed: no row should violate c (7 rows; keys not recorded: the key column holds data); fix them",
		2: "backfill: a batch (keys not recorded: the key column holds data) failed: division by zero; the checkpoint stays where it was: fix the rows in that range, then rerun to resume",
		3: "backfill: interrupted; the checkpoint is kept and a rerun resumes from it",
		4: "backfill: verification failed: rows should have nick filled up to the walk's checkpoint (2 rows; keys not recorded: the key column holds data)",
		6: "add-constraint: verification failed: orphans (1 row; keys not recorded: the key column holds data); and dropping it again failed: gone",
	} {
		if got := text.recordedDetail(errs[i]); got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
	if got := errs[4].Error(); got != "backfill: verification failed: rows should have nick filled up to email alice@x.example (2 rows; keys bob@x.example, …)" {
		t.Errorf("the operator's text: %q", got)
	}
	// A wrapper that rewrote a keyed error's text is not kept: only the
	// keyed error's text without keys is.
	rewritten := rewrap{errs[0]}
	if got := text.recordedDetail(rewritten); got != text.recordedDetail(errs[0]) {
		t.Errorf("got %q", got)
	}
}

// rewrap wraps an error with a text that does not hold the wrapped one's.
type rewrap struct{ err error }

func (r rewrap) Error() string { return strings.ToUpper(r.err.Error()) }
func (r rewrap) Unwrap() error { return r.err }
