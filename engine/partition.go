package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Partitioning is what introspection found of a PostgreSQL table declared
// PARTITION BY (relkind 'p'); Table.Partition is nil for any other table.
//
// PostgreSQL cannot build an index CONCURRENTLY on a partitioned table, nor
// turn an index into a constraint there (ADD CONSTRAINT … USING INDEX), so a
// UNIQUE on one is built partition by partition (the template
// "add-unique-partitioned"): each partition's index CONCURRENTLY, made its
// own constraint, then the parent's constraint added ONLY to the parent
// (an invalid index, no row read), and each partition's index attached to
// it, after which the parent's index is valid.
type Partitioning struct {
	Strategy string // list, range or hash
	// Key are the partition key's columns, in order; Expression is set
	// when a part of the key is an expression (it has no column).
	Key        []string
	Expression bool
	Partitions []Partition // by schema, then name
}

// Partition is one partition of a partitioned table.
type Partition struct {
	Schema, Name string
	// Partitioned is a partition that is itself partitioned (a
	// sub-partition level); Foreign a foreign table, which has no index.
	Partitioned, Foreign bool
	Indexes              []PartitionIndex
}

// PartitionIndex is one index of a partition: enough to find the one
// add-constraint builds there, and whether a failed build left it INVALID.
type PartitionIndex struct {
	Name  string
	Valid bool
}

// partitionIndex is one partition's part of a partitioned UNIQUE, for the
// templates (sqlData.Partitions): the partition, the name of the index
// (and constraint) add-constraint builds on it, and whether it is the
// last (its attach is the step that commits with the phase's state).
type partitionIndex struct {
	Schema, Table, Index string
	Last                 bool
}

// partitionIndexName is the name of the index, and of the constraint made
// from it, that a UNIQUE named constraint has on a partition: index names
// are per schema, so every partition's needs a name of its own. FitIdent
// keeps it within PostgreSQL's 63 bytes with a hash of the whole name, so
// two long partition names never give one name.
func partitionIndexName(constraint, partition string) string {
	return phases.FitIdent(constraint + "_" + partition)
}

// partitioned reports whether t is a partitioned table (nil-safe).
func (t *Table) partitioned() bool { return t != nil && t.Partition != nil }

// missingKey lists the partition key's columns that cols does not include.
func (p *Partitioning) missingKey(cols []string) []string {
	var missing []string
	for _, k := range p.Key {
		if !slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, k) }) {
			missing = append(missing, k)
		}
	}
	return missing
}

// keyText shows the partition key, an expression part as such.
func (p *Partitioning) keyText() string {
	parts := slices.Clone(p.Key)
	if p.Expression {
		parts = append(parts, "an expression")
	}
	return fmt.Sprintf("PARTITION BY %s (%s)", strings.ToUpper(p.Strategy), strings.Join(parts, ", "))
}

// indexes are the per-partition indexes of the UNIQUE named constraint.
func (p *Partitioning) indexes(constraint string) []partitionIndex {
	var out []partitionIndex
	for i, part := range p.Partitions {
		out = append(out, partitionIndex{Schema: part.Schema, Table: part.Name,
			Index: partitionIndexName(constraint, part.Name), Last: i == len(p.Partitions)-1})
	}
	return out
}

// ownsIndex reports whether name is the index (or constraint) the UNIQUE
// named constraint has on one of t's partitions: the database names it
// when a write breaks the constraint (nil-safe).
func (t *Table) ownsIndex(constraint, name string) bool {
	if !t.partitioned() {
		return false
	}
	for _, part := range t.Partition.Partitions {
		if strings.EqualFold(name, partitionIndexName(constraint, part.Name)) {
			return true
		}
	}
	return false
}

// partitionIndexLeft reports whether a partition of t still has an index
// that add-constraint builds for the UNIQUE named constraint (built, or
// left INVALID by a build that failed): a rollback must drop it
// (nil-safe).
func (t *Table) partitionIndexLeft(constraint string) bool {
	if !t.partitioned() {
		return false
	}
	for _, part := range t.Partition.Partitions {
		want := partitionIndexName(constraint, part.Name)
		if slices.ContainsFunc(part.Indexes, func(ix PartitionIndex) bool { return ix.Name == want }) {
			return true
		}
	}
	return false
}

// checkPartitionedUnique is tighten's check of a UNIQUE on a partitioned
// table, before anything changes: PostgreSQL requires the constraint to
// include every column of the partition key (and refuses one on a key with
// an expression), and shepherd builds it one partition level deep only.
// ran says whether add-constraint already ran: its own indexes on the
// partitions are then an earlier attempt's, to resume.
func checkPartitionedUnique(t *Table, c *phases.Constraint, ran bool, problems *[]string) {
	if !t.partitioned() || c.Kind() != phases.UniqueConstraint {
		return
	}
	p := t.Partition
	if p.Expression {
		addProblem(problems, "constraint.unique: %s is partitioned on an expression (%s), and PostgreSQL refuses a UNIQUE constraint on a partitioned table whose partition key has an expression; enforce it on each partition by hand, or repartition %s on columns",
			t.Name, p.keyText(), t.Name)
		return
	}
	if missing := p.missingKey(c.Unique); len(missing) > 0 {
		addProblem(problems, "constraint.unique: %s is partitioned (%s), and PostgreSQL requires a unique constraint on a partitioned table to include every partition key column; (%s) lacks %s: add %s to constraint.unique (uniqueness is then per value of the partition key), or enforce it another way",
			t.Name, p.keyText(), strings.Join(c.Unique, ", "), strings.Join(missing, ", "), strings.Join(missing, ", "))
		return
	}
	for _, part := range p.Partitions {
		switch {
		case part.Partitioned:
			addProblem(problems, "constraint.unique: %s's partition %s is itself partitioned, and shepherd builds a UNIQUE on a partitioned table one level deep only; add it to %s's partitions by hand, or enforce it another way", t.Name, part.Name, part.Name)
		case part.Foreign:
			addProblem(problems, "constraint.unique: %s's partition %s is a foreign table, which PostgreSQL cannot index; a UNIQUE on %s cannot be added", t.Name, part.Name, t.Name)
		case !ran:
			want := partitionIndexName(c.Name, part.Name)
			for _, ix := range part.Indexes {
				// An INVALID one is a failed build's: the script drops it
				// and builds again. A valid one is not shepherd's to adopt.
				if ix.Name == want && ix.Valid {
					addProblem(problems, "constraint.name: %s's partition %s already has an index %q, the name add-constraint gives the constraint's index on that partition; drop it, or choose another constraint.name", t.Name, part.Name, want)
				}
			}
		}
	}
}

// partitionedOp is the script that adds or drops a UNIQUE (op: add-unique,
// drop-unique) on t, a partitioned table's own when t is one.
func partitionedOp(op string, t *Table) string {
	if t.partitioned() && (op == "add-unique" || op == "drop-unique") {
		return op + "-partitioned"
	}
	return op
}

// partitionedIndexInvalid reports whether t is partitioned and its index
// named name is INVALID: the parent's constraint is there, but not every
// partition's index is attached to it yet, so it is not in force
// everywhere (nil-safe).
func (t *Table) partitionedIndexInvalid(name string) bool {
	if !t.partitioned() {
		return false
	}
	ix, ok := t.Index(name)
	return ok && !ix.Valid
}

// checkPartitionedIndex is add-index's check of a partitioned table, before
// anything changes: shepherd builds one partition level deep, a foreign
// partition takes no index, and the names the build gives the partitions'
// indexes must be free (an INVALID one is a failed build's, to drop and
// build again). ran says whether create-index already ran.
func checkPartitionedIndex(t *Table, name string, ran bool, problems *[]string) {
	if !t.partitioned() {
		return
	}
	for _, part := range t.Partition.Partitions {
		switch {
		case part.Partitioned:
			addProblem(problems, "table: %s's partition %s is itself partitioned, and shepherd builds an index on a partitioned table one level deep only; index %s's partitions by hand first", t.Name, part.Name, part.Name)
		case part.Foreign:
			addProblem(problems, "table: %s's partition %s is a foreign table, which PostgreSQL cannot index; an index on %s cannot be built", t.Name, part.Name, t.Name)
		case !ran:
			want := partitionIndexName(name, part.Name)
			for _, ix := range part.Indexes {
				if ix.Name == want && ix.Valid {
					addProblem(problems, "index.name: %s's partition %s already has an index %q, the name create-index gives the index on that partition; drop it, or choose another index.name", t.Name, part.Name, want)
				}
			}
		}
	}
}
