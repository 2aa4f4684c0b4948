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
	// Method is how the server does it where a lock mode does not say
	// (MySQL: a table copy (ALGORITHM=COPY)), and Reason the server's own
	// reason for refusing the online forms.
	Method string `json:"method,omitempty"`
	Reason string `json:"server_reason,omitempty"`
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
	f := Finding{Table: a.Table, Lock: obs.Locks[a.Table], Rewrite: obs.Rewritten[a.Table], action: a,
		Method: obs.Method[a.Table], Reason: obs.Reason[a.Table]}
	online := obs.Online[a.Table]
	switch a.Kind {
	case AddColumn:
		switch {
		case f.Rewrite:
			f.Check = "add-column-rewrite"
			f.Rule = ruleNullable
			f.Why = "the rehearsal saw the server rewrite the table to add it" + serverSaid(f) + ": the column's value is computed per row (a volatile default such as gen_random_uuid(), or a stored generated column) or the server cannot add it in the catalog alone, so every row is written again"
		case a.NotNull && !a.HasDefault && a.Refused != "":
			f.Check = "add-column-not-null"
			f.Rule = ruleNullable
			f.Why = "the server refuses a NOT NULL column without a default (" + a.Refused + "), and code running during the deploy would not write it"
		case a.NotNull && !a.HasDefault:
			f.Check = "add-column-not-null"
			f.Rule = ruleNullable
			f.Why = "a NOT NULL column without a default fails on a table that has rows, and code running during the deploy does not write it: its inserts fail"
		default:
			return f, false
		}
		f.Playbook = "add-column"
		f.Safe = "add the column nullable, deploy code that writes it, backfill in batches, then enforce NOT NULL (NOT VALID check, VALIDATE, SET NOT NULL)"
	case AlterType:
		if !f.Rewrite {
			return f, false // a change the server makes in the catalog only (varchar(10) → varchar(20)), or online
		}
		f.Check = "alter-column-type"
		f.Rule = ruleSplit
		f.Why = "the rehearsal saw the column's change rewrite the table and its indexes under " + orLock(f.Lock, "a lock that blocks writes") + serverSaid(f) + ": writes wait until it ends"
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
			if a.NotValid || online {
				return f, false
			}
			f.Check = "add-constraint-validated"
			f.Scan = true
			f.Why = a.Constraint + " added without NOT VALID reads every row to validate it while holding " + orLock(f.Lock, "its lock") + ", which blocks writes"
			if f.Method != "" {
				f.Why = "the server adds the " + a.Constraint + " by " + f.Method + ", validating every row while holding " + orLock(f.Lock, "its lock") + reasonOf(f) + "; writes wait until it ends"
			}
			f.Safe = "add it NOT VALID (a brief lock), clean the rows that break it, then VALIDATE CONSTRAINT, which lets reads and writes go on"
		case "UNIQUE", "PRIMARY KEY", "EXCLUDE":
			if strings.Contains(strings.ToUpper(a.Body), "USING INDEX") || online {
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
		if a.Concurrently || online {
			return f, false
		}
		f.Check = "create-index"
		f.Scan = true
		f.Why = "CREATE INDEX without CONCURRENTLY holds " + orLock(f.Lock, "a lock that blocks writes") + serverSaid(f) + " on the table while it reads every row: writes wait until the index is built"
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
	case RenameTable:
		f.Check = "rename-table"
		f.Rule = ruleSplit
		f.Why = "code already running reads and writes the old name and fails as soon as the rename commits"
		f.Safe = "create the new table (or a view under the new name), write both, backfill, switch reads, then drop the old one in a later release"
	case DropTable:
		f.Check = "drop-table"
		f.Rule = ruleDrop
		f.Why = "code already running that reads or writes the table fails as soon as the drop commits, and its rows are gone"
		f.Safe = "deploy code that no longer uses the table, archive its rows, then drop it in a later release"
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

// serverSaid is how the server said it does it, where it did: " (a table
// copy (ALGORITHM=COPY): Cannot change column type)".
func serverSaid(f Finding) string {
	switch {
	case f.Method != "" && f.Reason != "":
		return " (" + f.Method + ": " + f.Reason + ")"
	case f.Method != "":
		return " (" + f.Method + ")"
	}
	return ""
}

// reasonOf is the server's reason, in parentheses, or "".
func reasonOf(f Finding) string {
	if f.Reason == "" {
		return ""
	}
	return " (" + f.Reason + ")"
}

// referenced is the finding on the table a foreign key references, when
// the rehearsal saw the statement lock it too: writes to it wait as long.
func referenced(f Finding, obs Observed, existing map[string]bool) (Finding, bool) {
	a := f.action
	ref := a.RefTable
	if f.Check != "add-constraint-validated" || ref == "" || ref == a.Table || !existing[ref] || obs.Locks[ref] == "" {
		return Finding{}, false
	}
	r := f
	r.Table, r.Lock, r.Rewrite, r.Scan, r.Method, r.Reason = ref, obs.Locks[ref], false, false, "", ""
	r.Check = "add-foreign-key-referenced"
	r.Why = fmt.Sprintf("the foreign key added to %s takes %s on %s, the table it references, until every row of %s is validated: writes to %s wait too",
		a.Table, r.Lock, ref, a.Table, ref)
	return r, true
}

// rebuild is the finding for a table the rehearsal saw rebuilt by
// statements that name it only at their end (SQLite's CREATE TABLE
// __new_x, INSERT … SELECT, DROP TABLE x, ALTER TABLE __new_x RENAME TO x).
func rebuild(table string, obs Observed) Finding {
	f := Finding{Table: table, Check: "rebuild-table", Lock: obs.Locks[table], Rewrite: true, Method: obs.Method[table],
		Reason: obs.Reason[table], Rule: ruleSplit, action: Action{Table: table}}
	change := "a change (a column's type, NOT NULL, a foreign key) the server's ALTER TABLE cannot make"
	if f.Reason != "" {
		change = f.Reason
	}
	f.Why = "the statements up to this one rebuild " + table + " (copy every row into a new table, drop it, rename the copy in its place) for this change: " +
		change + "; writes wait under " + orLock(f.Lock, "the write lock") + " for the whole copy"
	f.Safe = "change the table in steps that do not rebuild it (ADD COLUMN, then a backfill in batches), or rebuild it when writes can wait; shepherd's playbooks (add-column, change-column-type, tighten-constraint) run such a change in phases"
	return f
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
		if f.action.Refused != "" {
			return fmt.Sprintf("ADD COLUMN %s NOT NULL without a default on %s: the server refuses it (%s)", f.action.Column, f.Table, count)
		}
		return fmt.Sprintf("ADD COLUMN %s NOT NULL without a default on %s: fails once the table has rows, or fills them with a value no one chose (%s)", f.action.Column, f.Table, count)
	case f.Rewrite && f.Method != "":
		return fmt.Sprintf("needs %s on %s while %s are copied; writes blocked", f.Method, f.Table, size)
	case f.Rewrite:
		return fmt.Sprintf("%s on %s while %s are rewritten", lock, f.Table, size)
	case f.Scan:
		return fmt.Sprintf("%s on %s while %s are scanned", lock, f.Table, size)
	case f.Check == "add-foreign-key-referenced":
		return fmt.Sprintf("%s on %s (%s) while the rows of %s are validated", lock, f.Table, count, f.action.Table)
	}
	what := f.Table
	if f.Check != "rename-table" && f.Check != "drop-table" {
		what += "." + f.action.Column
	}
	if f.Lock == "" {
		verb := strings.ToUpper(strings.ReplaceAll(f.Check, "-", " "))
		return fmt.Sprintf("%s on %s: running code that uses %s fails once it commits", verb, f.Table, what)
	}
	return fmt.Sprintf("%s on %s, then running code that uses %s fails", lock, f.Table, what)
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
