package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Table is what introspection found about one table, the same shape on
// every dialect.
type Table struct {
	Schema      string
	Name        string
	Columns     []Column
	PrimaryKey  []string
	Indexes     []Index
	Constraints []Constraint // named CHECK, UNIQUE and FOREIGN KEY constraints
	// SQLite only: the CREATE TABLE text and the other schema objects that
	// belong to the table, which a rebuild must recreate.
	CreateSQL     string
	Objects       []SchemaObject
	WithoutRowid  bool
	Sequence      *int64 // the AUTOINCREMENT counter, when the table has one
	ForeignKeysOn bool   // PRAGMA foreign_keys of shepherd's connections
	// MySQL only: ROW_FORMAT (upper case), and the server's estimate of the
	// rows and of the bytes of data and indexes, for what a lock would cost.
	RowFormat   string
	Rows, Bytes int64
	// UpdateTriggers are the triggers that fire on an UPDATE of the table
	// (triggers.go).
	UpdateTriggers []Trigger
	// Partition is set on a PostgreSQL partitioned table (partition.go).
	Partition *Partitioning
}

// sizeText describes the table's size as the server estimates it.
func (t *Table) sizeText() string {
	return fmt.Sprintf("%s holds about %d rows, %s of data and indexes", t.Name, t.Rows, byteSize(t.Bytes))
}

func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Column is one column of a table.
type Column struct {
	Name      string
	Type      string
	NotNull   bool
	Default   *string
	Generated bool
	// Auto is a column the database fills on insert without a default:
	// an identity column, AUTO_INCREMENT, SQLite's INTEGER PRIMARY KEY.
	Auto bool
	// Attrs is the rest of the definition that an ALTER restating the
	// whole column must repeat after its type, nullability and default
	// (MySQL's MODIFY: ON UPDATE, INVISIBLE, COMMENT, a column CHECK).
	Attrs string
	// OnUpdate is a column the database rewrites in every row an UPDATE
	// changes (MySQL's ON UPDATE CURRENT_TIMESTAMP).
	OnUpdate bool
}

// Index is one index of a table.
type Index struct {
	Name    string
	Unique  bool
	Columns []string
	Partial bool
	Valid   bool // PostgreSQL: an index left invalid by a failed concurrent build is not
	// Kind is MySQL's index type, upper case: BTREE, FULLTEXT, SPATIAL, HASH.
	Kind string
}

// Constraint is one named table constraint.
type Constraint struct {
	Name      string
	Kind      CatalogKind
	Columns   []string
	Validated bool
}

// CatalogKind is the kind of a constraint the table has, as introspection
// reads it from the database's catalog (a plan's constraint kind is
// phases.ConstraintKind; catalogKinds maps one to the other).
type CatalogKind string

const (
	CatalogCheck      CatalogKind = "check"
	CatalogUnique     CatalogKind = "unique"
	CatalogForeignKey CatalogKind = "foreign-key"
	// CatalogPrimaryKey and CatalogNotNull are constraints only SQLite's
	// table definition names (a named PRIMARY KEY or NOT NULL), which its
	// rebuild keeps.
	CatalogPrimaryKey CatalogKind = "primary-key"
	CatalogNotNull    CatalogKind = "not-null"
)

// SchemaObject is an index, trigger or view stored with its SQL (SQLite).
type SchemaObject struct {
	Type, Name, SQL string
}

// Column returns the named column.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnNames lists the table's columns.
func (t *Table) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// Constraint returns the named constraint.
func (t *Table) Constraint(name string) (Constraint, bool) {
	for _, c := range t.Constraints {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Constraint{}, false
}

// Index returns the named index.
func (t *Table) Index(name string) (Index, bool) {
	for _, ix := range t.Indexes {
		if strings.EqualFold(ix.Name, name) {
			return ix, true
		}
	}
	return Index{}, false
}

// indexesOn lists the indexes of the live table that hold col and that
// keep says may be dropped with it; none without a live table.
func indexesOn(live *Table, col string, keep func(Index) bool) []string {
	if live == nil {
		return nil
	}
	var out []string
	for _, ix := range live.Indexes {
		if slices.Contains(ix.Columns, col) && keep(ix) {
			out = append(out, ix.Name)
		}
	}
	return out
}

// uniqueKeys lists the column sets whose values are unique and never NULL:
// the primary key, and full unique indexes over NOT NULL columns, single
// columns first. Those are the keys a keyset batch can walk, in the order
// of their values, without skipping or repeating a row.
func (t *Table) uniqueKeys() [][]string {
	var keys [][]string
	seen := map[string]bool{}
	add := func(cols []string, primary bool) {
		id := strings.Join(cols, "\x00")
		if len(cols) == 0 || seen[id] {
			return
		}
		for _, col := range cols {
			// A primary key's columns are NOT NULL, except on SQLite,
			// where a table with rowids takes NULL in any of them unless
			// it is declared NOT NULL (an INTEGER PRIMARY KEY is the
			// rowid, and marked NOT NULL when it is read). A single-column
			// primary key is taken as it always was; a composite one must
			// be NOT NULL.
			c, ok := t.Column(col)
			if !ok || !c.NotNull && !(primary && (t.WithoutRowid || len(cols) == 1)) {
				return
			}
		}
		seen[id] = true
		keys = append(keys, cols)
	}
	add(t.PrimaryKey, true)
	for _, ix := range t.Indexes {
		if ix.Unique && !ix.Partial && ix.Valid {
			add(ix.Columns, false)
		}
	}
	slices.SortStableFunc(keys, func(a, b []string) int { return len(a) - len(b) })
	return keys
}

// keysText shows key candidates: id, (tenant_id, id).
func keysText(keys [][]string) string {
	var out []string
	for _, k := range keys {
		out = append(out, keyName(k))
	}
	return strings.Join(out, ", ")
}

// keyName shows one key: id, or (tenant_id, id) for a composite key.
func keyName(cols []string) string {
	if len(cols) == 1 {
		return cols[0]
	}
	return "(" + strings.Join(cols, ", ") + ")"
}

// resolveKey returns the columns of the plan's batch key, checked against
// the table: the plan's key:, or else the primary key, whatever its width.
func (t *Table) resolveKey(p *phases.Plan) ([]string, error) {
	keys := t.uniqueKeys()
	candidates := ""
	if len(keys) > 0 {
		candidates = fmt.Sprintf(" (candidates: %s)", keysText(keys))
	}
	given := p.KeyColumns()
	if len(given) == 0 {
		if slices.ContainsFunc(keys, func(k []string) bool { return slices.Equal(k, t.PrimaryKey) }) {
			if r := p.RenameColumn; r != nil && len(t.PrimaryKey) > 1 && slices.Contains(t.PrimaryKey, r.Column) {
				return nil, fmt.Errorf("key: %q, which the plan renames, is a column of the primary key %s, the batch key; renaming a key column is not supported, set key: to a unique key without it%s", r.Column, keyName(t.PrimaryKey), candidates)
			}
			return t.walkable(t.PrimaryKey)
		}
		if len(t.PrimaryKey) > 0 {
			return nil, fmt.Errorf("key: the primary key of %s, %s, takes NULL (a SQLite table with rowids allows it unless its columns are declared NOT NULL), so batches on it could skip rows; set key: to a unique NOT NULL column or columns%s, or declare them NOT NULL", t.Name, keyName(t.PrimaryKey), candidates)
		}
		// Worded as before composite keys were walked (scripts match it),
		// then what a composite key is.
		return nil, fmt.Errorf("key: %s has no single-column primary key (primary key: none); set key: to a unique NOT NULL column%s, or add one: a primary key, or a unique index over NOT NULL columns, which batches can walk without skipping or repeating a row (a key of several columns is a list, key: [tenant_id, id])", t.Name, candidates)
	}
	for _, col := range given {
		if _, ok := t.Column(col); !ok {
			return nil, fmt.Errorf("key: %s has no column %q (columns: %s)", t.Name, col, strings.Join(t.ColumnNames(), ", "))
		}
	}
	// A rename of a single key column is refused by rename-column itself.
	if r := p.RenameColumn; r != nil && len(given) > 1 && slices.Contains(given, r.Column) {
		return nil, fmt.Errorf("key: %q, which the plan renames, is a column of the batch key %s; renaming a key column is not supported, set key: to a unique key without it%s", r.Column, keyName(given), candidates)
	}
	for _, k := range keys {
		if slices.Equal(k, given) {
			return t.walkable(k)
		}
	}
	if len(given) == 1 {
		return nil, fmt.Errorf("key: %q is not a unique NOT NULL single column of %s, so batches on it could skip or repeat rows; use one that is%s", p.Key, t.Name, candidates)
	}
	return nil, fmt.Errorf("key: %s is not a unique set of NOT NULL columns of %s (its primary key, or a unique index over exactly those columns, in that order), so batches on it could skip or repeat rows; use one that is%s", keyName(given), t.Name, candidates)
}

// walkable checks that a key's values can be walked in order and kept as a
// text checkpoint: integers, text, uuids, dates and times can; binary
// values, and SQLite columns without a type (whose values may mix storage
// classes), cannot.
func (t *Table) walkable(key []string) ([]string, error) {
	for _, col := range key {
		c, _ := t.Column(col)
		typ := strings.ToLower(c.Type)
		if typ == "" || containsAny(typ, "blob", "binary", "bytea", "bit") {
			shown := c.Type
			if shown == "" {
				shown = "no declared type"
			}
			return nil, fmt.Errorf("key: %s.%s (%s) cannot be walked in batches; set key: to a unique NOT NULL column of an integer, text, uuid or date/time type", t.Name, col, shown)
		}
	}
	return key, nil
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// SchemaError is a plan that does not fit the live schema. Nothing was changed.
type SchemaError struct {
	File string
	// Problems each start with the plan field they are about ("type: …").
	Problems []string
	// Line, when set, gives a field's line in File, so that each problem
	// reads file:line: field: ….
	Line func(field string) int
}

func (e *SchemaError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		at := e.File
		if field, _, ok := strings.Cut(p, ": "); ok && e.Line != nil && !strings.ContainsAny(field, " \n") {
			if n := e.Line(field); n > 0 {
				at = fmt.Sprintf("%s:%d", e.File, n)
			}
		}
		lines[i] = at + ": " + p
	}
	return strings.Join(lines, "\n")
}

// columnList names the table's columns, for problems.
func columnList(t *Table) string { return strings.Join(t.ColumnNames(), ", ") }

// has reports whether the table has column c.
func (t *Table) has(c string) bool { _, ok := t.Column(c); return ok }

// addProblem adds a problem with the plan to problems.
func addProblem(problems *[]string, format string, args ...any) {
	*problems = append(*problems, fmt.Sprintf(format, args...))
}

// schemaError is a SchemaError on the session's plan, with its lines.
func (s *Session) schemaError(problems ...string) *SchemaError {
	return &SchemaError{File: s.plan.File, Problems: problems, Line: s.plan.Line}
}

// checkSchema checks the plan against the live table, given how far the plan
// has got: a column the plan adds must not exist before add-column ran, and
// must exist after. It also tries every expression of the plan against the
// table, so that a typo fails here and not half-way through a phase.
func (s *Session) checkSchema(ctx context.Context, t *Table, progress phases.Progress) error {
	p := s.plan
	var problems []string
	// A phase that failed with nothing changed did not run, as far as the
	// schema goes.
	ran := func(id string) bool {
		st := progress.Of(id)
		return st != phases.Pending && st != phases.RolledBack && st != phases.FailedUnchanged
	}
	done := func(id string) bool { return progress.Of(id) == phases.Done }

	// A playbook that walks no rows (add-index) needs no batch key: a
	// table without one can still get an index.
	if len(p.KeyColumns()) > 0 || walksRows(p) {
		key, err := t.resolveKey(p)
		if err != nil {
			addProblem(&problems, "%v", err)
		}
		s.setKey(key)
		s.rowid = rowidWalk(s.d, t, key)
	}

	unitOf(p.Playbook).checkTable(ctx, s, t, ran, done, &problems)
	// What the plan's expressions are tried against: the column the plan
	// adds is there once the phase that adds it is done, and the plan's
	// CHECK is probed until the phase that adds it ran.
	var added, constraintRan bool
	for _, ph := range s.pb.Phases {
		switch ph.Schema {
		case phases.SchemaAddColumn:
			added = added || done(ph.ID)
		case phases.SchemaAddConstraint:
			constraintRan = constraintRan || ran(ph.ID)
		}
	}
	if len(problems) == 0 {
		more, err := s.tryExpressions(ctx, t, added)
		if err != nil {
			return err
		}
		problems = append(problems, more...)
	}
	if tg := p.Tighten; len(problems) == 0 && tg != nil && tg.Constraint.Kind() == phases.CheckConstraint && !constraintRan {
		problem, err := s.probeCheck(ctx, t)
		if err != nil {
			return err
		}
		if problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		return s.schemaError(problems...)
	}
	return nil
}

// walksRows reports whether a plan has a phase that walks the table's rows
// by its key: a batched phase, or the proof (which writes to a row).
func walksRows(p *phases.Plan) bool {
	for _, ph := range p.PlaybookDef().Phases {
		if ph.Batched(p) || ph.Proof {
			return true
		}
	}
	return false
}

// nameClashes finds what outside the table already has the name the
// constraint needs, where the database's names are wider than one table
// (templates' name-clashes says where that is on each dialect): the DDL
// would fail at add-constraint, after the gate and clean ran.
func (s *Session) nameClashes(ctx context.Context, t *Table) []string {
	d := s.builder().constraintData()
	d.Table = t.Name
	return s.nameClashesOf(ctx, t, "constraint.name", d)
}

// nameClashesOf is nameClashes for the name d gives (d.Kind says what it
// is: "unique" for an index's name), as the plan's field says it.
func (s *Session) nameClashesOf(ctx context.Context, t *Table, field string, d sqlData) []string {
	if err := prepare(s.d, "name-clashes", &d, t); err != nil {
		return []string{fmt.Sprintf("%s: %v", field, err)}
	}
	rows, err := s.query(ctx, s.db, "name-clashes", d, nil)
	if err != nil {
		return []string{fmt.Sprintf("%s: look for other objects named %q: %v", field, d.Name, s.dsn.scrub(err))}
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var what, where, why string
		if err := rows.Scan(&what, &where, &why); err != nil {
			return []string{fmt.Sprintf("%s: look for other objects named %q: %v", field, d.Name, s.dsn.scrub(err))}
		}
		if where != "" {
			where = " " + where
		}
		problems = append(problems, fmt.Sprintf("%s: %q is already the name of %s%s, and %s; choose another name", field, d.Name, what, where, why))
	}
	if err := rows.Err(); err != nil {
		return []string{fmt.Sprintf("%s: look for other objects named %q: %v", field, d.Name, s.dsn.scrub(err))}
	}
	return problems
}

// invalidIndex decides about an INVALID index named like the constraint,
// which a failed CREATE INDEX CONCURRENTLY left (PostgreSQL): when it is
// exactly the unique index the plan asks for, add-constraint adopts it
// (drops it and builds it again, as it does after its own failed build);
// otherwise the plan is refused, saying how to drop it.
func (s *Session) invalidIndex(ctx context.Context, t *Table, ix Index) string {
	c := s.plan.Tighten.Constraint
	what := fmt.Sprintf("constraint.name: %s already has an index %q that is INVALID (a CREATE INDEX CONCURRENTLY that failed left it)", t.Name, ix.Name)
	st, err := s.sql.Query("suggest-drop-index", sqlData{Schema: t.Schema, Name: ix.Name})
	if err != nil {
		return fmt.Sprintf("%s; %v", what, err)
	}
	drop := fmt.Sprintf("drop it with %s, or choose another name", st.SQL)
	if c.Kind() != phases.UniqueConstraint {
		return what + "; " + drop
	}
	d := sqlData{Schema: s.plan.Schema, Table: t.Name, Name: ix.Name, Columns: c.Unique}
	var n int64
	if err := s.queryRow(ctx, s.db, "index-matches", d, nil, &n); err != nil {
		return fmt.Sprintf("%s, and reading its definition failed: %v; %s", what, s.dsn.scrub(err), drop)
	}
	if n == 0 {
		return fmt.Sprintf("%s, and it is not the index the plan asks for (UNIQUE on %s); %s", what, strings.Join(c.Unique, ", "), drop)
	}
	s.notice("", "%s.%s is an INVALID index (a CREATE INDEX CONCURRENTLY that failed left it) with exactly the definition the plan asks for: add-constraint drops it and builds it again", t.Name, ix.Name)
	return ""
}

// missingForDialect says that a per-dialect field has nothing for this
// dialect, and how to give it.
func missingForDialect(field, what, dialect string, given phases.PerDialect) string {
	return fmt.Sprintf("%s: no %s given for %s (given for: %s); add %s: under %s: (%s: {%s, %s: …}), or give one %s for every dialect",
		field, what, dialect, strings.Join(keysOf(given.By), ", "), dialect, field, field, givenPairs(given), dialect, what)
}

// givenPairs shows a per-dialect field's fragments as YAML pairs.
func givenPairs(p phases.PerDialect) string {
	var parts []string
	for _, d := range keysOf(p.By) {
		parts = append(parts, d+": "+p.By[d])
	}
	return strings.Join(parts, ", ")
}

func constraintNames(t *Table) string {
	var names []string
	for _, c := range t.Constraints {
		names = append(names, c.Name)
	}
	return listOrNone(names)
}

func keysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
