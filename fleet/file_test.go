package fleet

import (
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseExpandsTemplatesAndOrdersGroups(t *testing.T) {
	f, err := Parse([]byte(`
concurrency: 3
on_failure: continue
groups: [canary, rest]
targets:
  - name: shard-{{.N}}
    db: mysql://app:${SHARD_PW}@shard-{{.N}}:3306/app
    range: {from: 1, to: 3}
    group: rest
  - name: region-{{.N}}
    db: host={{.N}}.db.internal dbname=app user=app password=${PG_PW}
    each: [eu, us]
  - name: canary
    db: sqlite:canary.db
    group: canary
`), env(map[string]string{"SHARD_PW": "s3cr3t-pw", "PG_PW": "pg-{{.N}}-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Concurrency != 3 || f.OnFailure != Continue {
		t.Errorf("concurrency %d, on_failure %s", f.Concurrency, f.OnFailure)
	}
	var names []string
	for i, tg := range f.Targets {
		names = append(names, tg.Name+"/"+tg.Group)
		if tg.Index != i {
			t.Errorf("%s has index %d at %d", tg.Name, tg.Index, i)
		}
	}
	want := "canary/canary shard-1/rest shard-2/rest shard-3/rest region-eu/ region-us/"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("targets in run order:\n got %s\nwant %s", got, want)
	}
	// The environment's values never go through the template: a password
	// holding {{.N}} stays as it is.
	if got := f.Targets[2].DSN(); got != "mysql://app:s3cr3t-pw@shard-2:3306/app" {
		t.Errorf("shard-2's DSN: %s", got)
	}
	if got := f.Targets[4].DSN(); got != "host=eu.db.internal dbname=app user=app password=pg-{{.N}}-secret" {
		t.Errorf("region-eu's DSN: %s", got)
	}
	if got := f.Targets[4].Short(); got != "postgres eu.db.internal/app" {
		t.Errorf("region-eu short: %s", got)
	}
	if s := f.Targets[4].Scrub("failed: " + f.Targets[4].DSN()); strings.Contains(s, "pg-{{.N}}-secret") {
		t.Errorf("scrub left the password: %s", s)
	}
	sel, err := f.Select("rest", 1, "")
	if err != nil || len(sel) != 1 || sel[0].Name != "shard-2" {
		t.Errorf("--group rest --target-index 1: %v %v", sel, err)
	}
	if _, err := f.Select("", 6, ""); err == nil {
		t.Error("--target-index past the end is accepted")
	}
	if sel, err := f.Select("", -1, "region-us"); err != nil || sel[0].Name != "region-us" {
		t.Errorf("--target region-us: %v %v", sel, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown field", "targets: [{name: a, db: 'sqlite:a.db', dbs: x}]", "field dbs not found"},
		{"unset variable", "targets: [{name: a, db: 'mysql://u:${NOPE}@h/db'}]", "NOPE is not set"},
		{"two of a name", "targets: [{name: a, db: 'sqlite:a.db'}, {name: a, db: 'sqlite:b.db'}]", "two targets are named a"},
		{"range without N", "targets: [{name: a, db: 'sqlite:a.db', range: {from: 1, to: 2}}]", "needs {{.N}}"},
		{"unknown group", "groups: [x]\ntargets: [{name: a, db: 'sqlite:a.db', group: y}]", "not in groups"},
		{"bad policy", "on_failure: maybe\ntargets: [{name: a, db: 'sqlite:a.db'}]", "use stop"},
		{"no targets", "concurrency: 2", "no targets"},
		{"bad dsn", "targets: [{name: a, db: 'oracle://u:hunter22@h/db'}]", "target a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
