// Package review reads a folder of migrations, rehearses its new statements
// on a scratch database (PostgreSQL, MySQL/MariaDB) or file (SQLite) beside
// the target and says which of them would lock, copy or rewrite a table in
// production, and how to do each safely with a shepherd playbook. Each
// dialect's rehearsal is in its rehearse_*.go file; what a finding is, and
// how a statement reads, is the same for all.
package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/internal/sqllex"
)

// Statement is one statement of a migration file.
type Statement struct {
	SQL  string
	Line int // 1-based line of its first word in the file
}

// File is one migration, its up direction only.
type File struct {
	Path       string // as found under the folder given
	Name       string // the base name
	Statements []Statement
}

// UsageError is a path or a --since that cannot be read as migrations.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Read reads the migrations under path in the order their tool runs them
// and says which are new: those from since (a file's name or path) on, or
// all when since is "". A path that is one file is the file's folder with
// that file as the only new one.
func Read(path, since string) (files []File, firstNew int, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, &UsageError{Msg: fmt.Sprintf("review %s: %v", path, errors.Unwrap(err))}
	}
	dir := path
	if !info.IsDir() {
		dir = filepath.Dir(path)
		if since != "" {
			return nil, 0, &UsageError{Msg: "--since goes with a folder: a single file is itself the new migration"}
		}
		since = path
	}
	names, err := order(dir)
	if err != nil {
		return nil, 0, err
	}
	if len(names) == 0 {
		return nil, 0, &UsageError{Msg: fmt.Sprintf("review %s: no migration files (.sql) found", path)}
	}
	firstNew = 0
	if since != "" {
		firstNew = slices.Index(names, filepath.Base(since))
		if firstNew < 0 && !info.IsDir() {
			return nil, 0, &UsageError{Msg: fmt.Sprintf("review %s: not one of the up migrations of %s (a .down.sql file, or one drizzle-kit's journal does not list)", path, dir)}
		}
		if firstNew < 0 {
			return nil, 0, &UsageError{Msg: fmt.Sprintf("--since %s: no such migration in %s", since, dir)}
		}
	}
	if !info.IsDir() {
		names = names[:firstNew+1]
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, 0, fmt.Errorf("read migration %s: %w", p, err)
		}
		files = append(files, File{Path: p, Name: n, Statements: Split(upSection(string(data)))})
	}
	return files, firstNew, nil
}

// order lists the migration files of dir as their tool runs them:
// drizzle-kit's meta/_journal.json order when there is one, else the .sql
// files by name (golang-migrate's and plain .down.sql files left out).
func order(dir string) ([]string, error) {
	if data, err := os.ReadFile(filepath.Join(dir, "meta", "_journal.json")); err == nil {
		var j struct {
			Entries []struct {
				Idx int    `json:"idx"`
				Tag string `json:"tag"`
			} `json:"entries"`
		}
		if err := json.Unmarshal(data, &j); err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("read %s: %v", filepath.Join(dir, "meta", "_journal.json"), err)}
		}
		slices.SortStableFunc(j.Entries, func(a, b struct {
			Idx int    `json:"idx"`
			Tag string `json:"tag"`
		}) int {
			return a.Idx - b.Idx
		})
		var names []string
		for _, e := range j.Entries {
			names = append(names, e.Tag+".sql")
		}
		return names, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &UsageError{Msg: fmt.Sprintf("review %s: %v", dir, errors.Unwrap(err))}
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".sql") || strings.HasSuffix(n, ".down.sql") {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// upSection is a goose file's -- +goose Up part (its other lines blanked,
// so that line numbers stay the file's); any other file is all up.
func upSection(text string) string {
	if !strings.Contains(text, "-- +goose Up") {
		return text
	}
	lines := strings.Split(text, "\n")
	up := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "-- +goose Up"):
			up = true
			lines[i] = ""
			continue
		case strings.HasPrefix(t, "-- +goose Down"):
			up = false
		}
		if !up {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// Split cuts SQL text into statements at the semicolons and drizzle-kit's
// "--> statement-breakpoint" lines outside quotes, comments and $$ bodies.
func Split(text string) []Statement {
	var out []Statement
	start := 0
	emit := func(end int) {
		if s, line := trimStatement(text, start, end); s != "" {
			out = append(out, Statement{SQL: s, Line: line})
		}
		start = end
	}
	i := 0
lex:
	for i < len(text) {
		for _, t := range sqllex.Lex(text[i:], sqllex.Statement) {
			if tag := dollarTag(t); tag != "" {
				end := strings.Index(text[i+len(tag):], tag)
				if end < 0 {
					break lex
				}
				i += len(tag) + end + len(tag)
				continue lex
			}
			i += len(t.Text)
			switch {
			case t.Kind == sqllex.Punct && t.Text == ";":
				emit(i)
			case t.Kind == sqllex.Comment && strings.HasPrefix(t.Text, "--> statement-breakpoint"):
				emit(i)
			}
		}
		break
	}
	emit(len(text))
	return out
}

// dollarTag is the $tag$ a word starts with, "" when it starts none.
func dollarTag(t sqllex.Token) string {
	if t.Kind != sqllex.Word || !strings.HasPrefix(t.Text, "$") {
		return ""
	}
	j := strings.IndexByte(t.Text[1:], '$')
	if j < 0 {
		return ""
	}
	tag := t.Text[:j+2]
	for _, r := range tag[1 : len(tag)-1] {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	if len(tag) > 2 && tag[1] >= '0' && tag[1] <= '9' {
		return "" // $1 is a parameter
	}
	return tag
}

// trimStatement is text[start:end] without its leading comments and
// space, its trailing ';' and space, and the line it starts on; "" when
// it holds only comments.
func trimStatement(text string, start, end int) (string, int) {
	s := text[start:end]
	off, last := 0, 0
	for _, t := range sqllex.Lex(s, sqllex.Statement) {
		if t.Kind != sqllex.Space && t.Kind != sqllex.Comment {
			break
		}
		off += len(t.Text)
	}
	end = 0
	for _, t := range sqllex.Lex(s[off:], sqllex.Statement) {
		end += len(t.Text)
		if t.Kind == sqllex.Space || t.Kind == sqllex.Comment {
			continue
		}
		last = end
	}
	body := strings.TrimSpace(strings.TrimSuffix(s[off:off+last], ";"))
	if body == "" {
		return "", 0
	}
	return body, strings.Count(text[:start+off], "\n") + 1
}
