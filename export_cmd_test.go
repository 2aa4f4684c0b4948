package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shepherd export through the command line: what it writes, and the exit
// codes of what it refuses (2: nothing written).

func runExport(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"export"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestExportCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "migrations")
	code, out, errOut := runExport(t, "examples/users-email.yaml", "--dialect", "postgres", "--format", "goose", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"wrote " + filepath.Join(dir, "00001_users-email_add-column.sql"), "users-email.shepherd.md"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if got := len(dirFiles(t, dir)); got != 5 {
		t.Errorf("%d files in the folder, want 5 (add-column, enforce in three, the notes)", got)
	}

	// Again into the same folder: refused without --force, nothing changed.
	before, _ := os.ReadFile(filepath.Join(dir, "00001_users-email_add-column.sql"))
	code, _, errOut = runExport(t, "examples/users-email.yaml", "--dialect", "mysql", "--format", "goose", "--dir", dir)
	if code != 2 || !strings.Contains(errOut, "give --force") {
		t.Errorf("into a folder with files: exit %d, %q; want 2 and the way out", code, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "00001_users-email_add-column.sql"))
	if !bytes.Equal(before, after) {
		t.Error("a refused export changed a file")
	}
	// With --force, the plan's earlier export is replaced (MySQL's enforce
	// is one migration): its other files are removed, and said so.
	code, out, errOut = runExport(t, "examples/users-email.yaml", "--dialect", "mysql", "--format", "goose", "--dir", dir, "--force")
	if code != 0 || !strings.Contains(out, "removed "+filepath.Join(dir, "00003_users-email_enforce-2-of-3.sql")) {
		t.Fatalf("--force: exit %d\n%s%s", code, out, errOut)
	}
	// add-column keeps its version; the one enforce migration is new, so
	// it comes after every version the earlier export used (a tool may
	// have recorded 00002 as applied: reusing it would skip this one).
	if got := strings.Join(dirFiles(t, dir), " "); got != "00001_users-email_add-column.sql 00005_users-email_enforce.sql users-email.shepherd.md" {
		t.Errorf("after --force: %s", got)
	}
}

func TestExportRefusals(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: Bad Name\nplaybook: add-column\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"examples/users-email.yaml", "--dialect", "postgres", "--format", "flyway"}, `--format "flyway": use goose, golang-migrate, drizzle, plain`},
		{"unknown dialect", []string{"examples/users-email.yaml", "--dialect", "oracle"}, `--dialect "oracle"`},
		{"no dialect", []string{"examples/users-email.yaml"}, "export needs --dialect"},
		{"no plan", []string{"--dialect", "postgres"}, "export takes one plan file"},
		{"invalid plan", []string{bad, "--dialect", "postgres"}, "bad.yaml"},
		{"SQL needs the live table", []string{"examples/users-email.yaml", "--dialect", "sqlite"}, "cannot export users-email for sqlite"},
		{"rename without type", []string{"examples/users-full-name.yaml", "--dialect", "mysql"}, "give type: in the plan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			args := append(c.args, "--dir", dir)
			code, _, errOut := runExport(t, args...)
			if code != 2 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, c.want)
			}
			if files := dirFiles(t, dir); len(files) > 0 {
				t.Errorf("a refused export wrote %v", files)
			}
		})
	}
	code, _, errOut := runExport(t, "examples/users-email.yaml", "--dialect", "postgres")
	if code != 2 || !strings.Contains(errOut, "--dir") {
		t.Errorf("without --dir: exit %d, %q", code, errOut)
	}
}
