{{/* SQLite: every statement shepherd runs on SQLite. See templates.go for the format. */}}

{{/* ---------- state: shepherd's own tables ---------- */}}

{{define "state-ddl"}}
-- step: creates shepherd's own tables if they are missing
CREATE TABLE IF NOT EXISTS shepherd_state (
  plan        TEXT    NOT NULL,
  phase       TEXT    NOT NULL,
  position    INTEGER NOT NULL,
  playbook    TEXT    NOT NULL,
  table_name  TEXT    NOT NULL,
  plan_hash   TEXT    NOT NULL,
  status      TEXT    NOT NULL DEFAULT 'pending',
  started_at  TEXT,
  finished_at TEXT,
  run_by      TEXT,
  checkpoint  TEXT,
  rows_done   INTEGER NOT NULL DEFAULT 0,
  detail      TEXT,
  took_effect INTEGER NOT NULL DEFAULT 1,
  rows_changed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan, phase)
)
-- step: adds took_effect to a shepherd_state an older shepherd made (its rows read 1, the safe answer)
-- applied: SELECT count(*) FROM pragma_table_info('shepherd_state') WHERE name = 'took_effect'
ALTER TABLE shepherd_state ADD COLUMN took_effect INTEGER NOT NULL DEFAULT 1
-- step: adds rows_changed to a shepherd_state an older shepherd made (a walk it left half done counts from its resume)
-- applied: SELECT count(*) FROM pragma_table_info('shepherd_state') WHERE name = 'rows_changed'
ALTER TABLE shepherd_state ADD COLUMN rows_changed INTEGER NOT NULL DEFAULT 0
-- step:
CREATE TABLE IF NOT EXISTS shepherd_log (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       TEXT NOT NULL,
  plan     TEXT NOT NULL,
  phase    TEXT NOT NULL,
  event    TEXT NOT NULL,
  actor    TEXT NOT NULL,
  sql_text TEXT,
  detail   TEXT,
  version  TEXT
)
-- step: adds version (which shepherd wrote the row) to a shepherd_log an older shepherd made (its rows have none)
-- applied: SELECT count(*) FROM pragma_table_info('shepherd_log') WHERE name = 'version'
ALTER TABLE shepherd_log ADD COLUMN version TEXT
-- step:
CREATE INDEX IF NOT EXISTS shepherd_log_plan ON shepherd_log (plan, id)
-- step: creates shepherd_control (pause, resume, tune) where an older shepherd made the others without it
CREATE TABLE IF NOT EXISTS shepherd_control (
  plan               TEXT PRIMARY KEY,
  paused             INTEGER NOT NULL DEFAULT 0,
  paused_by          TEXT,
  paused_at          TEXT,
  batch_time_ms      INTEGER,
  max_rate           REAL,
  max_replica_lag_ms INTEGER,
  tuned_by           TEXT,
  tuned_at           TEXT
)
-- step:
CREATE TABLE IF NOT EXISTS shepherd_lock (
  scope      TEXT PRIMARY KEY,
  plan       TEXT NOT NULL,
  token      TEXT NOT NULL,
  holder     TEXT NOT NULL,
  host       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  since      TEXT NOT NULL,
  expires_at TEXT NOT NULL
)
{{end}}

{{/* 1 when every table, column and index state-ddl makes is there: then
     it has nothing to do and is not run. */}}
{{define "state-complete"}}SELECT CASE WHEN (SELECT count(*) FROM sqlite_schema WHERE (type = 'table'
    AND name IN ('shepherd_state', 'shepherd_log', 'shepherd_control', 'shepherd_lock')) OR (type = 'index' AND name = 'shepherd_log_plan')) = 5
  AND (SELECT count(*) FROM pragma_table_info('shepherd_state') WHERE name IN ('took_effect', 'rows_changed')) = 2
  AND (SELECT count(*) FROM pragma_table_info('shepherd_log') WHERE name = 'version') = 1
  THEN 1 ELSE 0 END{{end}}

{{define "state-exists"}}SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'shepherd_state'{{end}}

{{/* .Cond is "effect" once shepherd_state has took_effect: else every row
     reads as having taken effect. .RowsChanged likewise for rows_changed:
     else no row changed yet. */}}
{{define "state-load"}}
SELECT phase, status, plan_hash, started_at, finished_at, run_by, checkpoint, rows_done, detail, {{if eq .Cond "effect"}}took_effect{{else}}1{{end}}, {{if .RowsChanged}}rows_changed{{else}}0{{end}}
FROM shepherd_state WHERE plan = {{param "plan"}}
{{end}}
{{define "state-has-effect"}}SELECT count(*) FROM pragma_table_info('shepherd_state') WHERE name = 'took_effect'{{end}}
{{define "state-has-changed"}}SELECT count(*) FROM pragma_table_info('shepherd_state') WHERE name = 'rows_changed'{{end}}

{{define "state-phase"}}SELECT status FROM shepherd_state WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}
{{define "state-checkpoint"}}SELECT checkpoint, rows_done, rows_changed FROM shepherd_state WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}

{{define "state-list"}}
SELECT plan, playbook, table_name, phase, status, started_at, finished_at, rows_done, detail
FROM shepherd_state ORDER BY plan, position
{{end}}

{{define "state-insert"}}
INSERT INTO shepherd_state (plan, phase, position, playbook, table_name, plan_hash, status)
VALUES ({{param "plan"}}, {{param "phase"}}, {{param "position"}}, {{param "playbook"}}, {{param "table"}}, {{param "hash"}}, 'pending')
ON CONFLICT (plan, phase) DO NOTHING
{{end}}

{{define "state-rehash"}}UPDATE shepherd_state SET plan_hash = {{param "hash"}} WHERE plan = {{param "plan"}}{{end}}

{{define "state-update"}}
UPDATE shepherd_state
SET status = {{param "status"}}, started_at = {{param "started_at"}}, finished_at = {{param "finished_at"}},
    run_by = {{param "run_by"}}, checkpoint = {{param "checkpoint"}}, rows_done = {{param "rows_done"}}, detail = {{param "detail"}},
    took_effect = {{param "took_effect"}}, rows_changed = {{param "rows_changed"}}
WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}
{{end}}

{{define "log-append"}}
INSERT INTO shepherd_log (at, plan, phase, event, actor, sql_text, detail, version)
VALUES ({{param "at"}}, {{param "plan"}}, {{param "phase"}}, {{param "event"}}, {{param "actor"}}, {{param "sql"}}, {{param "detail"}}, {{param "version"}})
{{end}}

{{/* .LogVersion is set once shepherd_log has version: else no row names one. */}}
{{define "log-list"}}
SELECT at, phase, event, actor, sql_text, detail, {{if .LogVersion}}version{{else}}NULL{{end}} FROM shepherd_log WHERE plan = {{param "plan"}} ORDER BY id
{{end}}
{{define "log-has-version"}}SELECT count(*) FROM pragma_table_info('shepherd_log') WHERE name = 'version'{{end}}

{{/* ---------- live control: pause, resume, tune (control.go) ---------- */}}

{{define "control-exists"}}SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'shepherd_control'{{end}}
{{define "control-get"}}SELECT plan, paused, paused_by, paused_at, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at FROM shepherd_control WHERE plan = {{param "plan"}}{{end}}
{{define "control-list"}}SELECT plan, paused, paused_by, paused_at, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at FROM shepherd_control{{end}}
{{define "control-pause"}}
INSERT INTO shepherd_control (plan, paused, paused_by, paused_at)
VALUES ({{param "plan"}}, {{param "paused"}}, {{param "by"}}, {{param "at"}})
ON CONFLICT (plan) DO UPDATE SET paused = excluded.paused, paused_by = excluded.paused_by, paused_at = excluded.paused_at
{{end}}
{{/* A value not given (NULL) keeps the one stored; .Cond "reset" clears them all. */}}
{{define "control-tune"}}
INSERT INTO shepherd_control (plan, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at)
VALUES ({{param "plan"}}, {{param "batch_time_ms"}}, {{param "max_rate"}}, {{param "max_replica_lag_ms"}}, {{param "by"}}, {{param "at"}})
ON CONFLICT (plan) DO UPDATE SET
{{- if eq .Cond "reset"}} batch_time_ms = NULL, max_rate = NULL, max_replica_lag_ms = NULL,
{{- else}} batch_time_ms = COALESCE(excluded.batch_time_ms, batch_time_ms), max_rate = COALESCE(excluded.max_rate, max_rate), max_replica_lag_ms = COALESCE(excluded.max_replica_lag_ms, max_replica_lag_ms),
{{- end}} tuned_by = excluded.tuned_by, tuned_at = excluded.tuned_at
{{end}}

{{define "log-last-plan"}}
SELECT detail FROM shepherd_log WHERE plan = {{param "plan"}} AND event = 'plan' ORDER BY id DESC LIMIT 1
{{end}}

{{/* ---------- runner lock: a lease row that expires unless renewed ---------- */}}

{{/* every runner lock's holder, for status */}}
{{define "lease-list"}}
SELECT scope, plan, holder, host, pid, since, expires_at FROM shepherd_lock ORDER BY scope
{{end}}

{{define "lease-get"}}
SELECT plan, token, holder, host, pid, since, expires_at FROM shepherd_lock WHERE scope = {{param "scope"}}
{{end}}

{{/* The check a write to shepherd's tables makes in its own transaction: that
     transaction holds SQLite's write lock (BEGIN IMMEDIATE), so no runner can
     take the lease over until it ends. */}}
{{define "lease-guard"}}
SELECT plan, token, holder, host, pid, since, expires_at FROM shepherd_lock WHERE scope = {{param "scope"}}
{{end}}

{{define "lease-put"}}
INSERT INTO shepherd_lock (scope, plan, token, holder, host, pid, since, expires_at)
VALUES ({{param "scope"}}, {{param "plan"}}, {{param "token"}}, {{param "holder"}}, {{param "host"}}, {{param "pid"}}, {{param "since"}}, {{param "expires"}})
ON CONFLICT (scope) DO UPDATE SET plan = excluded.plan, token = excluded.token, holder = excluded.holder,
  host = excluded.host, pid = excluded.pid, since = excluded.since, expires_at = excluded.expires_at
{{end}}

{{define "lease-renew"}}
UPDATE shepherd_lock SET expires_at = {{param "expires"}} WHERE scope = {{param "scope"}} AND token = {{param "token"}}
{{end}}

{{define "lease-release"}}DELETE FROM shepherd_lock WHERE scope = {{param "scope"}} AND token = {{param "token"}}{{end}}

{{/* ---------- introspection ---------- */}}

{{define "list-tables"}}
SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE 'shepherd\_%' ESCAPE '\' ORDER BY name
{{end}}

{{define "table-columns"}}
SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo({{bind .Table}}) ORDER BY cid
{{end}}

{{define "table-indexes"}}
SELECT il.name, il."unique", il.origin, il.partial, ii.name
FROM pragma_index_list({{bind .Table}}) AS il JOIN pragma_index_info(il.name) AS ii
ORDER BY il.name, ii.seqno
{{end}}

{{define "table-objects"}}
SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = {{bind .Table}} ORDER BY type = 'table' DESC, rowid
{{end}}

{{define "table-sequence"}}
SELECT count(*), coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = {{bind .Table}}
{{end}}

{{define "has-sequence"}}SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'{{end}}

{{define "foreign-keys-on"}}PRAGMA foreign_keys{{end}}

{{/* See postgres.sql. SQLite keeps CHECK and FOREIGN KEY names per table,
     but a UNIQUE is an index, and indexes, tables and views share the
     database's names (compared without case). */}}
{{define "name-clashes"}}
{{- if eq .Kind "unique"}}
SELECT CASE type WHEN 'index' THEN 'an index' WHEN 'table' THEN 'a table' ELSE 'a view' END,
       CASE WHEN type = 'index' THEN 'on ' || tbl_name ELSE '' END,
       'SQLite names indexes (UNIQUE builds one named like the constraint) per database'
FROM sqlite_schema WHERE type IN ('table', 'index', 'view') AND name = {{bind .Name}} COLLATE NOCASE
  AND NOT (type = 'index' AND tbl_name = {{bind .Table}})
{{- else}}SELECT '', '', '' WHERE 0{{end}}
{{end}}

{{/* See postgres.sql. SQLite's temporary tables live in the connection's
     temp database: creating one takes no lock on the main database, so no
     transaction (which would take the write lock). */}}
{{define "try-check"}}
-- step conn: an empty temporary table of this connection: no lock on {{.Table}}
CREATE TABLE temp.{{q .Table}} ({{range .Cols}}{{q .Name}} {{.Type}}, {{end}}CONSTRAINT {{q .Name}} CHECK ({{.Check}}))
-- step conn:
DROP TABLE temp.{{q .Table}}
{{end}}

{{/* An expression that becomes a column's value (backfill:, clean: set:,
     constraint.violating; change-column-type's using: when it comes) must
     be one value of one row, of a type the column takes: the engine's
     checkValue. try-expr compiles it in parentheses, as the phases write
     it (SET col = (expr)), which turns an alias, *, DISTINCT and UNION into
     syntax errors; the driver counts its columns. try-per-row puts it where
     only one row's value may stand (a WHERE, as the phases' own WHERE does):
     an aggregate or a window function, computed over many rows, is refused
     there. try-type makes an empty temporary table with one column v of the
     target's type: the type check itself (a plan's type: the server does
     not know fails here), and a column to write into. */}}
{{define "try-expr"}}SELECT ({{.Expr}}) FROM {{qt .Schema .Table}} WHERE 1 = 0{{end}}

{{define "try-per-row"}}SELECT 1 FROM {{qt .Schema .Table}} WHERE 1 = 0 AND ({{.Expr}}) IS NULL{{end}}

{{/* SQLite takes any type name (it only derives an affinity from it), and
     stores any value in any column: the table checks the type's shape. */}}
{{define "try-type"}}
-- step conn: an empty temporary table of this connection: no lock on the main database
CREATE TABLE temp.shepherd_value_probe (v {{.Type}})
{{end}}

{{define "try-type-end"}}
-- step conn:
DROP TABLE IF EXISTS temp.shepherd_value_probe
{{end}}

{{/* ---------- phase DDL ---------- */}}

{{define "add-column"}}
-- step: the database is write-locked for an instant: only the schema changes, no row is rewritten
ALTER TABLE {{qt .Schema .Table}} ADD COLUMN {{q .Column}} {{.Type}}
{{end}}

{{/* SQLite refuses to drop an indexed column: its indexes go first, in the
     same transaction */}}
{{define "drop-column"}}
{{- range .DropIndexes}}
-- step: the database is write-locked; the index on the column goes first, as SQLite cannot drop an indexed column
DROP INDEX {{q .}}
{{- end}}
-- step: the database is write-locked while SQLite rewrites the table without the column
ALTER TABLE {{qt .Schema .Table}} DROP COLUMN {{q .Column}}
{{end}}

{{/* NOT NULL, CHECK and dropping them all rebuild the table: SQLite's ALTER
     TABLE cannot change a column's constraints. The rebuild is one
     transaction that keeps every row (and rowid), index, trigger, foreign key
     and other constraint; see https://www.sqlite.org/lang_altertable.html. */}}
{{define "set-not-null"}}{{template "rebuild" .}}{{end}}
{{define "drop-not-null"}}{{template "rebuild" .}}{{end}}
{{define "add-check"}}{{template "rebuild" .}}{{end}}
{{define "drop-check"}}{{template "rebuild" .}}{{end}}
{{/* A foreign key too: the rebuilt table has it, and the foreign key check
     before commit finds any row without its parent (more problems than
     before the rebuild), which rolls the whole rebuild back. */}}
{{define "add-foreign-key"}}{{template "rebuild" .}}{{end}}
{{define "drop-foreign-key"}}{{template "rebuild" .}}{{end}}

{{define "rebuild"}}
-- step conn: foreign keys are not enforced while the table is swapped; they are checked before commit
PRAGMA foreign_keys = OFF
-- step conn: renaming the new table must not rewrite other tables' references
PRAGMA legacy_alter_table = ON
-- step check: foreign keys of {{.Table}} hold no worse than before
SELECT count(*) FROM pragma_foreign_key_check({{bind .Table}})
-- step: the database is write-locked until commit, while every row is copied (readers go on in WAL mode)
CREATE TABLE {{q .Rebuild.New}} {{.Rebuild.Definition}}
-- step:
INSERT INTO {{q .Rebuild.New}} ({{if .Rebuild.Rowid}}rowid, {{end}}{{.Rebuild.ColumnList}})
SELECT {{if .Rebuild.Rowid}}rowid, {{end}}{{.Rebuild.ColumnList}} FROM {{q .Table}}
-- step:
DROP TABLE {{q .Table}}
-- step:
ALTER TABLE {{q .Rebuild.New}} RENAME TO {{q .Table}}
{{- range .Rebuild.Objects}}
-- step:
{{.}}
{{- end}}
{{- if .Rebuild.Sequence}}
-- step: keeps AUTOINCREMENT from reusing the ids of deleted rows
DELETE FROM sqlite_sequence WHERE name = {{bind .Table}}
-- step:
INSERT INTO sqlite_sequence (name, seq) VALUES ({{bind .Table}}, {{bind .Rebuild.SequenceValue}})
{{- end}}
-- step check: {{if eq .Kind "foreign_key"}}every row of {{.Table}} has its parent in {{.RefTable}} ({{.Name}}), and the table's other foreign keys hold no worse than before{{else}}foreign keys of {{.Table}} hold no worse than before{{end}}
SELECT count(*) FROM pragma_foreign_key_check({{bind .Table}})
-- step conn:
PRAGMA legacy_alter_table = OFF
-- step conn:
PRAGMA foreign_keys = {{.Rebuild.ForeignKeys}}
{{end}}

{{define "add-unique"}}
-- step: the database is write-locked while the index is built
CREATE UNIQUE INDEX {{q .Name}} ON {{q .Table}} ({{qlist .Columns}})
{{end}}

{{/* add-index: SQLite has no online build: CREATE INDEX holds the
     database's write lock while it reads the whole table and writes the
     index. Readers go on (in WAL mode); writers wait, each up to its busy
     timeout, and fail after it. */}}
{{define "create-index"}}
-- step: the whole database is write-locked while the index is built: readers go on in WAL mode, writers wait up to their busy timeout
CREATE INDEX {{q .Name}} ON {{q .Table}} ({{qlist .Columns}}){{if .Where}} WHERE {{.Where}}{{end}}
{{end}}

{{define "drop-index"}}
-- step: the database is write-locked for an instant
DROP INDEX IF EXISTS {{q .Name}}
{{end}}

{{/* See postgres.sql. SQLite keeps each index's CREATE INDEX text; one
     without text is a UNIQUE or PRIMARY KEY constraint's own. */}}
{{define "index-definition"}}
SELECT coalesce(sql, ''), CASE WHEN sql IS NULL THEN 'a UNIQUE or PRIMARY KEY constraint of the table' ELSE '' END, 0, 1
FROM sqlite_schema WHERE type = 'index' AND name = {{bind .Name}} AND tbl_name = {{bind .Table}}
{{end}}

{{/* SQLite counts no index use. */}}
{{define "index-usage"}}SELECT 0 WHERE 0{{end}}

{{define "recreate-index"}}
-- step: the whole database is write-locked while the index is built again from its recorded definition: readers go on in WAL mode, writers wait up to their busy timeout
{{.Expr}}
{{end}}

{{/* See postgres.sql. An index SQLite lists is complete. */}}
{{define "index-state"}}
SELECT 1, 1, 'btree', il.partial, coalesce((SELECT group_concat(coalesce(name, ''), ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)), '')
FROM pragma_index_list({{bind .Table}}) il
WHERE il.name = {{bind .Name}}
{{end}}

{{define "index-progress"}}SELECT '', 0, 0, 0, 0 WHERE 0{{end}}

{{define "analyze"}}SELECT 1{{end}}

{{define "explain"}}EXPLAIN QUERY PLAN {{.Expr}}{{end}}

{{define "drop-unique"}}
-- step: the database is write-locked for an instant
DROP INDEX IF EXISTS {{q .Name}}
{{end}}

{{/* ---------- batches: keyset ranges on the key column ---------- */}}

{{/* A rowid table walked by a composite key walks its rowid (.Rowid names
     it): ranges of the table's own b-tree, in the order its pages are
     stored (engine/rowidwalk.go). */}}
{{define "range"}}{{if .Rowid}}{{if .HasLo}}{{q .Rowid}} >{{if .FromLo}}={{end}} {{param "lo"}} AND {{end}}{{q .Rowid}} <= {{param "hi"}}{{else if .Keys}}{{if .HasLo}}{{if .FromLo}}{{template "key-from-lo" .}}{{else}}{{template "key-after-lo" .}}{{end}} AND {{end}}{{template "key-upto-hi" .}}{{else}}{{if .HasLo}}{{q .Key}} >{{if .FromLo}}={{end}} {{param "lo"}} AND {{end}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}

{{/* A composite key (.Keys) is walked in the order of its tuple. SQLite (3.15+)
     serves a row-value comparison as one range of the key's index. */}}
{{define "key-after-lo"}}({{qlist .Keys}}) > ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{param (printf "lo_%d" $i)}}{{end}}){{end}}
{{define "key-from-lo"}}({{qlist .Keys}}) >= ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{param (printf "lo_%d" $i)}}{{end}}){{end}}
{{define "key-upto-hi"}}({{qlist .Keys}}) <= ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{param (printf "hi_%d" $i)}}{{end}}){{end}}
{{define "key-order"}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{q $k}}{{end}}{{end}}
{{define "key-order-desc"}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{q $k}} DESC{{end}}{{end}}

{{define "upper-bound"}}
{{- if .Rowid}}
SELECT {{q .Rowid}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Rowid}} > {{param "lo"}}{{end}} ORDER BY {{q .Rowid}} LIMIT 1 OFFSET {{param "offset"}}
{{- else if .Keys}}
SELECT {{qlist .Keys}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order" .}} LIMIT 1 OFFSET {{param "offset"}}
{{- else}}
SELECT {{q .Key}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}} ORDER BY {{q .Key}} LIMIT 1 OFFSET {{param "offset"}}
{{- end}}
{{end}}

{{/* See postgres.sql. A rowid table is read in rowid order. */}}
{{define "null-keys"}}
{{- if .Rowid}}
SELECT {{q .Rowid}}, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{q .Rowid}} > {{param "lo"}}{{end}} ORDER BY {{q .Rowid}} LIMIT {{param "limit"}}
{{- else if .Keys}}
SELECT {{qlist .Keys}}, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order" .}} LIMIT {{param "limit"}}
{{- else}}
SELECT {{q .Key}}, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{q .Key}} > {{param "lo"}}{{end}} ORDER BY {{q .Key}} LIMIT {{param "limit"}}
{{- end}}
{{end}}

{{define "last-key"}}
{{- if .Rowid}}
SELECT max({{q .Rowid}}), count(*) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Rowid}} > {{param "lo"}}{{end}}
{{- else if .Keys}}
{{/* the last key of a composite key and the rows left; no row when none is */}}
SELECT {{qlist .Keys}}, (SELECT count(*) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}}) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order-desc" .}} LIMIT 1
{{- else}}
SELECT max({{q .Key}}), count(*) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}}
{{- end}}
{{end}}

{{/* SQLite keeps no row count: an exact count while the table is small (at
     most 100,000 rows read); beyond that, the integer key's range, two
     index lookups, which the progress corrects as the batches go; a
     count when the key is not an integer. */}}
{{define "estimate-rows"}}
SELECT CASE WHEN n.c < 100000 THEN n.c ELSE {{if .Rowid}}max(n.c, (SELECT max({{q .Rowid}}) FROM {{qt .Schema .Table}}) - (SELECT min({{q .Rowid}}) FROM {{qt .Schema .Table}}) + 1){{else if .IntKey}}max(n.c, (SELECT max({{q .Key}}) FROM {{qt .Schema .Table}}) - (SELECT min({{q .Key}}) FROM {{qt .Schema .Table}}) + 1){{else}}(SELECT count(*) FROM {{qt .Schema .Table}}){{end}} END
FROM (SELECT count(*) AS c FROM (SELECT 1 FROM {{qt .Schema .Table}} LIMIT 100000)) AS n
{{end}}

{{/* Rows where the expression gives NULL are left alone: they would stay
     NULL, and the rows the update counts are the rows it filled. */}}
{{define "fill-batch"}}
-- step: the database is write-locked for one short batch
UPDATE {{qt .Schema .Table}} SET {{q .Column}} = ({{.Expr}})
WHERE {{template "range" .}} AND {{q .Column}} IS NULL AND ({{.Expr}}) IS NOT NULL
{{end}}

{{define "copy-batch"}}
-- step: the database is write-locked for one short batch
UPDATE {{qt .Schema .Table}} SET {{q .To}} = {{q .Column}}
WHERE {{template "range" .}} AND {{q .To}} IS NOT {{q .Column}}
{{end}}

{{define "clean-batch"}}
-- step: the database is write-locked for one short batch
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}
WHERE {{template "range" .}} AND {{template "violates" .}}
{{end}}

{{/* ---------- a UNIQUE clean: the duplicates, not the table ----------
     See postgres.sql. */}}
{{define "duplicate-window"}}{{if .Keys}}SELECT {{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $k}} AS shepherd_k{{$j}}{{end}}{{range $j, $k := .Keys}}, first_value({{q $k}}) OVER (PARTITION BY {{qlist $.Columns}} ORDER BY {{template "key-order" $}}) AS shepherd_f{{$j}}{{end}} FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}}{{else}}SELECT {{q .Key}} AS shepherd_key, first_value({{q .Key}}) OVER (PARTITION BY {{qlist .Columns}} ORDER BY {{q .Key}}) AS shepherd_first FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}}{{end}}{{end}}

{{define "duplicate-rows"}}
{{- if .Keys}}
SELECT {{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}}, {{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_f{{$j}}{{end}} FROM ({{template "duplicate-window" .}}) AS shepherd_w
WHERE ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}}) <> ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_f{{$j}}{{end}}){{if .HasLo}} AND ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}}) > ({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{param (printf "lo_%d" $j)}}{{end}}){{end}}
ORDER BY {{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}} LIMIT {{param "limit"}}
{{- else}}
SELECT shepherd_w.shepherd_key, shepherd_w.shepherd_first FROM ({{template "duplicate-window" .}}) AS shepherd_w
WHERE shepherd_w.shepherd_key <> shepherd_w.shepherd_first{{if .HasLo}} AND shepherd_w.shepherd_key > {{param "lo"}}{{end}}
ORDER BY shepherd_w.shepherd_key LIMIT {{param "limit"}}
{{- end}}
{{end}}

{{/* One batch of duplicates, each paired with the first row of its group
     (a VALUES list of bound pairs), which must still have its values: two
     lookups by key a row. (A correlated subquery over the list of first
     rows would look each of them up for every row of the batch.) */}}
{{define "clean-duplicates"}}
-- step: the database is write-locked for one short batch
{{- if .Keys}}
WITH shepherd_batch({{range $j, $k := .Keys}}shepherd_k{{$j}}, {{end}}{{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_f{{$j}}{{end}}) AS (VALUES {{range $i, $d := .Dups}}{{if $i}}, {{end}}({{range $j, $k := $.Keys}}{{param (printf "%s_%d" $d.Key $j)}}, {{end}}{{range $j, $k := $.Keys}}{{if $j}}, {{end}}{{param (printf "%s_%d" $d.First $j)}}{{end}}){{end}})
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}
FROM shepherd_batch
WHERE {{range $j, $k := .Keys}}{{if $j}} AND {{end}}{{q $.Table}}.{{q $k}} = shepherd_batch.shepherd_k{{$j}}{{end}}
  AND EXISTS (SELECT 1 FROM {{qt .Schema .Table}} AS shepherd_dup WHERE {{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_dup.{{q $k}} = shepherd_batch.shepherd_f{{$j}}{{end}}{{range .Columns}} AND shepherd_dup.{{q .}} = {{q $.Table}}.{{q .}}{{end}} AND ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_dup.{{q $k}}{{end}}) < ({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $.Table}}.{{q $k}}{{end}}))
{{- else}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}
FROM (SELECT column1 AS shepherd_key, column2 AS shepherd_first FROM (VALUES {{range $i, $d := .Dups}}{{if $i}}, {{end}}({{param $d.Key}}, {{param $d.First}}){{end}})) AS shepherd_batch
WHERE {{q .Table}}.{{q .Key}} = shepherd_batch.shepherd_key
  AND EXISTS (SELECT 1 FROM {{qt .Schema .Table}} AS shepherd_dup WHERE shepherd_dup.{{q .Key}} = shepherd_batch.shepherd_first{{range .Columns}} AND shepherd_dup.{{q .}} = {{q $.Table}}.{{q .}}{{end}} AND shepherd_dup.{{q .Key}} < {{q .Table}}.{{q .Key}})
{{- end}}
{{end}}

{{/* ---------- checks on the real data ---------- */}}

{{define "null-rows"}}{{q .Column}} IS NULL{{end}}
{{define "diff-rows"}}{{q .To}} IS NOT {{q .Column}}{{end}}

{{/* See postgres.sql. */}}
{{define "duplicate"}}{{if .Keys}}({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $.Table}}.{{q $k}}{{end}}) IN (SELECT {{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}} FROM ({{template "duplicate-window" .}}) AS shepherd_w WHERE ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}}) <> ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_f{{$j}}{{end}})){{else}}{{q .Table}}.{{q .Key}} IN (SELECT shepherd_w.shepherd_key FROM ({{template "duplicate-window" .}}) AS shepherd_w WHERE shepherd_w.shepherd_key <> shepherd_w.shepherd_first){{end}}{{end}}

{{define "violates"}}
{{- if eq .Kind "not_null"}}{{q .Column}} IS NULL
{{- else if eq .Kind "unique"}}{{template "duplicate" .}}
{{- else if eq .Kind "foreign_key"}}{{template "orphan" .}}
{{- else}}NOT ({{.Check}}){{end}}
{{- end}}

{{/* See postgres.sql. */}}
{{define "orphan"}}{{range .Columns}}{{q $.Table}}.{{q .}} IS NOT NULL AND {{end}}NOT EXISTS (SELECT 1 FROM {{qt .RefSchema .RefTable}} AS shepherd_parent WHERE {{range $i, $c := .RefColumns}}{{if $i}} AND {{end}}shepherd_parent.{{q $c}} = {{q $.Table}}.{{q (index $.Columns $i)}}{{end}}){{end}}

{{define "absent-key"}}(SELECT {{if eq .Cond "int"}}coalesce(max({{q .Column}}), 0) + 2{{else}}coalesce(max({{q .Column}}), '') || 'x'{{end}} FROM {{qt .RefSchema .RefTable}}){{end}}

{{/* See postgres.sql. */}}
{{define "parent-key"}}SELECT shepherd_parent.{{q .Column}} FROM {{qt .RefSchema .RefTable}} AS shepherd_parent ORDER BY {{range $i, $c := .RefColumns}}{{if $i}}, {{end}}shepherd_parent.{{q $c}}{{end}} LIMIT 1{{end}}

{{define "count-where"}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "cond" .}}{{end}}
{{define "sample-where"}}{{if .Keys}}SELECT {{qlist .Keys}} FROM {{qt .Schema .Table}} WHERE {{template "cond" .}} ORDER BY {{template "key-order" .}} LIMIT 5{{else}}SELECT {{q .Key}} FROM {{qt .Schema .Table}} WHERE {{template "cond" .}} ORDER BY {{q .Key}} LIMIT 5{{end}}{{end}}
{{define "cond"}}
{{- if eq .Cond "null"}}{{template "null-rows" .}}
{{- else if eq .Cond "unfilled"}}{{template "null-rows" .}} AND ({{.Expr}}) IS NOT NULL
{{- else if eq .Cond "null-expr"}}{{template "null-rows" .}} AND ({{.Expr}}) IS NULL
{{- else if eq .Cond "diff"}}{{template "diff-rows" .}}
{{- else if eq .Cond "lost"}}{{q .Column}} IS NOT NULL AND {{q .To}} IS NULL
{{- else if eq .Cond "new-only"}}{{q .To}} IS NOT NULL AND {{template "diff-rows" .}}
{{- else if eq .Cond "unreproduced"}}CASE WHEN {{q .Column}} IS NULL THEN 0 ELSE {{q .Column}} IS NOT ({{.Expr}}) END
{{- else}}{{template "violates" .}}{{end}}
{{- if .Bounded}} AND {{if .Rowid}}{{q .Rowid}} <= {{param "hi"}}{{else if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}
{{- end}}


{{/* whether any row has a value in the column: one row read at most */}}
{{define "column-has-values"}}SELECT count(*) FROM (SELECT 1 FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NOT NULL LIMIT 1) AS shepherd_any{{end}}
{{define "column-exists"}}SELECT count(*) FROM pragma_table_info({{bind .Table}}) WHERE name = {{bind .Column}}{{end}}
{{define "column-nullable"}}SELECT count(*) FROM pragma_table_info({{bind .Table}}) WHERE name = {{bind .Column}} AND "notnull" = 0{{end}}
{{define "column-not-null"}}SELECT count(*) FROM pragma_table_info({{bind .Table}}) WHERE name = {{bind .Column}} AND "notnull" = 1{{end}}

{{/* verify-failure-path: a violating write, inside a transaction that is rolled back */}}
{{define "violating-update"}}
{{- if .Keys}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}} WHERE {{range $j, $k := .Keys}}{{if $j}} AND {{end}}{{q $k}} = {{param (printf "key_%d" $j)}}{{end}}
{{- else}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}} WHERE {{q .Key}} = {{param "key"}}
{{- end}}
{{end}}

{{/* verify-failure-path on a table with too few rows to write to: a row
     inserted inside a transaction that is rolled back */}}
{{define "violating-insert"}}
INSERT INTO {{qt .Schema .Table}} ({{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}}{{end}}) VALUES ({{range $i, $s := .Set}}{{if $i}}, {{end}}({{$s.Expr}}){{end}})
{{end}}

{{define "first-keys"}}{{if .Keys}}SELECT {{qlist .Keys}} FROM {{qt .Schema .Table}} ORDER BY {{template "key-order" .}} LIMIT 2{{else}}SELECT {{q .Key}} FROM {{qt .Schema .Table}} ORDER BY {{q .Key}} LIMIT 2{{end}}{{end}}

{{define "duplicate-update"}}
{{- if .Keys}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $c := .Columns}}{{if $i}}, {{end}}{{q $c}} = (SELECT shepherd_src.{{q $c}} FROM {{qt $.Schema $.Table}} AS shepherd_src WHERE {{range $j, $k := $.Keys}}{{if $j}} AND {{end}}shepherd_src.{{q $k}} = {{param (printf "other_%d" $j)}}{{end}}){{end}}
WHERE {{range $j, $k := .Keys}}{{if $j}} AND {{end}}{{q $k}} = {{param (printf "key_%d" $j)}}{{end}}
{{- else}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $c := .Columns}}{{if $i}}, {{end}}{{q $c}} = (SELECT shepherd_src.{{q $c}} FROM {{qt $.Schema $.Table}} AS shepherd_src WHERE shepherd_src.{{q $.Key}} = {{param "other"}}){{end}}
WHERE {{q .Key}} = {{param "key"}}
{{- end}}
{{end}}

{{/* verify-failure-path's connection: SQLite checks foreign keys only on
     connections that turn them on; the application's must too. */}}
{{define "proof-setup"}}
-- step conn: foreign keys are checked on this connection
PRAGMA foreign_keys = ON
{{end}}

{{define "savepoint"}}SAVEPOINT shepherd_probe{{end}}
{{define "rollback-to-savepoint"}}ROLLBACK TO SAVEPOINT shepherd_probe{{end}}

{{/* ---------- export: guards of migration files ----------
     See postgres.sql. Exported files run it inside their transaction, so a
     failed guard leaves nothing behind. */}}
{{define "export-guard"}}
-- step: a temporary table of this connection only: no lock on any other table
CREATE TEMPORARY TABLE shepherd_guard (rows_found INTEGER NOT NULL, CONSTRAINT {{q .Name}} CHECK (rows_found = 0))
{{- if .Cond}}
-- step: reads every row of {{.Table}} once, inside the migration's transaction
INSERT INTO shepherd_guard (rows_found) {{template "guard-count" .}}
{{- else}}
-- step: fails on purpose: the CHECK refuses 1
INSERT INTO shepherd_guard (rows_found) VALUES (1)
{{- end}}
-- step:
DROP TABLE temp.shepherd_guard
{{end}}

{{/* the rows a guard counts; "duplicates" counts the groups of rows that a
     unique constraint on .Columns would refuse (a NULL is never a duplicate) */}}
{{define "guard-count"}}
{{- if eq .Cond "duplicates"}}SELECT count(*) FROM (SELECT 1 FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}} GROUP BY {{qlist .Columns}} HAVING count(*) > 1) AS shepherd_dups
{{- else}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "cond" .}}{{end}}
{{- end}}

{{/* ---------- rename-column: what uses the old column ----------
     One row per object that uses the column: kind, name, the table or view
     it is on, its columns (comma-separated), whether it is a partial or
     expression index, its definition, and whether the engine must find the
     column's name in the definition (1: views, triggers and expression
     indexes are text in sqlite_schema). SQLite itself refuses to drop a
     column a CHECK or a generated column uses. */}}
{{define "column-dependents"}}
SELECT CASE WHEN il.origin = 'pk' THEN 'primary-key' WHEN il.origin = 'u' THEN 'table-unique' WHEN il."unique" THEN 'unique' ELSE 'index' END,
  il.name, {{bind .Table}},
  (SELECT group_concat(coalesce(x.name, ''), ',') FROM (SELECT name FROM pragma_index_xinfo(il.name) WHERE key ORDER BY seqno) AS x),
  il.partial OR EXISTS (SELECT 1 FROM pragma_index_xinfo(il.name) WHERE key AND cid = -2),
  coalesce((SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = il.name), ''),
  NOT EXISTS (SELECT 1 FROM pragma_index_info(il.name) WHERE name = {{bind .Column}})
FROM pragma_index_list({{bind .Table}}) AS il
WHERE EXISTS (SELECT 1 FROM pragma_index_info(il.name) WHERE name = {{bind .Column}})
   OR il.partial OR EXISTS (SELECT 1 FROM pragma_index_xinfo(il.name) WHERE key AND cid = -2)
UNION ALL
SELECT 'foreign-key', 'foreign key ' || f.id, {{bind .Table}}, group_concat(f."from", ','), 0,
  'FOREIGN KEY (' || group_concat(f."from", ', ') || ') REFERENCES ' || f."table" || ' (' || group_concat(coalesce(f."to", ''), ', ') || ')', 0
FROM pragma_foreign_key_list({{bind .Table}}) AS f
GROUP BY f.id HAVING sum(f."from" = {{bind .Column}}) > 0
UNION ALL
SELECT 'referenced-by', 'foreign key ' || f.id, m.name, '', 0, '', 0
FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table' AND f."table" = {{bind .Table}} AND f."to" = {{bind .Column}}
UNION ALL
SELECT 'view', name, name, '', 0, sql, 1 FROM sqlite_schema WHERE type = 'view' AND sql LIKE '%' || {{bind .Table}} || '%'
UNION ALL
SELECT 'trigger', name, tbl_name, '', 0, sql, 1 FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = {{bind .Table}}
{{end}}

{{define "suggest-index"}}CREATE {{if .Unique}}UNIQUE {{end}}INDEX {{q .Name}} ON {{qt .Schema .Table}} ({{qlist .Columns}}){{end}}

{{/* add-constraint and verify-failure-path: the table's CREATE TABLE text,
     where SQLite keeps its CHECK constraints as they were written. */}}
{{define "table-definition"}}SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = {{bind .Table}}{{end}}

{{/* verify-failure-path: whether a row with .Set's values violates the
     plan's CHECK (1), satisfies it (0) or neither (NULL: a CHECK accepts
     it), without writing it: with .Key, the table's row {{param "key"}}
     with .Set's values in place of its own (.Set lists every column);
     without, .Set's values alone (a row to insert). */}}
{{define "check-verdict"}}SELECT CASE WHEN NOT ({{.Check}}) THEN 1 WHEN ({{.Check}}) THEN 0 END FROM (SELECT {{range $i, $s := .Set}}{{if $i}}, {{end}}({{$s.Expr}}) AS {{q $s.Column}}{{end}}{{if .Key}} FROM {{qt .Schema .Table}} AS shepherd_row WHERE {{if .Keys}}{{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_row.{{q $k}} = {{param (printf "key_%d" $j)}}{{end}}{{else}}shepherd_row.{{q .Key}} = {{param "key"}}{{end}}{{end}}) AS {{q .Table}}{{end}}

{{/* ---------- drop-column's archive: see postgres.sql. ---------- */}}
{{/* The archive's key columns: shepherd_key, or shepherd_key_0, _1, … for
     a composite key (.Keys); the table's key columns; and the join of an
     archive row (a) to its table row (t). */}}
{{define "archive-keys"}}{{if .Keys}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}shepherd_key_{{$i}}{{end}}{{else}}shepherd_key{{end}}{{end}}
{{define "table-keys"}}{{if .Keys}}{{qlist .Keys}}{{else}}{{q .Key}}{{end}}{{end}}
{{define "archive-join"}}{{if .Keys}}{{range $i, $k := .Keys}}{{if $i}} AND {{end}}a.shepherd_key_{{$i}} = t.{{q $k}}{{end}}{{else}}a.shepherd_key = t.{{q .Key}}{{end}}{{end}}
{{define "archive-key-defs"}}{{if .Keys}}{{range $i, $t := .KeyTypes}}shepherd_key_{{$i}} {{$t}} NOT NULL, {{end}}{{else}}shepherd_key {{.Type}} NOT NULL, {{end}}{{end}}

{{define "archive-create"}}
-- step: the database is write-locked for an instant: creates the archive table {{.To}} (shepherd_key, the key of {{.Table}}, and {{.Column}})
CREATE TABLE IF NOT EXISTS {{q .To}} ({{template "archive-key-defs" .}}{{q .Column}} {{.Expr}}, PRIMARY KEY ({{template "archive-keys" .}}))
{{end}}

{{define "archive-batch"}}
-- step: the database is write-locked for one short batch
INSERT OR REPLACE INTO {{q .To}} ({{template "archive-keys" .}}, {{q .Column}})
SELECT {{template "table-keys" .}}, {{q .Column}} FROM {{q .Table}} WHERE {{template "range" .}}
{{end}}

{{define "archive-missing"}}
SELECT count(*) FROM {{q .Table}} t
WHERE t.{{q .Column}} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {{q .To}} a WHERE {{template "archive-join" .}} AND a.{{q .Column}} IS t.{{q .Column}})
{{end}}

{{define "restore-batch"}}
-- step: the database is write-locked for one short batch
UPDATE {{q .Table}} AS t SET {{q .Column}} = (SELECT a.{{q .Column}} FROM {{q .To}} a WHERE {{template "archive-join" .}})
WHERE {{template "range" .}} AND EXISTS (SELECT 1 FROM {{q .To}} a WHERE {{template "archive-join" .}} AND a.{{q .Column}} IS NOT t.{{q .Column}})
{{end}}

{{define "restore-missing"}}
SELECT count(*) FROM {{q .To}} a JOIN {{q .Table}} t ON {{template "archive-join" .}}
WHERE t.{{q .Column}} IS NOT a.{{q .Column}}
{{end}}

{{/* ---------- sync: database (engine/sync_triggers.go) ----------
     SQLite's triggers cannot change the row being written, so AFTER
     INSERT and AFTER UPDATE OF triggers UPDATE the row just written (by
     .Sync.Rowid, or by the batch key's columns, for a WITHOUT ROWID table
     or one whose key is its rowid). Their UPDATE fires no trigger again
     while recursive_triggers is off, SQLite's default. The rules are
     postgres.sql's. Each statement runs in add-column's transaction, with
     its state. */}}
{{define "sync-install"}}
-- step: the database is write-locked for an instant: only the schema changes, where a trigger of this name was left (a rerun replaces it)
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.Insert}}
-- step: the database is write-locked for an instant: only the schema changes; from now on an INSERT into {{.Table}} that gives one of the two columns only runs one more UPDATE of the row it wrote
CREATE TRIGGER {{qt .Schema .Sync.Insert}} AFTER INSERT ON {{q .Table}} FOR EACH ROW
WHEN NEW.{{q .Sync.Old}} IS NOT NEW.{{q .Sync.New}}
BEGIN
  UPDATE {{q .Table}} SET {{q .Sync.New}} = {{.Sync.Forward}} WHERE {{template "sync-row" .}} AND NEW.{{q .Sync.New}} IS NULL;
  UPDATE {{q .Table}} SET {{q .Sync.Old}} = {{.Sync.Reverse}} WHERE {{template "sync-row" .}} AND NEW.{{q .Sync.New}} IS NOT NULL AND NEW.{{q .Sync.Old}} IS NULL;
END
-- step: the database is write-locked for an instant: only the schema changes, where a trigger of this name was left (a rerun replaces it)
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.Update}}
-- step: the database is write-locked for an instant: only the schema changes; from now on an UPDATE of {{.Table}} that changes one of the two columns only runs one more UPDATE of the row it wrote
CREATE TRIGGER {{qt .Schema .Sync.Update}} AFTER UPDATE OF {{if .Sync.Source}}{{q .Sync.Source}}{{else}}{{q .Sync.Old}}, {{q .Sync.New}}{{end}} ON {{q .Table}} FOR EACH ROW
WHEN NEW.{{q .Sync.Old}} IS NOT NEW.{{q .Sync.New}}
BEGIN
  UPDATE {{q .Table}} SET {{q .Sync.New}} = {{.Sync.Forward}} WHERE {{template "sync-row" .}} AND NEW.{{q .Sync.Old}} IS NOT OLD.{{q .Sync.Old}} AND NEW.{{q .Sync.New}} IS OLD.{{q .Sync.New}};
  UPDATE {{q .Table}} SET {{q .Sync.Old}} = {{.Sync.Reverse}} WHERE {{template "sync-row" .}} AND NEW.{{q .Sync.New}} IS NOT OLD.{{q .Sync.New}} AND NEW.{{q .Sync.Old}} IS OLD.{{q .Sync.Old}} AND NEW.{{q .Sync.New}} IS NOT {{.Sync.Forward}};
END
{{end}}

{{/* With .Sync.Source (change-column-type) only a write of that column
     fires the update trigger: the other is shepherd's own (the shadow
     before the swap, the old values after it), and the backfill's writes
     of it then cost nothing (a trigger that fires and finds nothing to do
     cost the walk a quarter of its speed). */}}
{{/* A write of the new column that is the old one's value as the forward
     conversion gives it (the backfill's own writes) leaves the old column
     alone: the reverse conversion is not always the identity ('007' → 7 →
     '7'). */}}
{{/* sync-refresh: the triggers converting with the plan's using: and
     reverse: as they are now: both made again, in one transaction. */}}
{{define "sync-refresh"}}{{template "sync-install" .}}{{end}}

{{define "sync-row"}}{{if .Sync.Rowid}}{{.Sync.Rowid}} = NEW.{{.Sync.Rowid}}{{else}}{{range $i, $k := .Sync.Keys}}{{if $i}} AND {{end}}{{q $k}} = NEW.{{q $k}}{{end}}{{end}}{{end}}

{{define "sync-remove"}}
-- step: the database is write-locked for an instant: only the schema changes
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.Insert}}
-- step: the database is write-locked for an instant: only the schema changes
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.Update}}
{{end}}

{{/* see postgres.sql */}}
{{define "sync-value"}}{{if .Type}}CAST(NEW.{{q .Column}} AS {{.Type}}){{else}}NEW.{{q .Column}}{{end}}{{end}}

{{define "sync-present"}}SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = {{bind .Table}} AND name IN ({{bind .Sync.Insert}}, {{bind .Sync.Update}}){{end}}
{{define "sync-expected"}}SELECT 2{{end}}

{{/* ---------- change-column-type (engine/change_type*.go) ----------
     See postgres.sql. SQLite casts without failing (a text that is no
     number becomes 0): a conversion that must refuse such values says so
     in its using: expression. */}}
{{define "convert-value"}}CAST(({{.Expr}}) AS {{.Type}}){{end}}

{{/* The reverse: conversion a plan does not give: a cast back to the old type. */}}
{{define "convert-cast"}}CAST({{.Expr}} AS {{.Type}}){{end}}
{{define "convert-trigger-value"}}(SELECT CAST(({{.Expr}}) AS {{.Type}}) FROM (SELECT NEW.{{q .To}} AS {{q .Column}}) AS {{q .Table}}){{end}}
{{define "convert-try-alone"}}SELECT CAST(({{.Expr}}) AS {{.Type}}) FROM (SELECT CAST(NULL AS {{.From}}) AS {{q .Column}}) AS {{q .Table}} WHERE 0{{end}}

{{define "convert-batch"}}
-- step: the database is write-locked until the batch commits (readers go on in WAL mode); it waits at most the busy timeout, then is retried
UPDATE {{q .Table}} SET {{q .To}} = {{template "convert-value" .}}
WHERE {{template "range" .}} AND {{q .To}} IS NOT {{template "convert-value" .}}
{{end}}

{{define "convert-cond"}}{{if eq .Cond "lost"}}{{q .Column}} IS NOT NULL AND {{template "convert-value" .}} IS NULL{{else}}{{q .To}} IS NOT {{template "convert-value" .}}{{end}}{{if .Bounded}} AND {{if .Rowid}}{{q .Rowid}} <= {{param "hi"}}{{else if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}{{end}}

{{/* Both of verifyConverted's counts in one scan: the values the conversion
     turns into NULL (the whole table), and the rows whose shadow is not
     the conversion, up to the walk's bound. */}}
{{define "convert-counts"}}SELECT coalesce(sum({{q .Column}} IS NOT NULL AND {{template "convert-value" .}} IS NULL), 0), coalesce(sum({{q .To}} IS NOT {{template "convert-value" .}} AND {{if .Rowid}}{{q .Rowid}} <= {{param "hi"}}{{else if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}), 0) FROM {{q .Table}}{{end}}
{{define "convert-count"}}SELECT count(*) FROM {{q .Table}} WHERE {{template "convert-cond" .}}{{end}}
{{define "convert-sample"}}SELECT {{template "table-keys" .}} FROM {{q .Table}} WHERE {{template "convert-cond" .}} ORDER BY {{template "table-keys" .}} LIMIT 5{{end}}

{{/* The swap: SQLite moves no constraint from one column to another, so
     the table is rebuilt in one transaction (as its other ALTERs that
     SQLite lacks are): the column gets the incoming column's type and
     values, keeping its own constraints, default and indexes; the
     outgoing values go to a column .OutName of their own, without
     constraints; the sync triggers are installed again on the new names. */}}
{{define "swap"}}
-- step conn: foreign keys are not enforced while the table is swapped; they are checked before commit
PRAGMA foreign_keys = OFF
-- step conn: renaming the new table must not rewrite other tables' references
PRAGMA legacy_alter_table = ON
-- step check: foreign keys of {{.Table}} hold no worse than before
SELECT count(*) FROM pragma_foreign_key_check({{bind .Table}})
{{- range .DropTriggers}}
-- step: the database is write-locked until commit: the triggers name the columns, and are installed again on their new names
DROP TRIGGER IF EXISTS {{q .}}
{{- end}}
-- step: the database is write-locked until commit, while every row is copied (readers go on in WAL mode)
CREATE TABLE {{q .New}} {{.Definition}}
-- step:
INSERT INTO {{q .New}} ({{if .Rowid}}rowid, {{end}}{{qlist .Into}})
SELECT {{if .Rowid}}rowid, {{end}}{{qlist .From}} FROM {{q .Table}}
-- step:
DROP TABLE {{q .Table}}
-- step:
ALTER TABLE {{q .New}} RENAME TO {{q .Table}}
{{- range .Objects}}
-- step:
{{.}}
{{- end}}
{{- if .Sequence}}
-- step: keeps AUTOINCREMENT from reusing the ids of deleted rows
DELETE FROM sqlite_sequence WHERE name = {{bind .Table}}
-- step:
INSERT INTO sqlite_sequence (name, seq) VALUES ({{bind .Table}}, {{bind .SequenceValue}})
{{- end}}
{{- range .SyncSteps}}
-- step:
{{.}}
{{- end}}
-- step check: foreign keys of {{.Table}} hold no worse than before
SELECT count(*) FROM pragma_foreign_key_check({{bind .Table}})
-- step conn:
PRAGMA legacy_alter_table = OFF
-- step conn:
PRAGMA foreign_keys = {{.ForeignKeys}}
{{end}}
