package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shepherd-db/shepherd/templates"
)

// drop-index on a partitioned PostgreSQL table. PostgreSQL drops no
// partitioned index CONCURRENTLY: DROP INDEX on the parent takes ACCESS
// EXCLUSIVE on it and on every partition for an instant (under the lock
// timeout, retried like every DDL), and drops the partitions' indexes
// attached to it. Nor can it build one CONCURRENTLY, so what is recorded
// before the drop is not a statement but the definition's tail (USING
// method (columns) …) and whether the index is UNIQUE, from which rollback
// builds it as add-index does on a partitioned table: each partition's
// index concurrently, the parent's ON ONLY, each attached.

// partitionedIndexDef is what drop-index records of a partitioned index:
// kept as JSON in the phase's checkpoint, where a plain table's index
// keeps its CREATE statement.
type partitionedIndexDef struct {
	Unique bool   `json:"unique"`
	Tail   string `json:"tail"`
}

// readPartitionedIndexDef reads the definition rollback needs.
func (s *Session) readPartitionedIndexDef(ctx context.Context, b builder) (string, error) {
	var unique int64
	var def partitionedIndexDef
	if err := s.queryRow(ctx, s.db, "partitioned-index-definition", b.indexData(), nil, &unique, &def.Tail); err != nil {
		return "", fmt.Errorf("read the definition of %s: %w", b.plan.IndexName(), err)
	}
	def.Unique = unique != 0
	out, err := json.Marshal(def)
	return string(out), err
}

// droppedIndexScript is drop-index's drop: on a partitioned table, the
// parent's index alone (the partitions' attached indexes go with it; no
// other index of a partition is touched).
func (b builder) droppedIndexScript() (templates.Script, error) {
	if b.seen.partitioned() {
		return b.script("drop-index-partitioned", b.indexData())
	}
	return b.dropIndex()
}

// rebuildScript is drop-index's rollback from what was recorded (def).
func (b builder) rebuildScript(def string) (templates.Script, error) {
	d := b.indexData()
	if !b.seen.partitioned() {
		d.Expr = def
		return b.script("recreate-index", d)
	}
	var pd partitionedIndexDef
	if err := json.Unmarshal([]byte(def), &pd); err != nil || pd.Tail == "" {
		return nil, fmt.Errorf("%s: the recorded definition of %s is not a partitioned index's: build it again by hand", dropIndexPhase, b.plan.IndexName())
	}
	d.Expr, d.Unique = pd.Tail, pd.Unique
	d.Partitions = b.seen.Partition.indexes(d.Name)
	return b.script("create-index-partitioned", d)
}
