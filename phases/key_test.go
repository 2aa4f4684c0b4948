package phases

import (
	"strings"
	"testing"
)

const keyPlanHead = "name: p\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: \"'x'\"\n"

// A single key keeps the canonical form (and hash) plans always had,
// however it is written; a composite key is a list there.
func TestKeyCanonical(t *testing.T) {
	single := mustParse(t, keyPlanHead+"key: id\n")
	listOfOne := mustParse(t, keyPlanHead+"key: [id]\n")
	none := mustParse(t, keyPlanHead)
	composite := mustParse(t, keyPlanHead+"key: [tenant_id, id]\n")
	if !strings.Contains(string(single.Canonical()), `"key":"id"`) {
		t.Errorf("single key canonical = %s, want \"key\":\"id\"", single.Canonical())
	}
	if listOfOne.Hash() != single.Hash() || listOfOne.Key != "id" || listOfOne.Keys != nil {
		t.Errorf("key: [id] = Key %q Keys %v hash %s, want key: id's (hash %s)", listOfOne.Key, listOfOne.Keys, listOfOne.Hash(), single.Hash())
	}
	if strings.Contains(string(none.Canonical()), `"key"`) {
		t.Errorf("no key canonical = %s, want no key field", none.Canonical())
	}
	if got := string(composite.Canonical()); !strings.Contains(got, `"key":["tenant_id","id"]`) {
		t.Errorf("composite canonical = %s, want \"key\":[\"tenant_id\",\"id\"]", got)
	}
	if composite.Key != "" || strings.Join(composite.KeyColumns(), ",") != "tenant_id,id" {
		t.Errorf("composite: Key %q KeyColumns %v", composite.Key, composite.KeyColumns())
	}
	if composite.Hash() == single.Hash() {
		t.Error("composite and single key hash alike")
	}
	// Recorded and parsed again, the composite key is no edit.
	fields, err := EditedFields(composite.Canonical(), composite, "postgres")
	if err != nil || len(fields) != 0 {
		t.Errorf("EditedFields(composite, itself) = %v, %v; want none", fields, err)
	}
	fields, _ = EditedFields(single.Canonical(), composite, "postgres")
	if strings.Join(fields, ",") != "key" {
		t.Errorf("EditedFields(single → composite) = %v, want [key]", fields)
	}
}

func TestKeyRefused(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"[tenant_id, tenant_id]", `names "tenant_id" twice`},
		{"[tenant_id, \"lower(id)\"]", `"lower(id)"`},
		{"[]", "list is empty"},
		{"{a: b}", "expected a column name"},
		{"[[a]]", "list of column names"},
	} {
		_, err := parse(t, "p.yaml", keyPlanHead+"key: "+tc.key+"\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("key: %s: err = %v, want %q", tc.key, err, tc.want)
		}
	}
}
