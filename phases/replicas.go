package phases

import (
	"fmt"
	"net/url"
	"strings"
)

// replicas: the MySQL/MariaDB replicas whose lag batched phases watch
// (--max-replica-lag), each a mysql:// or mariadb:// URL of a host and
// port, with a user or not:
//
//	replicas: [mysql://repl@db-replica-1:3306, mariadb://db-replica-2]
//
// A plan file is reviewed and committed: it holds no password. A replica
// is asked with the user the URL names, or else the --db DSN's, and with
// the --db DSN's password; replicas that need passwords of their own are
// given in SHEPHERD_REPLICAS instead. PostgreSQL's primary knows its
// standbys' lag itself: there the list is not used.
func (v *validator) replicas(list []string) {
	const fix = "write each replica as mysql://host:port or mysql://user@host:port"
	seen := map[string]bool{}
	for i, r := range list {
		add := func(problem, fix string) { v.add("replicas", fmt.Sprintf("entry %d %s", i+1, problem), fix) }
		scheme, _, ok := strings.Cut(r, "://")
		if !ok || (scheme != "mysql" && scheme != "mariadb") {
			// Not a word of it: it may be a DSN with a password.
			add("is not a mysql:// or mariadb:// URL", fix+" (PostgreSQL's standbys are read from the primary and need no list)")
			continue
		}
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || u.Opaque != "" {
			add("is not a URL of a host (the value is not shown, as it may hold a password)", fix)
			continue
		}
		if _, has := u.User.Password(); has || u.Query().Has("password") {
			add("holds a password: a plan file is committed and reviewed, and no password belongs in it (the value is not shown)",
				"leave the password out (the --db DSN's is used), or list the replicas with their passwords in the SHEPHERD_REPLICAS environment variable")
			continue
		}
		if u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
			add(fmt.Sprintf("%s names more than a host and port", u.Host), fix+": the lag is read from the replica's replication status, not a database")
			continue
		}
		if seen[u.Host] {
			add(fmt.Sprintf("%s is listed twice", u.Host), "list each replica once")
		}
		seen[u.Host] = true
	}
}
