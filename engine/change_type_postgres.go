package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// change-column-type's swap on PostgreSQL. What the column carries (its
// indexes, a PRIMARY KEY or UNIQUE constraint, NOT NULL, its default and
// sequence, the CHECKs and foreign keys that name it, the foreign keys of
// other tables that reference it) is read from the catalog and moved onto
// the incoming column: the heavy part first, without blocking writes
// (indexes CONCURRENTLY, a NOT NULL check validated under a lock that lets
// writes go on), then one short transaction that only changes the catalog,
// then the validation of the foreign keys and checks it re-added NOT VALID.
// The same move, the other way, is the swap's rollback.

// swapData is the template data of a swap (the "swap" template): it moves
// Column's name and what it carries onto In, and renames Column to OutName.
type swapData struct {
	Schema, Table string
	Column        string // the column's name, which moves
	In, OutName   string // the incoming column; the name the outgoing one gets
	Indexes       []swapIndex
	Constraints   []swapConstraint
	// NotNull: the column is NOT NULL, and so the incoming one becomes,
	// proven first by the validated check CheckName.
	NotNull   bool
	CheckName string
	// Default is the column's default expression, as the catalog gives it;
	// Sequence the sequence it owns (serial), and SequenceAs the type that
	// sequence is changed to, where the new type outgrows it.
	Default, Sequence, SequenceAs string
	// SyncSteps rebind the sync triggers to the columns' new names: the
	// trigger function replaced, the trigger made again (its UPDATE OF
	// names the column application code writes), in the swap's
	// transaction.
	SyncSteps []string
	// ValidateOnly renders only the validations (a swap that committed,
	// or whose rollback committed, before they ran).
	ValidateOnly bool
}

// swapIndex is one index whose key includes the column: a Mirror of it is
// built on the incoming column; a PRIMARY KEY or UNIQUE Constraint moves
// onto the mirror, and a plain index's name does (the outgoing one is
// renamed Aside, and goes with its column).
type swapIndex struct {
	Name, Mirror, Aside string
	Unique, Primary     bool
	Method              string
	Columns             []string
	Where               string
	Constraint          string
	Ready               bool
}

// swapConstraint is a CHECK or FOREIGN KEY that names or references the
// column, dropped in the swap's transaction and added again after the
// renames, NOT VALID, then validated. Qualified is its table as SQL names
// it; On the same for people; Def its definition as the catalog gives it.
type swapConstraint struct {
	Name, Kind, Qualified, On, Def string
	// Other: the constraint is another table's (a foreign key to the
	// column), which the swap locks before the table.
	Other bool
}

// swapNames are the incoming column, the outgoing column's new name, and
// the suffixes of the mirrored and set-aside indexes, for a swap forward
// (the shadow in) or back (the old column in again).
func swapNames(ct *phases.ChangeColumnTypeSpec, back bool) (in, out, inSuffix, outSuffix string) {
	if back {
		return ct.OldName(), ct.ShadowName(), "_shepherd_old", "_shepherd_new"
	}
	return ct.ShadowName(), ct.OldName(), "_shepherd_new", "_shepherd_old"
}

// swapped reports whether the swap forward (back false) or back took
// effect, from the catalog.
func (s *Session) swapped(ctx context.Context, q querier, back bool) (bool, error) {
	in, out, _, _ := swapNames(s.plan.ChangeType, back)
	d := swapData{Schema: s.plan.Schema, Table: s.plan.Table, In: in, OutName: out}
	var n int64
	if err := s.queryRow(ctx, q, "swap-done-query", d, nil, &n); err != nil {
		return false, fmt.Errorf("look at %s's columns: %w", s.plan.Table, s.dsn.scrub(err))
	}
	return n > 0, nil
}

// readSwap reads from the catalog what the swap moves, forward or back.
// A column the swap cannot move yet is a *phases.RefusedError.
func (s *Session) readSwap(ctx context.Context, b builder, phase string, back bool) (swapData, error) {
	p, ct := s.plan, s.plan.ChangeType
	in, out, inSuffix, outSuffix := swapNames(ct, back)
	d := swapData{Schema: p.Schema, Table: p.Table, Column: ct.Column, In: in, OutName: out,
		CheckName: phases.FitIdent("shepherd_nn_" + p.Table + "_" + in)}
	col := sqlData{Schema: p.Schema, Table: p.Table, Column: ct.Column}
	var identity, generated, seqType, colType string
	if err := s.queryRow(ctx, s.db, "swap-column", col, nil, &d.NotNull, &identity, &generated, &d.Default, &d.Sequence, &seqType, &colType); err != nil {
		return d, fmt.Errorf("%s: read %s.%s from the catalog: %w", phase, p.Table, ct.Column, s.dsn.scrub(err))
	}
	var refused []string
	if identity != "" {
		refused = append(refused, fmt.Sprintf("%s is an identity column (GENERATED … AS IDENTITY), which the swap does not move yet", ct.Column))
	}
	if generated != "" {
		refused = append(refused, fmt.Sprintf("%s is a generated column", ct.Column))
	}
	if newType, _ := ct.Type.For(s.d.name()); !back && d.Sequence != "" && widensSequence(newType, seqType) {
		d.SequenceAs = "bigint"
	}
	rows, err := s.query(ctx, s.db, "swap-indexes", col, nil)
	if err != nil {
		return d, fmt.Errorf("%s: read the indexes on %s.%s: %w", phase, p.Table, ct.Column, s.dsn.scrub(err))
	}
	defer rows.Close()
	for rows.Next() {
		var ix swapIndex
		var exprs bool
		var cols string
		if err := rows.Scan(&ix.Name, &ix.Unique, &ix.Primary, &ix.Method, &ix.Constraint, &exprs, &ix.Where, &cols); err != nil {
			return d, fmt.Errorf("%s: read the indexes on %s.%s: %w", phase, p.Table, ct.Column, s.dsn.scrub(err))
		}
		if exprs {
			refused = append(refused, fmt.Sprintf("the index %s has expressions, which the swap does not rewrite yet", ix.Name))
			continue
		}
		if err := json.Unmarshal([]byte(cols), &ix.Columns); err != nil {
			return d, fmt.Errorf("%s: read the columns of the index %s: %w", phase, ix.Name, err)
		}
		for i, c := range ix.Columns {
			if c == ct.Column {
				ix.Columns[i] = in
			}
		}
		ix.Mirror, ix.Aside = phases.FitIdent(ix.Name+inSuffix), phases.FitIdent(ix.Name+outSuffix)
		d.Indexes = append(d.Indexes, ix)
	}
	if err := rows.Err(); err != nil {
		return d, s.dsn.scrub(err)
	}
	cons, err := s.readSwapConstraints(ctx, col)
	if err != nil {
		return d, fmt.Errorf("%s: read the constraints on %s.%s: %w", phase, p.Table, ct.Column, err)
	}
	for _, c := range cons {
		if c.Kind == "x" {
			refused = append(refused, fmt.Sprintf("the exclusion constraint %s names %s, which the swap does not move yet", c.Name, ct.Column))
		}
	}
	d.Constraints = cons
	if len(refused) > 0 {
		return d, &phases.RefusedError{Phase: phase, Reason: fmt.Sprintf("change-column-type cannot swap %s.%s: %s; nothing was changed", p.Table, ct.Column, strings.Join(refused, "; "))}
	}
	// The trigger function names the columns: rebound in the swap's
	// transaction to their names after it.
	install, err := b.swappedSync(back)
	if err != nil {
		return d, err
	}
	for _, st := range install {
		d.SyncSteps = append(d.SyncSteps, st.SQL)
	}
	return d, nil
}

// readSwapConstraints reads the CHECKs and foreign keys that name the
// column, and the foreign keys that reference it.
func (s *Session) readSwapConstraints(ctx context.Context, col sqlData) ([]swapConstraint, error) {
	rows, err := s.query(ctx, s.db, "swap-constraints", col, nil)
	if err != nil {
		return nil, s.dsn.scrub(err)
	}
	defer rows.Close()
	var out []swapConstraint
	for rows.Next() {
		var c swapConstraint
		if err := rows.Scan(&c.Name, &c.Kind, &c.Qualified, &c.Def, &c.Other); err != nil {
			return nil, s.dsn.scrub(err)
		}
		c.On = c.Qualified
		out = append(out, c)
	}
	return out, s.dsn.scrub(rows.Err())
}

// widensSequence reports whether a serial's sequence of type seqType must
// become bigint for a column of type newType: a bigint column fed by an
// integer sequence would still run out where the integer did.
func widensSequence(newType, seqType string) bool {
	t := strings.ToLower(strings.TrimSpace(newType))
	return (t == "bigint" || t == "int8") && seqType != "" && seqType != "bigint"
}

// swapScript renders the swap (or its rollback) from the live catalog.
func (s *Session) swapScript(ctx context.Context, b builder, phase string, back bool) (templates.Script, swapData, error) {
	d, err := s.readSwap(ctx, b, phase, back)
	if err != nil {
		return nil, d, err
	}
	script, err := b.sql.Script("swap", d)
	return script, d, err
}

// offlineSwap is the swap as `plan` shows it without a database: a
// serial primary key, the usual case of the playbook; with a database the
// catalog says what moves.
func (b builder) offlineSwap(back bool) (templates.Script, error) {
	p, ct := b.plan, b.plan.ChangeType
	in, out, inSuffix, _ := swapNames(ct, back)
	b.gap("what the swap moves (indexes, constraints, the primary key, foreign keys that reference " + ct.Column + ", its default) is read from the live catalog; shown here for a serial primary key")
	pkey := phases.FitIdent(p.Table + "_pkey")
	d := swapData{Schema: p.Schema, Table: p.Table, Column: ct.Column, In: in, OutName: out,
		CheckName: phases.FitIdent("shepherd_nn_" + p.Table + "_" + in), NotNull: true,
		Default:  "nextval('" + p.Table + "_" + ct.Column + "_seq'::regclass)",
		Sequence: p.Table + "_" + ct.Column + "_seq",
		Indexes:  []swapIndex{{Name: pkey, Mirror: phases.FitIdent(pkey + inSuffix), Unique: true, Primary: true, Method: "btree", Columns: []string{in}, Constraint: pkey}}}
	if t, _ := ct.Type.For(b.d.name()); !back && widensSequence(t, "integer") {
		d.SequenceAs = "bigint"
	}
	install, err := b.swappedSync(back)
	if err != nil {
		return nil, err
	}
	for _, st := range install {
		d.SyncSteps = append(d.SyncSteps, st.SQL)
	}
	return b.sql.Script("swap", d)
}

// phaseSwap runs the swap, and records it done once the constraints it
// re-added are valid.
func (s *Session) phaseSwap(ctx context.Context, b builder, id string) error {
	script, d, err := s.swapScript(ctx, b, id, false)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		return s.verifySwapped(ctx, q, id, false, d)
	}))
}

// revertSwap swaps back. A swap that did not take effect has nothing to
// swap back; the constraints a swap back that committed left NOT VALID
// are validated.
func (s *Session) revertSwap(ctx context.Context, b builder, id string) error {
	done, err := s.swapped(ctx, s.db, false)
	if err != nil {
		return err
	}
	var script templates.Script
	var d swapData
	if done {
		script, d, err = s.swapScript(ctx, b, id, true)
	} else {
		d = swapData{Schema: s.plan.Schema, Table: s.plan.Table, Column: s.plan.ChangeType.Column, ValidateOnly: true}
		d.Constraints, err = s.readSwapConstraints(ctx, sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: d.Column})
		if err == nil {
			script, err = b.sql.Script("swap", d)
		}
	}
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, func(ctx context.Context, q querier) error {
		detail, err := s.verifySwapped(ctx, q, id, true, d)
		if err != nil {
			return err
		}
		if !done {
			detail = "the swap had not taken effect: nothing to swap back"
		}
		if err := s.lock.heldIn(ctx, q); err != nil {
			return err
		}
		return s.move(ctx, q, id, phases.Revert, detail)
	})
}

// verifySwapped: the column is the new one (forward) or the old one again
// (back), and no constraint that names or references it is left NOT
// VALID.
func (s *Session) verifySwapped(ctx context.Context, q querier, id string, back bool, d swapData) (string, error) {
	ct := s.plan.ChangeType
	if !d.ValidateOnly {
		done, err := s.swapped(ctx, q, back)
		if err != nil {
			return "", err
		}
		if !done {
			in, out, _, _ := swapNames(ct, back)
			return "", &VerifyError{Phase: id, What: fmt.Sprintf("%s.%s should be gone, and %s should be there", s.plan.Table, in, out)}
		}
	}
	var pending int64
	col := sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: ct.Column}
	if err := s.queryRow(ctx, q, "swap-unvalidated", col, nil, &pending); err != nil {
		return "", fmt.Errorf("%s: look at the constraints on %s.%s: %w", id, s.plan.Table, ct.Column, s.dsn.scrub(err))
	}
	if pending > 0 {
		return "", &VerifyError{Phase: id, What: fmt.Sprintf("%d constraints that name or reference %s.%s should be validated", pending, s.plan.Table, ct.Column),
			Hint: "rerun: the validation goes on where it stopped"}
	}
	var typ string
	if err := s.queryRow(ctx, q, "swap-column-type", col, nil, &typ); err != nil {
		return "", fmt.Errorf("%s: read the type of %s.%s: %w", id, s.plan.Table, ct.Column, s.dsn.scrub(err))
	}
	moved := fmt.Sprintf("%d indexes and %d constraints moved", len(d.Indexes), len(d.Constraints))
	if d.Column == "" { // verified again later: what moved is not known
		moved = "the constraints that name or reference it"
	}
	if back {
		return fmt.Sprintf("swapped back: %s.%s is %s again; %s holds the new type's values; %s", s.plan.Table, ct.Column, typ, ct.ShadowName(), moved), nil
	}
	return fmt.Sprintf("%s.%s is %s; %s holds the old values; %s, every one valid", s.plan.Table, ct.Column, typ, ct.OldName(), moved), nil
}

// postgresSwapper is the swap on PostgreSQL.
type postgresSwapper struct{}

func (postgresDialect) swapper() swapper { return postgresSwapper{} }

func (postgresSwapper) run(ctx context.Context, s *Session, b builder, id string) error {
	return s.phaseSwap(ctx, b, id)
}

func (postgresSwapper) revert(ctx context.Context, s *Session, b builder, id string) error {
	return s.revertSwap(ctx, b, id)
}

func (postgresSwapper) preview(b builder, back bool) (templates.Script, error) {
	return b.offlineSwap(back)
}

func (postgresSwapper) verify(ctx context.Context, s *Session, id string) (string, error) {
	return s.verifySwapped(ctx, s.db, id, false, swapData{})
}

// columnProblem: an identity column's sequence belongs to the column in a
// way the swap does not move yet.
func (postgresSwapper) columnProblem(c Column) string {
	if c.Auto {
		return fmt.Sprintf("%q is an identity column (GENERATED … AS IDENTITY); change-column-type does not move an identity yet: make it a serial's (a sequence and a DEFAULT nextval), or change it by hand", c.Name)
	}
	return ""
}

func (postgresSwapper) notes(p *phases.Plan) []string {
	return []string{
		"the swap's transaction holds its locks for milliseconds: everything that reads the table (index builds, the NOT NULL check's validation, the foreign keys' validation) runs before or after it, without blocking writes",
		"the swap changes the type of what " + p.ChangeType.Column + " returns: a statement a client prepared before it (pgx's statement cache, JDBC's server-side prepares) fails once per connection after it with PostgreSQL's \"cached plan must not change result type\"; the readers' deploy must prepare again on that error, or not keep prepared statements",
	}
}

func (postgresSwapper) leftBehind(ctx context.Context, s *Session) string {
	return s.swapLeavesBehind(ctx)
}

// blockers: nothing beyond what the swap refuses as it reads the catalog.
func (postgresSwapper) blockers(context.Context, *Session) ([]string, error) { return nil, nil }
