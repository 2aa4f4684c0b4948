package phases

import (
	"strings"
	"testing"
)

const changeTypePlan = `name: orders-id-bigint
playbook: change-column-type
table: orders
column: id
type: {postgres: bigint, mysql: bigint, sqlite: integer}
`

func TestChangeTypePlanParses(t *testing.T) {
	p, err := Parse("plan.yaml", []byte(changeTypePlan))
	if err != nil {
		t.Fatal(err)
	}
	ct := p.ChangeType
	if ct == nil || ct.Column != "id" || ct.ShadowName() != "id_shepherd_new" || ct.OldName() != "id_shepherd_old" {
		t.Fatalf("spec = %+v", ct)
	}
	if p.NewColumn() != "id_shepherd_new" || p.OldColumn() != "id_shepherd_old" {
		t.Errorf("NewColumn %q, OldColumn %q", p.NewColumn(), p.OldColumn())
	}
	if u, _ := ct.UsingFor(Postgres, func(s string) string { return `"` + s + `"` }); u != `"id"` {
		t.Errorf("default using = %q, want the column (cast where it is used)", u)
	}
	does := p.In(Postgres).Expand(p.PlaybookDef().Phases[3].Does)
	for _, want := range []string{"id_shepherd_new", "id_shepherd_old", "one short transaction"} {
		if !strings.Contains(does, want) {
			t.Errorf("swap's text %q lacks %q", does, want)
		}
	}
	// sync: database is the playbook's only mode: saying it changes
	// nothing, and nothing of it is hashed.
	q, err := Parse("plan.yaml", []byte(changeTypePlan+"sync: database\n"))
	if err != nil {
		t.Fatal(err)
	}
	if q.Hash() != p.Hash() {
		t.Errorf("sync: database changed the hash")
	}
	r, err := Parse("plan.yaml", []byte(changeTypePlan+"using: \"id::bigint\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Hash() == p.Hash() {
		t.Errorf("using: did not change the hash")
	}
}

// Each problem names its field.
func TestChangeTypePlanRejects(t *testing.T) {
	base := "name: t\nplaybook: change-column-type\ntable: orders\n"
	long := strings.Repeat("c", 60)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no column", base + "type: bigint\n", "column: is missing"},
		{"no type", base + "column: id\n", "type: is missing"},
		{"shadow too long", base + "column: " + long + "\ntype: bigint\n", "column: \"" + long + "\" is too long for its shadow column"},
		{"sync app", base + "column: id\ntype: bigint\nsync: app\n", "sync: app is not a mode of change-column-type"},
		{"sync other", base + "column: id\ntype: bigint\nsync: sometimes\n", "sync: \"sometimes\" is not a sync mode"},
		{"two statements", base + "column: id\ntype: bigint\nusing: \"1; DROP TABLE orders\"\n", "using: \"1; DROP TABLE orders\""},
		{"reverse statement", base + "column: id\ntype: bigint\nreverse: \"1; DROP TABLE orders\"\n", "reverse: \"1; DROP TABLE orders\""},
		{"using the shadow", base + "column: id\ntype: bigint\nusing: id_shepherd_new\n", "using: \"id_shepherd_new\" is the shadow column itself"},
		{"backfill", base + "column: id\ntype: bigint\nbackfill: \"1\"\n", "backfill: is not used by the change-column-type playbook"},
		{"to", base + "column: id\ntype: bigint\nto: x\n", "to: is not used by the change-column-type playbook"},
		{"using elsewhere", "name: t\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: \"1\"\nusing: \"x\"\n", "using: is not used by the add-column playbook"},
		{"reverse elsewhere", "name: t\nplaybook: drop-column\ntable: users\ncolumn: email\nreverse: \"x\"\n", "reverse: is not used by the drop-column playbook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("plan.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
