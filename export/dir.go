package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Existing is what the export folder holds before the export.
type Existing struct {
	// Files is every file in the folder, relative, with forward slashes.
	Files []string
	// Own is the files of an earlier export of the same plan, which this
	// one replaces.
	Own []string
	// MaxVersion is the highest version among the folder's other
	// migrations in the format: this export's new versions follow it.
	MaxVersion int64
	// OwnVersions is the version of each migration of an earlier export of
	// the plan, by its name without version and extension
	// (users-email_enforce-1-of-3): an export that replaces it keeps them,
	// so that a tool that applied them does not see them missing and
	// apply them again under new numbers.
	OwnVersions map[string]int64
	// Journal is drizzle's meta/_journal.json, this plan's entries
	// included (ownEntry tells them); nil when there is none.
	Journal *Journal
	// Snapshots holds drizzle-kit's snapshot of each journal entry that
	// has one, by tag.
	Snapshots map[string][]byte
	own       *regexp.Regexp
	others    bool // the folder has other migrations: MaxVersion is one's
}

// ownEntry reports whether a journal entry is an earlier export's of the
// plan.
func (ex Existing) ownEntry(e JournalEntry) bool {
	return ex.own != nil && ex.own.MatchString(e.Tag+".sql")
}

// migrationName splits a migration file name into its version and its
// name without version and extension.
var migrationName = regexp.MustCompile(`^(\d+)_(.*?)(\.up\.sql|\.down\.sql|\.sql)$`)

func (ex *Existing) addOwnVersion(file string) {
	if sm := migrationName.FindStringSubmatch(file); sm != nil {
		if v, err := strconv.ParseInt(sm[1], 10, 64); err == nil {
			if ex.OwnVersions == nil {
				ex.OwnVersions = map[string]int64{}
			}
			ex.OwnVersions[sm[2]] = v
		}
	}
}

// addOther counts another migration of the folder: its version, when re
// (whose first group is the version) reads one in its file name.
func (ex *Existing) addOther(re *regexp.Regexp, file string) {
	if sm := re.FindStringSubmatch(file); sm != nil {
		if v, err := strconv.ParseInt(sm[1], 10, 64); err == nil {
			ex.MaxVersion, ex.others = max(ex.MaxVersion, v), true
		}
	}
}

// Journal is drizzle-kit's meta/_journal.json: what drizzle-orm's migrator
// reads to find the migrations, in order.
type Journal struct {
	Version string         `json:"version"`
	Dialect string         `json:"dialect"`
	Entries []JournalEntry `json:"entries"`
}

// JournalEntry is one migration of the journal: the migrator runs
// TAG.sql, cut at its breakpoints, when When is later than the last
// migration it recorded.
type JournalEntry struct {
	Idx         int    `json:"idx"`
	Version     string `json:"version"`
	When        int64  `json:"when"`
	Tag         string `json:"tag"`
	Breakpoints bool   `json:"breakpoints"`
}

func (j *Journal) entries() []JournalEntry {
	if j == nil {
		return nil
	}
	return j.Entries
}

// journalPath is where drizzle-kit keeps its journal in the migrations folder.
const journalPath = "meta/_journal.json"

// ownFile matches the files an export of plan wrote: its migrations, named
// after the plan and one of its playbook's phases, and its notes.
func ownFile(plan *phases.Plan) *regexp.Regexp {
	ids := make([]string, 0)
	for _, id := range plan.PlaybookDef().IDs() {
		ids = append(ids, regexp.QuoteMeta(id))
	}
	return regexp.MustCompile(`^(\d+_` + regexp.QuoteMeta(plan.Name) + `_(` + strings.Join(ids, "|") + `)(-\d+-of-\d+)?\.(sql|up\.sql|down\.sql)|` +
		regexp.QuoteMeta(NotesFile(plan.Name)) + `)$`)
}

// version patterns of the files each tool reads as migrations
var versioned = map[string]*regexp.Regexp{
	Goose:         regexp.MustCompile(`^(\d+)_.*\.(sql|go)$`),
	GolangMigrate: regexp.MustCompile(`^(\d+)_.*\.(up|down)\.[^.]+$`),
	Plain:         regexp.MustCompile(`^(\d+)_.*\.(up|down)\.sql$`),
	Drizzle:       regexp.MustCompile(`^(\d+)_.*\.sql$`),
}

// ReadDir reads what the export folder holds: nothing when it does not
// exist. It reads file names, and drizzle's journal.
func ReadDir(dir, format string, plan *phases.Plan) (Existing, error) {
	ex := Existing{own: ownFile(plan)}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return ex, &UsageError{Msg: fmt.Sprintf("--dir %s is a file: give the folder the migrations go in", dir)}
	}
	own := ex.own
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		ex.Files = append(ex.Files, rel)
		if !strings.Contains(rel, "/") && own.MatchString(rel) {
			ex.Own = append(ex.Own, rel)
			if format != Drizzle { // drizzle's versions are its journal's
				ex.addOwnVersion(rel)
			}
			return nil
		}
		if re := versioned[format]; re != nil && !strings.Contains(rel, "/") {
			ex.addOther(re, rel)
		}
		return nil
	})
	if err != nil {
		return ex, fmt.Errorf("read --dir %s: %w", dir, err)
	}
	if format == Drizzle {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(journalPath)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return ex, fmt.Errorf("read --dir %s: %w", dir, err)
		default:
			var j Journal
			if err := json.Unmarshal(data, &j); err != nil {
				return ex, &UsageError{Msg: fmt.Sprintf("--dir %s: %s is not a drizzle journal: %v", dir, journalPath, err)}
			}
			for _, e := range j.Entries {
				if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(snapshotPath(e.Tag)))); err == nil {
					if ex.Snapshots == nil {
						ex.Snapshots = map[string][]byte{}
					}
					ex.Snapshots[e.Tag] = data
				}
				if ex.ownEntry(e) {
					ex.addOwnVersion(e.Tag + ".sql")
				} else {
					ex.addOther(migrationName, e.Tag+".sql")
				}
			}
			ex.Journal = &j
		}
	}
	return ex, nil
}

// Written is what Write did.
type Written struct {
	Wrote   []string // relative paths
	Removed []string // an earlier export's files of the plan that this one has not
}

// Write writes the files into dir, which is created when missing. A folder
// that holds files already is refused unless force is set: then the files
// of an earlier export of the plan are replaced and every other file is
// kept (drizzle's journal keeps its other entries).
func Write(dir string, ex Existing, files []File, force bool) (Written, error) {
	var w Written
	if len(ex.Files) > 0 && !force {
		shown := ex.Files
		if len(shown) > 3 {
			shown = append(slices.Clone(shown[:3]), "…")
		}
		files := "files"
		if len(ex.Files) == 1 {
			files = "file"
		}
		return w, &UsageError{Msg: fmt.Sprintf("--dir %s already holds %d %s (%s): shepherd export writes into an empty folder, and overwrites nothing unless told; "+
			"give --force to add this plan's migrations there (its earlier export's files are replaced, every other file is kept, and versions continue after the folder's)",
			dir, len(ex.Files), files, strings.Join(shown, ", "))}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return w, err
	}
	writing := map[string]bool{}
	for _, f := range files {
		writing[f.Path] = true
	}
	for _, old := range ex.Own {
		if writing[old] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(old))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return w, err
		}
		w.Removed = append(w.Removed, old)
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return w, err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return w, err
		}
		w.Wrote = append(w.Wrote, f.Path)
	}
	return w, nil
}
