package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// change-column-type's swap on SQLite. SQLite moves no constraint from one
// column to another and changes no declared type in place: the swap is a
// rebuild of the table in one transaction, as its other missing ALTERs are
// (sqlite_rebuild.go). The column keeps its definition (constraints,
// default, collation) with the incoming column's type and values; the
// outgoing values are kept in a column of their own, without constraints,
// until drop-old-column; indexes and triggers are created again from their
// text, which names the column: they follow its name, as views do. The
// database is write-locked while the rows are copied.

// sqliteSwapData is the template data of the SQLite "swap".
type sqliteSwapData struct {
	Table, New, Definition string
	Into, From             []string // the new table's columns, and what fills each
	Rowid                  bool
	Objects                []string
	Sequence               bool
	SequenceValue          int64
	SyncSteps              []string
	DropTriggers           []string
	ForeignKeys            string
}

// sqliteTypeEnds are the words that end a column's type in its definition.
var sqliteTypeEnds = map[string]bool{"CONSTRAINT": true, "PRIMARY": true, "NOT": true, "NULL": true, "UNIQUE": true,
	"CHECK": true, "DEFAULT": true, "COLLATE": true, "REFERENCES": true, "GENERATED": true, "AS": true}

// withType is a column definition with its type replaced by typ.
func withType(item []sqlToken, typ string) []sqlToken {
	idx := wordIndexes(item)
	if len(idx) == 0 {
		return item
	}
	k := 1
	for k < len(idx) && !(item[idx[k]].kind == 'w' && sqliteTypeEnds[strings.ToUpper(item[idx[k]].text)]) {
		k++
	}
	text := item[idx[0]].text + " " + typ
	if k < len(idx) {
		text += " " + render(item[idx[k]:])
	}
	return lexSQL(text)
}

// sqliteSwap renders the swap (or its rollback) from the live table.
func (s *Session) sqliteSwap(b builder, back bool) (templates.Script, error) {
	ct, t := s.plan.ChangeType, s.table
	in, out, _, _ := swapNames(ct, back)
	if t == nil {
		return b.offlineSQLiteSwap(back)
	}
	inCol, okIn := t.Column(in)
	col, okCol := t.Column(ct.Column)
	if !okIn || !okCol {
		return nil, fmt.Errorf("swap %s: %s or %s is missing", s.plan.Table, in, ct.Column)
	}
	def, err := parseCreateTable(t.CreateSQL)
	if err != nil {
		return nil, fmt.Errorf("swap %s: %w", s.plan.Table, err)
	}
	i, j := def.column(ct.Column), def.column(in)
	if i < 0 || j < 0 {
		return nil, fmt.Errorf("swap %s: %s or %s is not in its definition", s.plan.Table, ct.Column, in)
	}
	def.items[i] = withType(def.items[i], inCol.Type)
	def.items = append(def.items[:j], def.items[j+1:]...)
	// The outgoing column goes after the last column, before the table's
	// constraints.
	at := len(def.items)
	for k, item := range def.items {
		if isConstraint(item) {
			at = k
			break
		}
	}
	aside := lexSQL(s.d.quote(out) + " " + col.Type)
	def.items = append(def.items[:at], append([][]sqlToken{aside}, def.items[at:]...)...)

	d := sqliteSwapData{Table: s.plan.Table, New: "_shepherd_new_" + s.plan.Table, Definition: def.definition(), ForeignKeys: "OFF",
		Sequence: t.Sequence != nil, SequenceValue: derefInt(t.Sequence)}
	if t.ForeignKeysOn {
		d.ForeignKeys = "ON"
	}
	rowidAlias := false
	for _, c := range t.Columns {
		if c.Generated || c.Name == in {
			continue
		}
		from := c.Name
		if c.Name == ct.Column {
			from = in
		}
		d.Into, d.From = append(d.Into, c.Name), append(d.From, from)
		if len(t.PrimaryKey) == 1 && c.Name == t.PrimaryKey[0] && strings.EqualFold(c.Type, "INTEGER") {
			rowidAlias = true
		}
	}
	d.Into, d.From = append(d.Into, out), append(d.From, ct.Column)
	d.Rowid = !t.WithoutRowid && !rowidAlias
	_, _, insert, update := syncNames(s.plan)
	for _, o := range t.Objects {
		if o.Name == insert || o.Name == update {
			continue // installed again on the new names below
		}
		d.Objects = append(d.Objects, o.SQL)
	}
	install, err := b.swappedSync(back)
	if err != nil {
		return nil, err
	}
	for _, st := range install {
		if len(st.Params) > 0 {
			return nil, fmt.Errorf("swap %s: the sync triggers' statements take parameters", s.plan.Table)
		}
		d.SyncSteps = append(d.SyncSteps, st.SQL)
	}
	return b.sql.Script("swap", d)
}

// offlineSQLiteSwap is the swap as `plan` shows it without a database.
func (b builder) offlineSQLiteSwap(back bool) (templates.Script, error) {
	ct := b.plan.ChangeType
	in, out, _, _ := swapNames(ct, back)
	b.gap(fmt.Sprintf("SQLite swaps %s's columns by rebuilding %s from its live definition (CREATE TABLE text, indexes, triggers), which only the database holds", ct.Column, b.plan.Table))
	d := sqliteSwapData{Table: b.plan.Table, New: "_shepherd_new_" + b.plan.Table, ForeignKeys: "/* ON or OFF, as it was */ OFF",
		Definition: fmt.Sprintf("(/* the columns and constraints of %s as sqlite_schema holds them, with %s of %s's type, without %s, and with %s of %s's type */)", b.plan.Table, ct.Column, in, in, out, ct.Column),
		Into:       []string{ct.Column, out}, From: []string{in, ct.Column},
		Objects: []string{fmt.Sprintf("/* each CREATE INDEX and CREATE TRIGGER of %s, as sqlite_schema holds it */", b.plan.Table)}}
	install, err := b.swappedSync(back)
	if err != nil {
		return nil, err
	}
	for _, st := range install {
		d.SyncSteps = append(d.SyncSteps, st.SQL)
	}
	return b.sql.Script("swap", d)
}

// sqliteSwapper is the swap on SQLite: a rebuild, whose DDL commits with
// the record of the phase.
type sqliteSwapper struct{}

func (sqliteDialect) swapper() swapper { return sqliteSwapper{} }

func (sqliteSwapper) run(ctx context.Context, s *Session, b builder, id string) error {
	script, err := s.sqliteSwap(b, false)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		return sqliteSwapped(ctx, s, q, id, false)
	}))
}

func (sqliteSwapper) revert(ctx context.Context, s *Session, b builder, id string) error {
	ct := s.plan.ChangeType
	if there, err := s.columnIs(ctx, s.db, ct.OldName(), "column-exists"); err != nil {
		return err
	} else if !there {
		return s.moveNow(ctx, id, phases.Revert, "the swap had not taken effect: nothing to swap back")
	}
	script, err := s.sqliteSwap(b, true)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, func(ctx context.Context, q querier) error {
		detail, err := sqliteSwapped(ctx, s, q, id, true)
		if err != nil {
			return err
		}
		if err := s.lock.heldIn(ctx, q); err != nil {
			return err
		}
		return s.move(ctx, q, id, phases.Revert, detail)
	})
}

func (sqliteSwapper) preview(b builder, back bool) (templates.Script, error) {
	return b.offlineSQLiteSwap(back)
}

func (sqliteSwapper) verify(ctx context.Context, s *Session, id string) (string, error) {
	return sqliteSwapped(ctx, s, s.db, id, false)
}

// columnProblem: SQLite's INTEGER PRIMARY KEY is the rowid itself, and
// stops being it under any other type.
func (sqliteSwapper) columnProblem(c Column) string {
	if c.Auto {
		return fmt.Sprintf("%q is SQLite's INTEGER PRIMARY KEY, the rowid itself: under another type it would stop being the rowid (and an INTEGER already holds 64 bits)", c.Name)
	}
	return ""
}

func (sqliteSwapper) notes(*phases.Plan) []string {
	return []string{"on SQLite the swap rebuilds the table in one transaction (the database is write-locked while every row is copied): the column keeps its constraints, default and indexes with the new type and values, and the old values stay in a column of their own until drop-old-column"}
}

// leftBehind: nothing; the rebuild creates indexes, triggers and (by their
// text) views again on the column's name.
func (sqliteSwapper) leftBehind(context.Context, *Session) string { return "" }

// sqliteSwapped: the incoming column is gone and the outgoing one is
// there under its new name.
func sqliteSwapped(ctx context.Context, s *Session, q querier, id string, back bool) (string, error) {
	ct := s.plan.ChangeType
	if err := s.swapMovedColumns(ctx, q, id, back); err != nil {
		return "", err
	}
	if back {
		return fmt.Sprintf("swapped back: %s.%s has its old type and values again; %s holds the new type's", s.plan.Table, ct.Column, ct.ShadowName()), nil
	}
	return fmt.Sprintf("%s.%s has the new type and values (the table rebuilt); %s holds the old values", s.plan.Table, ct.Column, ct.OldName()), nil
}

// blockers: nothing beyond what the swap refuses as it reads the catalog.
func (sqliteSwapper) blockers(context.Context, *Session) ([]string, error) { return nil, nil }
