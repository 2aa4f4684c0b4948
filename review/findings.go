package review

import (
	"fmt"
	"strings"
)

// Finding is one unsafe statement (or file), with the safe way to do it.
type Finding struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Statement string `json:"statement,omitempty"`
	// Check names what was found, such as add-column-not-null.
	Check string `json:"check"`
	Table string `json:"table"`
	// Lock is the strongest lock the rehearsal saw the statement take on
	// Table; Rewrite and Scan say whether it rewrote or read every row.
	Lock    string `json:"lock,omitempty"`
	Rewrite bool   `json:"rewrite"`
	Scan    bool   `json:"scan"`
	// Rows is the target's estimate of Table's rows (-1: never analyzed);
	// OnTarget says whether the target has the table at all.
	Rows     int64 `json:"rows"`
	OnTarget bool  `json:"on_target"`
	// Problem says what is unsafe and what it costs on the target.
	Problem string `json:"problem"`
	// Rule quotes the Migration Operations guide where one of its rules
	// applies.
	Rule string `json:"rule,omitempty"`
	Why  string `json:"why"`
	// Playbook is the shepherd playbook that does the change safely, and
	// Safe its sequence.
	Playbook string `json:"playbook"`
	Safe     string `json:"safe_sequence"`

	action Action
}

// The guide's rules the findings quote.
const (
	ruleNullable = "Add the column as nullable or with a safe default."
	ruleLater    = "Enforce not null or stricter constraints in a later migration."
	ruleSplit    = "For zero-downtime releases, split risky schema changes into multiple deploys."
	ruleClean    = "Backfill or clean existing rows. Add the database constraint."
	ruleRename   = "Add the new column. Write to both old and new columns."
	ruleDrop     = "Drop the old column in a later release."
	ruleCombine  = "Do not combine data cleanup, read-path changes, write-path changes, and strict constraints in one high-risk migration"
)

// GuideName is how findings name the rules' source.
const GuideName = "the Migration Operations guide"

// judge says whether one action on an existing table is unsafe, from what
// the rehearsal saw it do.
func judge(a Action, obs Observed, notNullChecked bool) (Finding, bool) {
	f := Finding{Table: a.Table, Lock: obs.Locks[a.Table], Rewrite: obs.Rewritten[a.Table], action: a}
	switch a.Kind {
	case AddColumn:
		switch {
		case f.Rewrite:
			f.Check = "add-column-rewrite"
			f.Rule = ruleNullable
			f.Why = "the rehearsal saw the table rewritten: the column's value is computed per row (a volatile default such as gen_random_uuid(), or a stored generated column), so PostgreSQL writes every row again instead of keeping one default in the catalog"
		case a.NotNull && !a.HasDefault:
			f.Check = "add-column-not-null"
			f.Rule = ruleNullable
			f.Why = "a NOT NULL column without a default fails on a table that has rows, and code running during the deploy does not write it"
		default:
			return f, false
		}
		f.Playbook = "add-column"
		f.Safe = "add the column nullable, deploy code that writes it, backfill in batches, then enforce NOT NULL (NOT VALID check, VALIDATE, SET NOT NULL)"
	case AlterType:
		if !f.Rewrite {
			return f, false // a change the server makes in the catalog only (varchar(10) → varchar(20))
		}
		f.Check = "alter-column-type"
		f.Rule = ruleSplit
		f.Why = "changing the type rewrites the table and its indexes under ACCESS EXCLUSIVE: no reads or writes until it ends"
		f.Playbook = "change-column-type"
		f.Safe = "add a shadow column of the new type kept in step by a trigger, backfill it in batches, then swap it in a short transaction"
	case SetNotNull:
		if notNullChecked {
			return f, false // a validated CHECK (col IS NOT NULL) spares the scan
		}
		f.Check = "set-not-null"
		f.Scan = true
		f.Rule = ruleLater
		f.Why = "SET NOT NULL reads every row to prove none is NULL while it holds ACCESS EXCLUSIVE"
		f.Playbook = "tighten-constraint"
		f.Safe = "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT (reads and writes go on), then SET NOT NULL, which skips its scan"
	case AddConstraint:
		switch a.Constraint {
		case "CHECK", "FOREIGN KEY":
			if a.NotValid {
				return f, false
			}
			f.Check = "add-constraint-validated"
			f.Scan = true
			f.Why = a.Constraint + " added without NOT VALID reads every row to validate it while holding " + orLock(f.Lock, "its lock") + ", which blocks writes"
			f.Safe = "add it NOT VALID (a brief lock), clean the rows that break it, then VALIDATE CONSTRAINT, which lets reads and writes go on"
		case "UNIQUE", "PRIMARY KEY":
			if strings.Contains(strings.ToUpper(a.Body), "USING INDEX") {
				return f, false
			}
			f.Check = "add-constraint-index"
			f.Scan = true
			f.Why = a.Constraint + " builds its index while holding " + orLock(f.Lock, "its lock") + ": no reads or writes until it is built"
			f.Safe = "build a unique index CONCURRENTLY, then add the constraint USING INDEX"
		default:
			return f, false
		}
		f.Rule = ruleClean
		f.Playbook = "tighten-constraint"
	case CreateIndex:
		if a.Concurrently {
			return f, false
		}
		f.Check = "create-index"
		f.Scan = true
		f.Why = "CREATE INDEX without CONCURRENTLY holds SHARE on the table while it reads every row: writes wait until the index is built"
		f.Playbook = "add-index"
		f.Safe = "CREATE INDEX CONCURRENTLY (outside a transaction), check it is valid, and prove the planner uses it"
		if a.Unique {
			f.Playbook = "tighten-constraint"
			f.Safe = "clean the duplicates, CREATE UNIQUE INDEX CONCURRENTLY, then add the UNIQUE constraint USING INDEX"
		}
	case RenameColumn:
		f.Check = "rename-column"
		f.Rule = ruleRename
		f.Why = "code already running reads and writes the old name and fails as soon as the rename commits"
		f.Playbook = "rename-column"
		f.Safe = "add the new column, write both, backfill, switch reads, stop writing the old one, drop it in a later release"
	case DropColumn:
		f.Check = "drop-column"
		f.Rule = ruleDrop
		f.Why = "code already running that reads or writes the column fails as soon as the drop commits, and its values are gone"
		f.Playbook = "drop-column"
		f.Safe = "deploy code that no longer uses the column, archive its values, then drop it in a later release"
	default:
		return f, false
	}
	return f, true
}

// combined is the finding for a file that both changes rows and adds a
// constraint to an existing table.
func combined(acts []located, existing map[string]bool) (Finding, bool) {
	var data, strict *located
	for i := range acts {
		l := &acts[i]
		switch {
		case l.a.Kind == ChangeRows && existing[l.a.Table] && data == nil:
			data = l
		case (l.a.Kind == AddConstraint || l.a.Kind == SetNotNull) && existing[l.a.Table] && strict == nil:
			strict = l
		}
	}
	if data == nil || strict == nil {
		return Finding{}, false
	}
	return Finding{
		Line: data.s.Line, Statement: data.s.SQL, Check: "data-and-constraint", Table: strict.a.Table,
		Rule: ruleCombine,
		Why: fmt.Sprintf("this file changes rows (line %d) and adds a constraint (line %d) in one migration: "+
			"a cleanup that misses rows written meanwhile fails the constraint, and the two cannot be rolled back apart", data.s.Line, strict.s.Line),
		Playbook: "tighten-constraint", action: strict.a,
		Safe: "clean the rows in batches as their own phase, then add the constraint NOT VALID and VALIDATE it",
	}, true
}

func orLock(lock, none string) string {
	if lock == "" {
		return none
	}
	return lock
}

// cost says what the finding's lock costs on the target.
func (f *Finding) cost() string {
	size, count := "its rows (the target has no such table)", "the target has no such table"
	switch {
	case !f.OnTarget:
	case f.Rows < 0:
		size, count = "its rows (never counted: run ANALYZE on the target)", "never counted on the target"
	default:
		size, count = "its "+humanRows(f.Rows), "the target has "+humanRows(f.Rows)
	}
	lock := orLock(f.Lock, "a lock")
	switch {
	case f.Check == "data-and-constraint":
		return fmt.Sprintf("data cleanup and a strict constraint on %s in one migration", f.Table)
	case f.Check == "add-column-not-null":
		return fmt.Sprintf("ADD COLUMN %s NOT NULL without a default on %s: fails once the table has rows (%s)", f.action.Column, f.Table, count)
	case f.Rewrite:
		return fmt.Sprintf("%s on %s while %s are rewritten", lock, f.Table, size)
	case f.Scan:
		return fmt.Sprintf("%s on %s while %s are scanned", lock, f.Table, size)
	}
	return fmt.Sprintf("%s on %s, then running code that uses %s.%s fails", lock, f.Table, f.Table, f.action.Column)
}

// humanRows writes a row count as 12 rows, 35k rows, 1.2M rows.
func humanRows(n int64) string {
	switch {
	case n == 1:
		return "1 row"
	case n < 1000:
		return fmt.Sprintf("%d rows", n)
	case n < 1_000_000:
		return fmt.Sprintf("%sk rows", trimZero(float64(n)/1e3))
	case n < 1_000_000_000:
		return fmt.Sprintf("%sM rows", trimZero(float64(n)/1e6))
	}
	return fmt.Sprintf("%sG rows", trimZero(float64(n)/1e9))
}

func trimZero(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
}
