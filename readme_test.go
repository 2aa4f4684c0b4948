package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The README is read as GitHub shows it. It is parsed here by line rather
// than with a Markdown library: the checks need only headings, links and
// code spans outside fenced blocks, and a library would be a new module
// requirement for one test.

// readmeLine is one line of README.md outside a fenced block, or one
// inside (fenced).
type readmeLine struct {
	n      int
	text   string
	fenced bool
}

func readmeLines(t *testing.T) []readmeLine {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	var out []readmeLine
	fence := ""
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
			continue
		case fence != "" && strings.HasPrefix(trimmed, fence):
			fence = ""
			continue
		}
		out = append(out, readmeLine{n: i + 1, text: l, fenced: fence != ""})
	}
	if fence != "" {
		t.Fatal("the README ends inside a fenced block")
	}
	return out
}

var (
	headingRe  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	anchorRe   = regexp.MustCompile(`\]\(#([^)\s]*)\)`)
	relLinkRe  = regexp.MustCompile(`\]\(([^)#\s:]+)(#[^)\s]*)?\)`)
	codeSpanRe = regexp.MustCompile("`([^`]+)`")
	inlineLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// githubAnchor is the id GitHub gives a heading: its text without
// Markdown, lower case, with what is neither a letter, a digit, a space, a
// hyphen nor an underscore dropped and spaces turned to hyphens.
func githubAnchor(heading string) string {
	h := inlineLink.ReplaceAllString(heading, "$1")
	h = strings.ToLower(strings.NewReplacer("`", "", "*", "").Replace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func readmeAnchors(lines []readmeLine) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, l := range lines {
		m := headingRe.FindStringSubmatch(l.text)
		if l.fenced || m == nil {
			continue
		}
		a := githubAnchor(m[2])
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

func TestGitHubAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"PostgreSQL and MySQL/MariaDB":            "postgresql-and-mysqlmariadb",
		"An initContainer that waits for a phase": "an-initcontainer-that-waits-for-a-phase",
		"A UNIQUE clean":                          "a-unique-clean",
		"The `ready` probe, [docs](x.md)":         "the-ready-probe-docs",
	} {
		if got := githubAnchor(heading); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// Every link to a part of the README leads to a heading, so moving or
// renaming a section cannot leave a link behind.
func TestREADMELinksResolve(t *testing.T) {
	lines := readmeLines(t)
	anchors := readmeAnchors(lines)
	for _, want := range []string{"install", "quick-start", "how-it-works", "the-operator-tui", "running-in-production"} {
		if !anchors[want] {
			t.Errorf("the README has no heading for #%s", want)
		}
	}
	links := 0
	for _, l := range lines {
		if l.fenced {
			continue
		}
		for _, m := range anchorRe.FindAllStringSubmatch(l.text, -1) {
			links++
			if !anchors[m[1]] {
				t.Errorf("README.md:%d: #%s leads to no heading", l.n, m[1])
			}
		}
		for _, m := range relLinkRe.FindAllStringSubmatch(l.text, -1) {
			if _, err := os.Stat(filepath.FromSlash(m[1])); err != nil {
				t.Errorf("README.md:%d: the link to %s leads to no file of the repository", l.n, m[1])
			}
		}
	}
	if links < 20 {
		t.Errorf("only %d links to headings: the check reads the README wrong", links)
	}
}

// A path the README names in this repository (a word whose first folder is
// one of the repository's, such as engine/batch.go or
// testdata/script/*.txtar) exists; the README says nothing that only makes
// sense beside this repository.
func TestREADMENamesOnlyWhatIsHere(t *testing.T) {
	lines := readmeLines(t)
	checked := 0
	check := func(n int, word string) {
		word = strings.TrimRight(word, ".,:;)")
		first, _, ok := strings.Cut(word, "/")
		// ./x is what the reader makes in their own folder (./shepherd,
		// ./plans), not a path of the repository.
		if !ok || first == "" || first == "." || strings.ContainsAny(word, "<>${}|\\") {
			return
		}
		if st, err := os.Stat(first); err != nil || !st.IsDir() {
			return
		}
		checked++
		matches, err := filepath.Glob(filepath.FromSlash(strings.TrimSuffix(word, "/")))
		if err != nil || len(matches) == 0 {
			t.Errorf("README.md:%d: %s is not in the repository", n, word)
		}
	}
	for _, l := range lines {
		for _, bad := range []string{"../shared", "shared/seed", "/work/"} {
			if strings.Contains(l.text, bad) {
				t.Errorf("README.md:%d: %q points outside the repository: %s", l.n, bad, l.text)
			}
		}
		if l.fenced {
			for _, w := range strings.Fields(l.text) {
				check(l.n, w)
			}
			continue
		}
		for _, m := range codeSpanRe.FindAllStringSubmatch(l.text, -1) {
			if !strings.ContainsRune(m[1], ' ') {
				check(l.n, m[1])
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d paths checked: the check reads the README wrong", checked)
	}
}
