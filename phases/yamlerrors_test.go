package phases

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every problem of the plan's shape is reported at once, each at its
// node's line and column with its field's path, in the file's order; an
// anchor's value is checked where an alias uses it.
func TestParseReportsEveryShapeProblemAtItsNode(t *testing.T) {
	plan := "name: users-email\n" +
		"playbook: add-column\n" +
		"table: users\n" +
		"colour: blue\n" +
		"column: email\n" +
		"type: &t [text]\n" +
		"backfill: \"lower(username)\"\n" +
		"to: *t\n" +
		"not_null: maybe\n" +
		"constraint:\n" +
		"  name: c\n" +
		"  references: {table: users, colums: [id]}\n" +
		"  name: d\n"
	_, err := Parse("p.yaml", []byte(plan))
	var pes PlanErrors
	if !errors.As(err, &pes) {
		t.Fatalf("error %v, want PlanErrors", err)
	}
	var got []string
	for _, pe := range pes {
		got = append(got, fmt.Sprintf("%d:%d %s", pe.Line, pe.Column, pe.Field))
	}
	want := []string{"4:1 colour", "6:7 type", "8:5 to", "9:11 not_null", "12:30 constraint.references.colums", "13:3 constraint.name"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("problems at %q, want %q:\n%v", got, want, err)
	}
}
