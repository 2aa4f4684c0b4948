package engine

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ptoscAlter is the change as pt-online-schema-change makes it. pt-osc
// copies the table into a new one and keeps it in step with triggers,
// copying only the columns both tables have: it cannot fill a new column
// from an expression in its copy. The honest equivalent is a DEFAULT
// expression (MariaDB 10.2+ lets a DEFAULT read the row's other columns):
// each copied row, and each row the triggers or old code insert, gets
// email = lower(username)@example.com as it is written, and the column is
// NOT NULL from the swap on. The default is then dropped (an instant,
// metadata-only ALTER), leaving the same table as the limit and shepherd
// leave. MySQL 8 refuses a DEFAULT that names another column; there the
// copy would need a STORED generated column and a second copy to make it
// an ordinary one.
const ptoscAlter = "ADD COLUMN email varchar(255) NOT NULL DEFAULT (concat(lower(username), '@example.com'))"

// ptoscSide is pt-online-schema-change making the change, or a skip when
// it is not installed (Debian: apt-get install percona-toolkit).
func ptoscSide(b *testing.B) side {
	path, err := exec.LookPath("pt-online-schema-change")
	if err != nil {
		b.Skip("pt-online-schema-change is not on PATH (Debian: apt-get install percona-toolkit): the shadow-copy comparison is skipped")
	}
	return side{name: "pt-osc", run: func(ctx context.Context, b *testing.B, env *playbookEnv, w *playbookWriter) sideFigures {
		u, err := url.Parse(env.db.DSN)
		if err != nil {
			b.Fatalf("the test database's DSN does not parse")
		}
		dsn := []string{"h=" + u.Hostname(), "u=" + u.User.Username(), "D=" + strings.TrimPrefix(u.Path, "/"), "t=users"}
		if p := u.Port(); p != "" {
			dsn = append(dsn, "P="+p)
		}
		if pw, ok := u.User.Password(); ok {
			dsn = append(dsn, "p="+pw)
		}
		var f sideFigures
		start := time.Now()
		// At its defaults (chunks of 0.5 s, --max-load Threads_running=25),
		// without replicas to look for.
		cmd := exec.CommandContext(ctx, path, "--alter", ptoscAlter, "--execute", "--recursion-method=none", strings.Join(dsn, ","))
		out, err := cmd.CombinedOutput()
		f.phases = append(f.phases, phaseTime{"copy", time.Since(start)})
		if err != nil {
			b.Fatalf("pt-online-schema-change: %v\n%s", err, out)
		}
		t := time.Now()
		env.db.Exec("ALTER TABLE users ALTER COLUMN email DROP DEFAULT, ALGORITHM=INSTANT")
		f.phases = append(f.phases, phaseTime{"drop-default", time.Since(t)})
		f.total = time.Since(start)
		return f
	}}
}
