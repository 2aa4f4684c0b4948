package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestDSNMasksEveryPassword(t *testing.T) {
	cases := []struct{ dsn, secret, shown string }{
		{"postgres://app:hunter2@db:5432/app?sslmode=require", "hunter2", "postgres://app:***@db:5432/app?sslmode=require"},
		{"postgres://app@db/app?password=hunter2", "hunter2", "postgres://app@db/app?password=***"},
		{"postgresql://app@db/app?sslpassword=hunter2&sslmode=verify-full", "hunter2", "postgresql://app@db/app?sslmode=verify-full&sslpassword=***"},
		{"mysql://root:hunter2@127.0.0.1:3306/test", "hunter2", "mysql://root:***@127.0.0.1:3306/test"},
		{"mysql://root:p%40ss%2Fhunter2@h/db", "p@ss/hunter2", "mysql://root:***@h/db"},
	}
	for _, tc := range cases {
		d, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		if got := d.String(); got != tc.shown {
			t.Errorf("String(%s) = %s, want %s", tc.dsn, got, tc.shown)
		}
		// A driver error may quote the DSN, or the password raw or escaped.
		for _, leak := range []string{tc.dsn, tc.secret} {
			msg := d.scrub(errors.New("connect: " + leak + ": refused")).Error()
			if strings.Contains(msg, "hunter2") {
				t.Errorf("scrub left the password of %s in %q", tc.dsn, msg)
			}
		}
	}
	// A password that decodes to bytes that are no text (%FF) is masked
	// as those bytes, and as the DSN spells it.
	d, err := ParseDSN("postgres://app:hun%FFter2@db/app")
	if err != nil {
		t.Fatal(err)
	}
	if msg := d.scrub(errors.New("auth: hun\xffter2 / hun%FFter2 refused")).Error(); strings.Contains(msg, "hun") {
		t.Errorf("scrub left the password in %q", msg)
	}
	// A DSN that does not parse is not echoed with its password.
	if _, err := ParseDSN("postgres://u:hunter2@host:badport/db"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unparseable DSN: %v", err)
	}
}

// TestUnreadDSNNotEchoed: a DSN shepherd does not read is not shown at all,
// not even masked (a form shepherd does not read is one it cannot tell the
// password of): the message names its form and how to write it instead.
func TestUnreadDSNNotEchoed(t *testing.T) {
	const pw = "Sekr3tPa55"
	cases := []struct{ dsn, form string }{
		{"Host=h User=u Password=Sekr3tPa55 dbname=d", "does not start with one of libpq's keywords"},
		{"pwd=Sekr3tPa55 host=h", "does not start with one of libpq's keywords"},
		{"u:Sekr3tPa55@h:3306/db", "it has no scheme"},
		{"Server=h;Database=d;User Id=u;Password=Sekr3tPa55;", "it is a Key=Value; connection string"},
		{"Server=h;PWD=Sekr3tPa55;Uid=u", "it is a Key=Value; connection string"},
		{"oracle://scott:Sekr3tPa55@db/orcl", "its scheme, oracle://, is not a database shepherd changes"},
		// read as key=value and go-sql-driver's form, and refused there
		{"host=h user=u password=Sekr3t Pa55 dbname=d", "single quotes"},
		{"host=h user=u password='Sekr3t Pa55 dbname=d", "no closing '"},
		{"host=h user=u password=Sekr3t Pa55=x", "a keyword libpq does not read"},
		{"host=h port=Sekr3tPa55", "cannot be read by PostgreSQL's driver"},
		{"u:Sekr3tPa55@tcp(127.0.0.1:3306", "has no ) after its address"},
		{"u:Sekr3tPa55@tcp(127.0.0.1:3306)db", "has no /database"},
		{"u:Sekr3tPa55@tcp(127.0.0.1:3306)/db?timeout=Sekr3tPa55", "cannot be read by MySQL's driver"},
		{"u:Sekr3tPa55@tcp(127.0.0.1:3306)/db?tls=Sekr3tPa55", "tls= value is not one shepherd reads"},
	}
	for _, tc := range cases {
		_, err := ParseDSN(tc.dsn)
		if err == nil {
			t.Fatalf("%s: parsed", tc.dsn)
		}
		if strings.Contains(err.Error(), "Sekr3t") || strings.Contains(err.Error(), "Pa55") {
			t.Errorf("%s: the message shows the password: %v", tc.dsn, err)
		}
		for _, part := range []string{"host=h", "127.0.0.1", "h:3306", "Server=h", "scott", "orcl", "***"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%s: the message shows %q of the DSN: %v", tc.dsn, part, err)
			}
		}
		if !strings.Contains(err.Error(), tc.form) {
			t.Errorf("%s: want the message to say %q: %v", tc.dsn, tc.form, err)
		}
	}
	// url's own errors quote what they stumbled on: a piece of the password.
	for _, dsn := range []string{"postgres://u:Sekr3t%Pa55@h/db", "mysql://u:Sekr3t%Pa55@h/db", "postgres://u:Sekr3tPa55@h:Pa55/db",
		"postgres://u:Sekr3t Pa55@h/db", "postgres://u:Sekr3t\x01Pa55@h/db"} {
		_, err := ParseDSN(dsn)
		if err == nil {
			t.Fatalf("%s: parsed", dsn)
		}
		for i := 0; i+3 <= len(pw); i++ {
			if strings.Contains(err.Error(), pw[i:i+3]) {
				t.Errorf("%s: the message has %q of the password: %v", dsn, pw[i:i+3], err)
			}
		}
	}
	if _, err := ParseDSN("postgres://u:Sekr3t%Pa55@h/db"); err == nil || !strings.Contains(err.Error(), "%25") {
		t.Errorf("a bad escape should say how to write a %%: %v", err)
	}
}

func TestRedactValues(t *testing.T) {
	cases := []struct{ in, out string }{
		{"Error 1062 (23000): Duplicate entry 'ada@example.com' for key 'users_email_key'", "Error 1062 (23000): Duplicate entry '…' for key '…'"},
		{`ERROR: invalid input syntax for type integer: "Alice" (SQLSTATE 22P02)`, `ERROR: invalid input syntax for type integer: "…" (SQLSTATE 22P02)`},
		{`Key (email)=(ada@example.com) already exists.`, `Key (email)=(…) already exists.`},
		{`null value in column "email" of relation "users" violates not-null constraint`, `null value in column "email" of relation "users" violates not-null constraint`},
		{"backfill: the batch id > 600 AND id <= 700 failed", "backfill: the batch id > 600 AND id <= 700 failed"},
	}
	for _, tc := range cases {
		if got := redactValues(tc.in); got != tc.out {
			t.Errorf("redactValues(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}
