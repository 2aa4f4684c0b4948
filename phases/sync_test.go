package phases

import (
	"strings"
	"testing"
)

func TestSyncField(t *testing.T) {
	const rename = "name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"
	for _, c := range []struct {
		name, yaml string
		err        []string // what the error must say; none: valid
	}{
		{"database", rename + "sync: database\n", nil},
		{"app", rename + "sync: app\n", nil},
		{"bad value", rename + "sync: triggers\n", []string{"sync", `"triggers" is not a sync mode`, "app", "database"}},
		{"add-column", "name: users-email\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: \"lower(username)\"\nsync: database\n", []string{"sync", "not used by the add-column playbook", "rename-column"}},
		{"drop-column", "name: users-flag\nplaybook: drop-column\ntable: users\ncolumn: flag\nsync: app\n", []string{"sync", "not used by the drop-column playbook"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("plan.yaml", []byte(c.yaml))
			if len(c.err) == 0 {
				if err != nil {
					t.Fatalf("valid plan refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("plan accepted")
			}
			for _, want := range c.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestSyncHash: sync: app is the default, so a plan that says it keeps the
// hash of one without it; sync: database changes what the plan does, and
// its hash.
func TestSyncHash(t *testing.T) {
	const rename = "name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"
	hash := func(y string) string {
		p, err := Parse("plan.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return p.Hash()
	}
	plain, app, db := hash(rename), hash(rename+"sync: app\n"), hash(rename+"sync: database\n")
	if plain != app {
		t.Error("sync: app changed the plan's hash")
	}
	if plain == db {
		t.Error("sync: database left the plan's hash as it was")
	}
}

func TestSyncTailor(t *testing.T) {
	p, err := Parse("plan.yaml", []byte("name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\nsync: database\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range p.PlaybookDef().Phases {
		if ph.ID == "dual-write" {
			if !ph.Gate || !strings.Contains(ph.Does, "needs no deploy") {
				t.Errorf("dual-write with sync: database: gate %v, %q", ph.Gate, ph.Does)
			}
		}
	}
	for _, ph := range Playbooks()[RenameColumn].Phases {
		if ph.ID == "dual-write" && strings.Contains(ph.Does, "needs no deploy") {
			t.Error("the playbook without a plan says the database does the dual write")
		}
	}
}
