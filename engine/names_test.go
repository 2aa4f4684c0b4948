package engine

import (
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
