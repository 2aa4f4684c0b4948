package phases

import (
	"strings"
	"testing"
)

const replicaPlanHead = `name: users-email
playbook: add-column
table: users
column: email
type: text
backfill: "lower(username)"
`

// The replicas: list is read as given, and left out of the plan's hash:
// it says where the plan runs, not what it does.
func TestPlanReplicas(t *testing.T) {
	bare, err := Parse("plan.yaml", []byte(replicaPlanHead))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("plan.yaml", []byte(replicaPlanHead+"replicas: [mysql://repl@db-r1:3307, mariadb://db-r2]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Replicas, " "); got != "mysql://repl@db-r1:3307 mariadb://db-r2" {
		t.Errorf("replicas = %q", got)
	}
	if p.Hash() != bare.Hash() {
		t.Errorf("the replicas changed the plan's hash")
	}
}

// A replica that is not a URL of a host, holds a password or is listed
// twice is refused, and a password is never quoted.
func TestPlanReplicasRefused(t *testing.T) {
	for _, c := range []struct{ list, want string }{
		{"[postgres://db-r1]", "entry 1 is not a mysql:// or mariadb:// URL"},
		{"[repl:Secr3tPw@tcp(db-r1:3306)/db]", "entry 1 is not a mysql:// or mariadb:// URL"},
		{"[mysql://repl:Secr3tPw@db-r1]", "entry 1 holds a password"},
		{`["mysql://repl@db-r1?password=Secr3tPw"]`, "entry 1 holds a password"},
		{"[mysql://db-r1/shop]", "names more than a host and port"},
		{"[mysql://db-r1:3307, mysql://repl@db-r1:3307]", "entry 2 db-r1:3307 is listed twice"},
		{"mysql://db-r1", "replicas"},
	} {
		_, err := Parse("plan.yaml", []byte(replicaPlanHead+"replicas: "+c.list+"\n"))
		if err == nil {
			t.Errorf("%s: accepted", c.list)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.list, err, c.want)
		}
		if strings.Contains(err.Error(), "Secr3tPw") {
			t.Errorf("%s: the error shows the password: %v", c.list, err)
		}
	}
}
