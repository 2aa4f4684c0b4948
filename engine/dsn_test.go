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
	// A DSN that does not parse is not echoed with its password.
	if _, err := ParseDSN("postgres://u:hunter2@host:badport/db"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unparseable DSN: %v", err)
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
