package export

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// drizzle-kit keeps, beside each migration of its folder, a snapshot of the
// whole schema after it (meta/NNNN_snapshot.json), and `drizzle-kit
// generate` writes what differs between the schema files and the last
// snapshot. A migration without one leaves drizzle-kit believing the change
// never happened, so the next generate would emit shepherd's DDL again. So
// each migration shepherd adds gets a snapshot: the previous one in the
// folder, with what the migration changes patched in, chained by id and
// prevId.

// snapshotPath is where drizzle-kit keeps the snapshot of a journal entry.
func snapshotPath(tag string) string {
	num, _, _ := strings.Cut(tag, "_")
	return "meta/" + num + "_snapshot.json"
}

// snapshot is one drizzle-kit snapshot, decoded only as far as shepherd
// patches it; everything else is kept as it was.
type snapshot map[string]any

func parseSnapshot(data []byte) (snapshot, error) {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return s, nil
}

func (s snapshot) clone() snapshot {
	data, _ := json.Marshal(s)
	out, _ := parseSnapshot(data)
	return out
}

// table finds the plan's table in the snapshot: "schema.table" where the
// dialect's keys name the schema (PostgreSQL's, public by default), else
// the bare name.
func (s snapshot) table(p *phases.Plan, ds drizzleSnapshot) (map[string]any, bool) {
	tables, _ := s["tables"].(map[string]any)
	key := p.Table
	if ds.schema != "" {
		key = cmp.Or(p.Schema, ds.schema) + "." + p.Table
	}
	t, ok := tables[key].(map[string]any)
	return t, ok
}

func child(m map[string]any, key string) map[string]any {
	c, ok := m[key].(map[string]any)
	if !ok {
		c = map[string]any{}
		m[key] = c
	}
	return c
}

// snapshotAfter returns the snapshot after a phase's migration: prev with
// the phase's change patched in, a new id, and prev's id as its prevId. It
// says why when it cannot: prev does not describe the plan's table.
func snapshotAfter(prev snapshot, p *phases.Plan, dialect string, ph phases.Phase) (snapshot, error) {
	ds := factsOf(dialect).snapshot
	s := prev.clone()
	t, ok := s.table(p, ds)
	if !ok {
		return nil, fmt.Errorf("the folder's last snapshot has no table %s (is it in your drizzle schema?)", p.Table)
	}
	cols := child(t, "columns")
	col := func(name string) (map[string]any, error) {
		c, ok := cols[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the folder's last snapshot has no column %s.%s", p.Table, name)
		}
		return c, nil
	}
	notNull := func(name string) error {
		c, err := col(name)
		if err == nil {
			c["notNull"] = true
		}
		return err
	}
	switch ph.Schema {
	case phases.SchemaAddColumn:
		name := p.NewColumn()
		_, types := p.ColumnFields()
		typ, ok := types.For(dialect)
		if !ok {
			return nil, fmt.Errorf("the plan gives no type for %s", dialect)
		}
		c := map[string]any{"name": name, "type": drizzleType(typ, ds.types), "primaryKey": false, "notNull": false}
		if ds.autoincrement {
			c["autoincrement"] = false
		}
		cols[name] = c
	case phases.SchemaSetNotNull:
		if err := notNull(p.NewColumn()); err != nil {
			return nil, err
		}
	case phases.SchemaDropOldColumn:
		// stop-old-writes moved NOT NULL to the new column where the old
		// one had it.
		old, err := col(p.OldColumn())
		if err != nil {
			return nil, err
		}
		c, err := col(p.NewColumn())
		if err != nil {
			return nil, err
		}
		c["notNull"] = old["notNull"]
		delete(cols, p.OldColumn())
	case phases.SchemaAddConstraint:
		k := p.Tighten.Constraint
		switch k.Kind() {
		case phases.NotNullConstraint:
			if err := notNull(k.NotNull); err != nil {
				return nil, err
			}
		case phases.UniqueConstraint:
			u := map[string]any{"name": k.Name, "columns": k.Unique}
			maps.Copy(u, ds.uniqueFields)
			child(t, ds.uniqueKey)[k.Name] = u
		default:
			check, _ := k.Check.For(dialect)
			child(t, ds.checkKey)[k.Name] = map[string]any{"name": k.Name, "value": strings.TrimSpace(check)}
		}
	case phases.SchemaAddIndex:
		ix := p.AddIndex.Index
		var cols []any
		for _, c := range ix.Columns {
			cols = append(cols, ds.indexColumn(c))
		}
		entry := map[string]any{"name": ix.Name, "columns": cols, "isUnique": false}
		if w, ok := ix.Where.For(dialect); ok {
			entry["where"] = w
		}
		if ds.indexMethod {
			method := ix.Using
			if method == "" {
				method = "btree"
			}
			entry["concurrently"], entry["method"], entry["with"] = true, method, map[string]any{}
		}
		child(t, "indexes")[ix.Name] = entry
	case phases.SchemaRelax:
		c, err := col(p.OldColumn())
		if err != nil {
			return nil, err
		}
		c["notNull"] = false
	case phases.SchemaDropColumn:
		delete(cols, p.OldColumn())
	case phases.SchemaDropIndex:
		delete(child(t, "indexes"), p.IndexName())
	default:
		return nil, fmt.Errorf("no snapshot for phase %s", ph.ID)
	}
	s["prevId"] = prev["id"]
	s["id"] = newUUID()
	return s, nil
}

var (
	sizedVarcharRE = regexp.MustCompile(`^(?:character varying|varchar)\s*\(\s*(\d+)\s*\)$`)
	spacesRE       = regexp.MustCompile(`\s+`)
)

// drizzleType is a plan's SQL type as drizzle-kit writes it in a
// snapshot, so that the same column in the schema files compares equal:
// lower case, a sized varchar as varchar(n), and the dialect's aliases.
func drizzleType(t string, aliases map[string]string) string {
	t = spacesRE.ReplaceAllString(strings.ToLower(strings.TrimSpace(t)), " ")
	t = strings.ReplaceAll(strings.ReplaceAll(t, "( ", "("), " )", ")")
	if m := sizedVarcharRE.FindStringSubmatch(t); m != nil {
		return "varchar(" + m[1] + ")"
	}
	if a, ok := aliases[t]; ok {
		return a
	}
	return t
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
