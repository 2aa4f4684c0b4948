{{/* PostgreSQL: every statement shepherd runs on PostgreSQL. See templates.go for the format.

     Tables are named by {{qt .Schema .Table}}: schema-qualified when the plan
     gives schema:, else resolved through search_path like any unqualified
     name. Catalog queries find the same table with to_regclass() of that very
     text (the "rel" template), so introspection, probes and DDL always agree
     on which table they mean.

     Every connection of shepherd's pool starts with lock_timeout set (500ms
     unless the DSN sets lock_timeout), and connections that run DDL set it to
     --lock-timeout first: a statement that cannot get its lock gives up
     instead of queueing in front of the application's queries, and is
     retried with backoff. */}}

{{define "rel"}}to_regclass({{bind (qt .Schema .Table)}}){{end}}

{{/* ---------- state: shepherd's own tables, in schema shepherd ---------- */}}

{{/* One statement, so that it is one transaction; two runners starting at
     once on a fresh database take turns on a transaction-scoped advisory
     lock. Objects are created only when missing, so a runner without CREATE
     privileges works once they exist. */}}
{{define "state-ddl"}}
-- step: creates the shepherd schema and shepherd's own tables if they are missing
DO $shepherd$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('shepherd'), hashtext('state-ddl'));
  IF to_regnamespace('shepherd') IS NULL THEN
    CREATE SCHEMA shepherd;
  END IF;
  IF to_regclass('shepherd.shepherd_state') IS NULL THEN
    CREATE TABLE shepherd.shepherd_state (
      plan        text        NOT NULL,
      phase       text        NOT NULL,
      position    integer     NOT NULL,
      playbook    text        NOT NULL,
      table_name  text        NOT NULL,
      plan_hash   text        NOT NULL,
      status      text        NOT NULL DEFAULT 'pending',
      started_at  timestamptz,
      finished_at timestamptz,
      run_by      text,
      checkpoint  text,
      rows_done   bigint      NOT NULL DEFAULT 0,
      detail      text,
      took_effect boolean     NOT NULL DEFAULT true,
      rows_changed bigint     NOT NULL DEFAULT 0,
      PRIMARY KEY (plan, phase)
    );
  END IF;
  -- took_effect came later: a table made before it gets it (rows written
  -- by an older shepherd read true, the safe answer).
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'shepherd.shepherd_state'::regclass AND attname = 'took_effect' AND NOT attisdropped) THEN
    ALTER TABLE shepherd.shepherd_state ADD COLUMN took_effect boolean NOT NULL DEFAULT true;
  END IF;
  -- rows_changed too (a walk an older shepherd left half done counts
  -- from its resume).
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'shepherd.shepherd_state'::regclass AND attname = 'rows_changed' AND NOT attisdropped) THEN
    ALTER TABLE shepherd.shepherd_state ADD COLUMN rows_changed bigint NOT NULL DEFAULT 0;
  END IF;
  IF to_regclass('shepherd.shepherd_log') IS NULL THEN
    CREATE TABLE shepherd.shepherd_log (
      id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at       timestamptz NOT NULL,
      plan     text NOT NULL,
      phase    text NOT NULL,
      event    text NOT NULL,
      actor    text NOT NULL,
      sql_text text,
      detail   text,
      version  text
    );
    CREATE INDEX shepherd_log_plan ON shepherd.shepherd_log (plan, id);
  END IF;
  -- version (which shepherd wrote the row) came later: a table made before
  -- it gets it; the rows an older shepherd wrote have none.
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'shepherd.shepherd_log'::regclass AND attname = 'version' AND NOT attisdropped) THEN
    ALTER TABLE shepherd.shepherd_log ADD COLUMN version text;
  END IF;
  -- shepherd_control came later (pause, resume, tune): made where missing.
  IF to_regclass('shepherd.shepherd_control') IS NULL THEN
    CREATE TABLE shepherd.shepherd_control (
      plan               text PRIMARY KEY,
      paused             boolean NOT NULL DEFAULT false,
      paused_by          text,
      paused_at          timestamptz,
      batch_time_ms      bigint,
      max_rate           double precision,
      max_replica_lag_ms bigint,
      tuned_by           text,
      tuned_at           timestamptz
    );
  END IF;
  IF to_regclass('shepherd.shepherd_lock') IS NULL THEN
    CREATE TABLE shepherd.shepherd_lock (
      scope      text PRIMARY KEY,
      plan       text NOT NULL,
      token      text NOT NULL,
      holder     text NOT NULL,
      host       text NOT NULL,
      pid        integer NOT NULL,
      since      timestamptz NOT NULL,
      expires_at timestamptz
    );
  END IF;
END
$shepherd$
{{end}}

{{/* 1 when shepherd's schema, tables and columns are all there (the usual
     case after the first run): state-ddl's DO block, which a fresh session
     compiles and which takes an advisory lock, is then skipped. */}}
{{define "state-complete"}}SELECT CASE WHEN to_regclass('shepherd.shepherd_state') IS NOT NULL AND to_regclass('shepherd.shepherd_log') IS NOT NULL AND to_regclass('shepherd.shepherd_lock') IS NOT NULL
  AND to_regclass('shepherd.shepherd_control') IS NOT NULL
  AND (SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('shepherd.shepherd_state') AND attname IN ('took_effect', 'rows_changed') AND NOT attisdropped) = 2
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('shepherd.shepherd_log') AND attname = 'version' AND NOT attisdropped) THEN 1 ELSE 0 END{{end}}

{{define "state-exists"}}SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shepherd' AND c.relname = 'shepherd_state'{{end}}

{{/* .Cond is "effect" once shepherd_state has took_effect (a table an
     older shepherd made has not, until a run adds it): else every row
     reads as having taken effect. .RowsChanged likewise for rows_changed:
     else no row changed yet. */}}
{{define "state-load"}}
SELECT phase, status, plan_hash, started_at, finished_at, run_by, checkpoint, rows_done, detail, {{if eq .Cond "effect"}}took_effect{{else}}true{{end}}, {{if .RowsChanged}}rows_changed{{else}}0{{end}}
FROM shepherd.shepherd_state WHERE plan = {{param "plan"}}
{{end}}
{{define "state-has-effect"}}SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('shepherd.shepherd_state') AND attname = 'took_effect' AND NOT attisdropped{{end}}
{{define "state-has-changed"}}SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('shepherd.shepherd_state') AND attname = 'rows_changed' AND NOT attisdropped{{end}}

{{define "state-phase"}}SELECT status FROM shepherd.shepherd_state WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}
{{define "state-checkpoint"}}SELECT checkpoint, rows_done, rows_changed FROM shepherd.shepherd_state WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}

{{define "state-list"}}
SELECT plan, playbook, table_name, phase, status, started_at, finished_at, rows_done, detail
FROM shepherd.shepherd_state ORDER BY plan, position
{{end}}

{{define "state-insert"}}
INSERT INTO shepherd.shepherd_state (plan, phase, position, playbook, table_name, plan_hash, status)
VALUES ({{param "plan"}}, {{param "phase"}}, {{param "position"}}, {{param "playbook"}}, {{param "table"}}, {{param "hash"}}, 'pending')
ON CONFLICT (plan, phase) DO NOTHING
{{end}}

{{define "state-rehash"}}UPDATE shepherd.shepherd_state SET plan_hash = {{param "hash"}} WHERE plan = {{param "plan"}}{{end}}

{{define "state-update"}}
UPDATE shepherd.shepherd_state
SET status = {{param "status"}}, started_at = {{param "started_at"}}, finished_at = {{param "finished_at"}},
    run_by = {{param "run_by"}}, checkpoint = {{param "checkpoint"}}, rows_done = {{param "rows_done"}}, detail = {{param "detail"}},
    took_effect = {{param "took_effect"}}, rows_changed = {{param "rows_changed"}}
WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}
{{end}}

{{define "log-append"}}
INSERT INTO shepherd.shepherd_log (at, plan, phase, event, actor, sql_text, detail, version)
VALUES ({{param "at"}}, {{param "plan"}}, {{param "phase"}}, {{param "event"}}, {{param "actor"}}, {{param "sql"}}, {{param "detail"}}, {{param "version"}})
{{end}}

{{/* .LogVersion is set once shepherd_log has version (a table an older
     shepherd made has not, until a run adds it): else no row names one. */}}
{{define "log-list"}}
SELECT at, phase, event, actor, sql_text, detail, {{if .LogVersion}}version{{else}}NULL::text{{end}} FROM shepherd.shepherd_log WHERE plan = {{param "plan"}} ORDER BY id
{{end}}
{{define "log-has-version"}}SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('shepherd.shepherd_log') AND attname = 'version' AND NOT attisdropped{{end}}

{{/* ---------- live control: pause, resume, tune (control.go) ---------- */}}

{{define "control-exists"}}SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shepherd' AND c.relname = 'shepherd_control'{{end}}
{{define "control-get"}}SELECT plan, paused, paused_by, paused_at, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at FROM shepherd.shepherd_control WHERE plan = {{param "plan"}}{{end}}
{{define "control-list"}}SELECT plan, paused, paused_by, paused_at, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at FROM shepherd.shepherd_control{{end}}
{{define "control-pause"}}
INSERT INTO shepherd.shepherd_control (plan, paused, paused_by, paused_at)
VALUES ({{param "plan"}}, {{param "paused"}}, {{param "by"}}, {{param "at"}})
ON CONFLICT (plan) DO UPDATE SET paused = EXCLUDED.paused, paused_by = EXCLUDED.paused_by, paused_at = EXCLUDED.paused_at
{{end}}
{{/* A value not given (NULL) keeps the one stored; .Cond "reset" clears them all. */}}
{{define "control-tune"}}
INSERT INTO shepherd.shepherd_control (plan, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at)
VALUES ({{param "plan"}}, {{param "batch_time_ms"}}, {{param "max_rate"}}, {{param "max_replica_lag_ms"}}, {{param "by"}}, {{param "at"}})
ON CONFLICT (plan) DO UPDATE SET
{{- if eq .Cond "reset"}} batch_time_ms = NULL, max_rate = NULL, max_replica_lag_ms = NULL,
{{- else}} batch_time_ms = COALESCE(EXCLUDED.batch_time_ms, shepherd_control.batch_time_ms), max_rate = COALESCE(EXCLUDED.max_rate, shepherd_control.max_rate), max_replica_lag_ms = COALESCE(EXCLUDED.max_replica_lag_ms, shepherd_control.max_replica_lag_ms),
{{- end}} tuned_by = EXCLUDED.tuned_by, tuned_at = EXCLUDED.tuned_at
{{end}}

{{define "log-last-plan"}}
SELECT detail FROM shepherd.shepherd_log WHERE plan = {{param "plan"}} AND event = 'plan' ORDER BY id DESC LIMIT 1
{{end}}

{{/* ---------- runner lock ----------
     The lock itself is a session-level advisory lock, held by a connection
     kept open for the whole session: it is released when the runner ends it
     or when the connection dies (a killed runner frees it at once). The row
     in shepherd_lock only says who holds it; expires_at stays NULL. */}}

{{define "runner-lock"}}SELECT pg_try_advisory_lock({{param "lock"}}){{end}}
{{define "runner-unlock"}}SELECT pg_advisory_unlock({{param "lock"}}){{end}}
{{/* whether any session holds the lock: a bigint key is classid (its high
     32 bits) and objid (its low 32 bits), with objsubid 1 */}}
{{define "runner-lock-held"}}
SELECT count(*) FROM pg_catalog.pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND classid::bigint = ({{param "lock"}}::bigint >> 32) & 4294967295 AND objid::bigint = {{param "lock"}}::bigint & 4294967295
{{end}}
{{define "current-schema"}}SELECT current_schema(){{end}}

{{/* every runner lock's holder, for status */}}
{{define "lease-list"}}
SELECT scope, plan, holder, host, pid, since, expires_at FROM shepherd.shepherd_lock ORDER BY scope
{{end}}

{{define "lease-get"}}
SELECT plan, token, holder, host, pid, since, expires_at FROM shepherd.shepherd_lock WHERE scope = {{param "scope"}}
{{end}}

{{/* The check a write to shepherd's tables makes in its own transaction: the
     share lock on the holder row makes a runner that takes the lock over
     (lease-put updates the row) wait until that transaction ends, and then
     read what it wrote. */}}
{{define "lease-guard"}}
SELECT plan, token, holder, host, pid, since, expires_at FROM shepherd.shepherd_lock WHERE scope = {{param "scope"}} FOR SHARE
{{end}}

{{define "lease-put"}}
INSERT INTO shepherd.shepherd_lock (scope, plan, token, holder, host, pid, since, expires_at)
VALUES ({{param "scope"}}, {{param "plan"}}, {{param "token"}}, {{param "holder"}}, {{param "host"}}, {{param "pid"}}, {{param "since"}}, {{param "expires"}})
ON CONFLICT (scope) DO UPDATE SET plan = excluded.plan, token = excluded.token, holder = excluded.holder,
  host = excluded.host, pid = excluded.pid, since = excluded.since, expires_at = excluded.expires_at
{{end}}

{{define "lease-renew"}}
UPDATE shepherd.shepherd_lock SET expires_at = {{param "expires"}} WHERE scope = {{param "scope"}} AND token = {{param "token"}}
{{end}}

{{define "lease-release"}}DELETE FROM shepherd.shepherd_lock WHERE scope = {{param "scope"}} AND token = {{param "token"}}{{end}}

{{/* ---------- introspection, from pg_catalog ---------- */}}

{{define "list-tables"}}
SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = coalesce(nullif({{bind .Schema}}::text, ''), current_schema()) AND n.nspname <> 'shepherd' AND c.relkind IN ('r', 'p')
ORDER BY c.relname
{{end}}

{{define "table-exists"}}
SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = {{template "rel" .}} AND c.relkind IN ('r', 'p')
{{end}}

{{define "table-columns"}}
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, a.attgenerated <> '', a.attidentity <> ''
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = {{template "rel" .}} AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
{{end}}

{{define "table-primary-key"}}
SELECT a.attname
FROM pg_catalog.pg_constraint con
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.conrelid = {{template "rel" .}} AND con.contype = 'p'
ORDER BY k.ord
{{end}}

{{/* One row per key column; an expression column has no name (NULL). */}}
{{define "table-indexes"}}
SELECT ic.relname, i.indisunique, i.indpred IS NOT NULL, i.indisvalid, a.attname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
WHERE i.indrelid = {{template "rel" .}} AND k.ord <= i.indnkeyatts
ORDER BY ic.relname, k.ord
{{end}}

{{/* A partitioned table's (relkind 'p') strategy and key, one row per key
     part in order; an expression part has no column (NULL). No row: the
     table is not partitioned (engine/partition.go). */}}
{{define "table-partitioning"}}
SELECT CASE pt.partstrat WHEN 'l' THEN 'list' WHEN 'r' THEN 'range' WHEN 'h' THEN 'hash' ELSE pt.partstrat::text END, a.attname
FROM pg_catalog.pg_partitioned_table pt
CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = k.attnum AND k.attnum > 0
WHERE pt.partrelid = {{template "rel" .}}
ORDER BY k.ord
{{end}}

{{/* A partitioned table's partitions (one level), by schema then name,
     one row per index of each (none: NULL): schema, name, kind ('p' a
     partitioned partition, 'f' a foreign table), index, whether it is
     valid. */}}
{{define "table-partitions"}}
SELECT n.nspname, c.relname, c.relkind::text, ic.relname, coalesce(i.indisvalid, false)
FROM pg_catalog.pg_inherits h
JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
LEFT JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE h.inhparent = {{template "rel" .}}
ORDER BY n.nspname, c.relname, ic.relname
{{end}}

{{/* Named CHECK, UNIQUE and FOREIGN KEY constraints, one row per column. */}}
{{define "table-constraints"}}
SELECT con.conname, con.contype::text, con.convalidated, a.attname
FROM pg_catalog.pg_constraint con
LEFT JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.conrelid = {{template "rel" .}} AND con.contype IN ('c', 'u', 'f')
ORDER BY con.conname, k.ord
{{end}}

{{/* The triggers that fire on UPDATE (engine/triggers.go), as a session
     with the default session_replication_role fires them: name, timing,
     per row, and a row per column of UPDATE OF. tgtype's bits: 1 row,
     2 before, 16 update, 64 instead of. */}}
{{define "table-update-triggers"}}
SELECT t.tgname, CASE WHEN t.tgtype::int & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype::int & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END,
  t.tgtype::int & 1 <> 0, a.attname
FROM pg_catalog.pg_trigger t
LEFT JOIN LATERAL unnest(t.tgattr::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.attnum
WHERE t.tgrelid = {{template "rel" .}} AND NOT t.tgisinternal AND t.tgtype::int & 16 <> 0 AND t.tgenabled IN ('O', 'A')
ORDER BY t.tgname, k.ord
{{end}}

{{/* The table's indexes and triggers with their definitions. PostgreSQL
     never rebuilds a table, so shepherd does not need them to run; they are
     here for parity with SQLite. */}}
{{define "table-objects"}}
SELECT 'index', ic.relname, pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = {{template "rel" .}}
UNION ALL
SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid)
FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = {{template "rel" .}} AND NOT t.tgisinternal
{{end}}

{{/* The sequences the table's serial and identity columns own, and the
     highest value they gave out. */}}
{{define "table-sequence"}}
SELECT count(*), coalesce(max(pg_sequence_last_value(s.oid)), 0)
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
WHERE d.refobjid = {{template "rel" .}} AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
{{end}}

{{define "has-sequence"}}SELECT count(*) FROM pg_catalog.pg_class WHERE relkind = 'S'{{end}}

{{/* PostgreSQL always enforces foreign keys. */}}
{{define "foreign-keys-on"}}SELECT 1{{end}}

{{/* Objects outside the table that already have the name a constraint
     needs, one row each: what it is, where, and why the names clash.
     PostgreSQL keeps CHECK and FOREIGN KEY names per table (the
     table-constraints read covers them), but UNIQUE builds an index named
     like the constraint, and an index shares its schema's names with
     tables, views, sequences and every other index. */}}
{{define "name-clashes"}}
{{- if eq .Kind "unique"}}
SELECT CASE WHEN c.relkind IN ('i', 'I') THEN 'an index' WHEN c.relkind IN ('r', 'p') THEN 'a table' WHEN c.relkind = 'v' THEN 'a view'
            WHEN c.relkind = 'm' THEN 'a materialized view' WHEN c.relkind = 'S' THEN 'a sequence' ELSE 'a relation' END,
       CASE WHEN t.relname IS NOT NULL THEN 'on ' || t.relname || ' ' ELSE '' END || 'in schema ' || n.nspname,
       'PostgreSQL names indexes (UNIQUE builds one named like the constraint) per schema'
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
WHERE c.relnamespace = (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = {{template "rel" .}}) AND c.relname = {{bind .Name}}
  AND (i.indrelid IS NULL OR i.indrelid <> {{template "rel" .}})
{{- else}}SELECT '', '', '' WHERE false{{end}}
{{end}}

{{/* A CHECK as the database will take it, without touching the table: the
     constraint is added to an empty temporary copy of the table's columns,
     in a transaction that is always rolled back. The copy has the table's
     name in pg_temp (so a column written table.column resolves), and is
     only ever named through pg_temp. */}}
{{define "try-check"}}
-- step: ACCESS SHARE on {{.Table}} while its columns are copied into an empty temporary table; rolled back
CREATE TEMPORARY TABLE pg_temp.{{q .Table}} (LIKE {{qt .Schema .Table}})
-- step: the empty temporary table only
ALTER TABLE pg_temp.{{q .Table}} ADD CONSTRAINT {{q .Name}} CHECK ({{.Check}})
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

{{define "try-type"}}
-- step: a temporary table of this transaction, always rolled back: no lock on any table of the database
CREATE TEMPORARY TABLE pg_temp.shepherd_value_probe (v {{.Type}}) ON COMMIT DROP
{{end}}

{{/* Where the user may not create a temporary table (read-only rights,
     a standby), the type is still checked, read-only. */}}
{{define "try-type-readonly"}}SELECT CAST(NULL AS {{.Type}}){{end}}

{{/* The transaction is rolled back: nothing to drop. */}}
{{define "try-type-end"}}{{end}}

{{/* A row value, (a, b), and a whole row, t, are one value to PostgreSQL,
     and each converts to text as it is written (assignment casts to text
     exist from every type): the value's kind, from pg_type, tells them
     apart. The scalar subquery gives the type without reading a row. */}}
{{define "try-value-kind"}}SELECT e.typtype::text, pg_catalog.format_type(e.oid, NULL) FROM pg_catalog.pg_type e
WHERE e.oid = pg_catalog.pg_typeof((SELECT ({{.Expr}}) FROM {{qt .Schema .Table}} WHERE false)){{end}}

{{/* Written into the temporary column as UPDATE … SET writes: with the
     assignment casts, and without a row. text into integer is refused. */}}
{{define "try-assign"}}INSERT INTO pg_temp.shepherd_value_probe (v) SELECT ({{.Expr}}) FROM {{qt .Schema .Table}} WHERE false{{end}}

{{/* ---------- phase DDL ---------- */}}

{{define "add-column"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): only the catalog changes, no row is rewritten
ALTER TABLE {{qt .Schema .Table}} ADD COLUMN {{q .Column}} {{.Type}}
{{end}}

{{define "drop-column"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): the column is only marked dropped, no row is rewritten
ALTER TABLE {{qt .Schema .Table}} DROP COLUMN {{q .Column}}
{{end}}

{{/* NOT NULL without a long lock: a NOT VALID check (no scan), validated
     under a lock that lets reads and writes go on, then SET NOT NULL, which
     PostgreSQL 12+ proves from the validated check instead of scanning, and
     the check, now redundant, is dropped. The first two steps commit on
     their own and are skipped on a rerun when they already took effect. */}}
{{define "set-not-null"}}
-- step own: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): NOT VALID reads no row; from now on writes of NULL to {{.Column}} are refused
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .CheckName}}
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .CheckName}} CHECK ({{q .Column}} IS NOT NULL) NOT VALID
-- step own: SHARE UPDATE EXCLUSIVE on {{.Table}} while it scans the table: reads and writes go on; only other DDL, VACUUM and index builds wait
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .CheckName}} AND convalidated
ALTER TABLE {{qt .Schema .Table}} VALIDATE CONSTRAINT {{q .CheckName}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant, until commit: the validated check proves there is no NULL, so no row is read
ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .Column}} SET NOT NULL
-- step: ACCESS EXCLUSIVE on {{.Table}}, already held by SET NOT NULL, until commit: drops the check, redundant once NOT NULL is in force; no row is read
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT {{q .CheckName}}
{{end}}

{{/* The check of an enforce that failed after its first step: it still refuses NULLs, so a rollback drops it. */}}
{{define "not-null-leftover"}}SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .CheckName}}{{end}}

{{define "drop-not-null"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): only the catalog changes
ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .Column}} DROP NOT NULL
-- step: ACCESS EXCLUSIVE on {{.Table}}, already held, until commit: drops the NOT NULL check of an enforce that did not finish, if there is one
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT IF EXISTS {{q .CheckName}}
{{end}}

{{define "add-check"}}
-- step own: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): NOT VALID reads no row; from now on every write is checked
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .Name}}
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} CHECK ({{.Check}}) NOT VALID
-- step: SHARE UPDATE EXCLUSIVE on {{.Table}} while it scans the table, until commit: reads and writes go on; only other DDL, VACUUM and index builds wait
ALTER TABLE {{qt .Schema .Table}} VALIDATE CONSTRAINT {{q .Name}}
{{end}}

{{define "drop-check"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): only the catalog changes
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT IF EXISTS {{q .Name}}
{{end}}

{{/* A foreign key without a long lock: NOT VALID reads no row (both
     tables are locked for an instant, SHARE ROW EXCLUSIVE: the referencing
     side gets its check trigger, the referenced side the triggers that
     guard deletes and key updates), then VALIDATE checks every row under
     locks that let reads and writes of both tables go on. */}}
{{define "add-foreign-key"}}
-- step own: SHARE ROW EXCLUSIVE on {{.Table}} and on {{.RefTable}} for an instant (each waits at most --lock-timeout, then is retried): NOT VALID reads no row; from now on every write to {{.Table}}, and every delete and key update of {{.RefTable}}, is checked
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .Name}} AND contype = 'f'
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} FOREIGN KEY ({{qlist .Columns}}) REFERENCES {{qt .RefSchema .RefTable}} ({{qlist .RefColumns}}) NOT VALID
-- step: SHARE UPDATE EXCLUSIVE on {{.Table}} and ROW SHARE on {{.RefTable}} while it checks every row of {{.Table}} against {{.RefTable}}, until commit: reads and writes of both tables go on; only other DDL, VACUUM and index builds on {{.Table}} wait
ALTER TABLE {{qt .Schema .Table}} VALIDATE CONSTRAINT {{q .Name}}
{{end}}

{{define "drop-foreign-key"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} and on {{.RefTable}} for an instant (it waits at most --lock-timeout, then is retried): only the catalog changes (the constraint and its triggers on both tables)
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT IF EXISTS {{q .Name}}
{{end}}

{{/* PostgreSQL changes constraints in place: it never rebuilds a table. */}}
{{define "rebuild"}}{{end}}

{{/* UNIQUE without blocking writes: the index is built CONCURRENTLY (outside
     any transaction), then attached as the constraint. A concurrent build
     that fails (a duplicate, a lock timeout, a crash) leaves an INVALID
     index behind, which the first step finds and drops before building
     again; the build is skipped only when a VALID index is there. */}}
{{define "add-unique"}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}}: drops an INVALID index {{.Name}} that an earlier failed build left behind; reads and writes go on
-- applied: SELECT (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}} AND NOT i.indisvalid))::int
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Name}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}} while it builds the index (two scans of the table, after waiting for transactions that started before it): reads and writes go on
-- applied: SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}} AND i.indisvalid
CREATE UNIQUE INDEX CONCURRENTLY {{q .Name}} ON {{qt .Schema .Table}} ({{qlist .Columns}})
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): the built index becomes the constraint, no row is read
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} UNIQUE USING INDEX {{q .Name}}
{{end}}

{{/* add-index: the index is built CONCURRENTLY (outside any transaction):
     writes go on while it builds. A build that fails or is killed leaves an
     INVALID index behind, which is never taken as done: the first step finds
     it and drops it (concurrently too), and the second builds again. The
     build is skipped only when a VALID index of the name is there, and the
     phase's verification then checks it is the plan's and ready. */}}
{{define "create-index"}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}}: drops an INVALID index {{.Name}} that an earlier failed or killed build left behind; reads and writes go on
-- applied: SELECT (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}} AND NOT i.indisvalid))::int
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Name}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}} while it builds the index (two scans of the table, after waiting for the transactions that started before it): reads and writes go on; progress is read from pg_stat_progress_create_index
-- applied: SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}} AND i.indisvalid
CREATE INDEX CONCURRENTLY {{q .Name}} ON {{qt .Schema .Table}}{{if .Using}} USING {{.Using}}{{end}} ({{qlist .Columns}}){{if .Where}} WHERE {{.Where}}{{end}}
{{end}}

{{define "drop-index"}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}}, after waiting for the transactions that use the index: reads and writes go on
-- applied: SELECT (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}}))::int
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Name}}
{{end}}

{{/* add-index on a partitioned table: PostgreSQL builds no index
     CONCURRENTLY on one. Each partition's index is built concurrently
     (an INVALID one a failed build left dropped first), then the parent's
     index is created ON ONLY the parent (INVALID, no row read), and each
     partition's index is attached to it; once the last is, the parent's
     index is valid. */}}
{{/* What follows ON <table> in an index's definition: the plan's index
     (add-index), or the tail of the definition PostgreSQL gave for a
     partitioned index that drop-index dropped (.Expr), which its rollback
     builds again on each partition and on the parent. */}}
{{define "index-tail"}}{{if .Expr}}{{.Expr}}{{else}}{{if .Using}}USING {{.Using}} {{end}}({{qlist .Columns}}){{if .Where}} WHERE {{.Where}}{{end}}{{end}}{{end}}

{{define "create-index-partitioned"}}
{{- range .Partitions}}
-- step notx: SHARE UPDATE EXCLUSIVE on the partition {{.Table}}: drops an INVALID index {{.Index}} that an earlier failed or killed build left behind; reads and writes go on
-- applied: SELECT (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = to_regclass({{bind (qt .Schema .Table)}}) AND ic.relname = {{bind .Index}} AND NOT i.indisvalid))::int
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Index}}
-- step notx: SHARE UPDATE EXCLUSIVE on the partition {{.Table}} while it builds the index (two scans of the partition, after waiting for the transactions that started before it): reads and writes go on
-- applied: SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = to_regclass({{bind (qt .Schema .Table)}}) AND ic.relname = {{bind .Index}} AND i.indisvalid
CREATE {{if $.Unique}}UNIQUE {{end}}INDEX CONCURRENTLY {{q .Index}} ON {{qt .Schema .Table}} {{template "index-tail" $}}
{{- end}}
-- step own: SHARE on {{.Table}} (the partitioned parent, not its partitions) for an instant (writes wait that instant; it waits at most --lock-timeout, then is retried): ON ONLY creates the parent's index INVALID, reads no row and builds nothing on the partitions
-- applied: SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}}
CREATE {{if .Unique}}UNIQUE {{end}}INDEX {{q .Name}} ON ONLY {{qt .Schema .Table}} {{template "index-tail" .}}
{{- range .Partitions}}
-- step{{if not .Last}} own{{end}}: SHARE UPDATE EXCLUSIVE on the index {{$.Name}} and on {{.Index}} for an instant (it waits at most --lock-timeout, then is retried): attaches it to the parent's index, no row is read{{if .Last}}; the parent's index is valid once every partition's is attached{{end}}
-- applied: SELECT count(*) FROM pg_catalog.pg_inherits h WHERE h.inhrelid = to_regclass({{bind (qt .Schema .Index)}}) AND h.inhparent = to_regclass({{bind (qt $.Schema $.Name)}})
ALTER INDEX {{qt $.Schema $.Name}} ATTACH PARTITION {{qt .Schema .Index}}
{{- end}}
{{end}}

{{/* Rollback of create-index-partitioned: dropping the parent's index
     drops the partitions' indexes attached to it (no CONCURRENTLY on a
     partitioned index: an instant's ACCESS EXCLUSIVE); those a run that
     did not finish left unattached are dropped concurrently by name. */}}
{{define "drop-index-partitioned"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} and its partitions for an instant (it waits at most --lock-timeout, then is retried): drops the index and the partitions' indexes attached to it
DROP INDEX IF EXISTS {{qt .Schema .Name}}
{{- range .Partitions}}
-- step notx: SHARE UPDATE EXCLUSIVE on the partition {{.Table}}: drops the index {{.Index}} of a run that did not attach it, if there is one; reads and writes go on
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Index}}
{{- end}}
{{end}}

{{/* drop-index: the index's definition as its rollback builds it again
     (concurrently), what constraint it backs or a foreign key references
     through it ("" when none), whether it is an expression index MySQL
     could not restate (never here), and whether it is valid. */}}
{{define "index-definition"}}
SELECT regexp_replace(pg_catalog.pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX ', 'CREATE \1INDEX CONCURRENTLY '),
       coalesce((SELECT string_agg(con.conname, ', ' ORDER BY con.conname) FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid), ''),
       0, i.indisvalid::int
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}}
{{end}}

{{/* drop-index on a partitioned table: whether the index is UNIQUE, and its
     definition after ON <table> (USING method (columns) …), which rollback
     builds again partition by partition (create-index-partitioned). */}}
{{define "partitioned-index-definition"}}
SELECT i.indisunique::int, substr(d.def, strpos(d.def, ' USING ' || am.amname || ' (') + 1)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS def) d
WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}}
{{end}}

{{/* How often the planner's scans used the index, since the statistics
     were last reset. */}}
{{define "index-usage"}}SELECT idx_scan FROM pg_catalog.pg_stat_user_indexes WHERE indexrelid = to_regclass({{bind (qt .Schema .Name)}}){{end}}

{{/* drop-index's rollback: the recorded definition (.Expr, CREATE …
     INDEX CONCURRENTLY …), built as add-index builds. */}}
{{define "recreate-index"}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}}: drops an INVALID index {{.Name}} that an earlier failed or killed build left behind; reads and writes go on
-- applied: SELECT (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}} AND NOT i.indisvalid))::int
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Name}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}} while it builds the index again from its recorded definition: reads and writes go on
-- applied: SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}} AND i.indisvalid
{{.Expr}}
{{end}}

{{/* The plan's index as the catalog holds it: whether it is valid and
     ready, its key columns in order (an expression counts as none), its
     method and whether it has a predicate. */}}
{{define "index-state"}}
SELECT i.indisvalid::int, i.indisready::int, am.amname, (i.indpred IS NOT NULL)::int,
       coalesce((SELECT string_agg(coalesce(a.attname, ''), ',' ORDER BY k.ord)
                 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                 LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                 WHERE k.ord <= i.indnkeyatts), '')
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}}
{{end}}

{{/* How far a concurrent index build on the table has got: its phase, and
     the blocks or tuples done of the current one. */}}
{{define "index-progress"}}
SELECT p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
FROM pg_catalog.pg_stat_progress_create_index p
WHERE p.relid = {{template "rel" .}} OR p.relid IN (SELECT inhrelid FROM pg_catalog.pg_inherits WHERE inhparent = {{template "rel" .}})
LIMIT 1
{{end}}

{{/* The planner's statistics, so that EXPLAIN sees the table as it is: a
     sampled read; SHARE UPDATE EXCLUSIVE, which reads and writes do not
     wait for. */}}
{{define "analyze"}}ANALYZE {{qt .Schema .Table}}{{end}}

{{/* The database's plan of add-index's query:, which is not run. */}}
{{define "explain"}}EXPLAIN (FORMAT JSON) {{.Expr}}{{end}}

{{/* An INVALID index with the constraint's name that a failed build left
     (outside shepherd) is adopted only when it is exactly the index the
     plan asks for: its definition, as PostgreSQL prints it, is that of a
     plain unique btree index on the plan's columns, with no predicate, no
     expression, no INCLUDE, no sort order or collation of its own.
     PostgreSQL only: no other dialect leaves invalid indexes. */}}
{{define "index-matches"}}
SELECT count(*) FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE i.indrelid = {{template "rel" .}} AND ic.relname = {{bind .Name}}
  AND pg_catalog.pg_get_indexdef(i.indexrelid) = format('CREATE UNIQUE INDEX %I ON %I.%I USING btree (%s)', ic.relname, n.nspname, t.relname,
      array_to_string(ARRAY[{{range $i, $c := .Columns}}{{if $i}}, {{end}}quote_ident({{bind $c}}::text){{end}}], ', '))
{{end}}

{{define "drop-unique"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): drops the constraint and its index
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT IF EXISTS {{q .Name}}
-- step: ACCESS EXCLUSIVE on {{.Table}}, already held, until commit: drops an index {{.Name}} that was built but not yet attached as the constraint, if there is one
DROP INDEX IF EXISTS {{qt .Schema .Name}}
{{end}}

{{/* UNIQUE on a partitioned table (engine/partition.go), without
     blocking writes for more than an instant. PostgreSQL builds no index
     CONCURRENTLY on a partitioned table and takes no ADD CONSTRAINT …
     USING INDEX there, so: on each partition (.Partitions), the index is
     built CONCURRENTLY (an INVALID one a failed or killed build left is
     dropped first) and becomes that partition's constraint; then the
     parent's constraint is added ONLY to the parent, which creates its
     index INVALID without reading a row or touching a partition; then each
     partition's index is attached to it (a partition's constraint index
     attaches only to a constraint's index), and with the last the parent's
     index is valid. Every step is probed, so a rerun after a kill resumes.
     A partition created or attached once the parent's constraint is there
     gets its index from PostgreSQL, under that DDL's own lock; one created
     after shepherd read the table and before that gets none from this
     script: the parent's index stays INVALID, add-constraint's check says
     the constraint is not in force, and a rerun builds that one too. */}}
{{define "add-unique-partitioned"}}
{{- range .Partitions}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{.Table}}: drops an INVALID index {{.Index}} that an earlier failed build left behind; reads and writes go on
-- applied: SELECT (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = to_regclass({{bind (qt .Schema .Table)}}) AND ic.relname = {{bind .Index}} AND NOT i.indisvalid))::int
DROP INDEX CONCURRENTLY IF EXISTS {{qt .Schema .Index}}
-- step notx: SHARE UPDATE EXCLUSIVE on the partition {{.Table}} while it builds the index (two scans of the partition, after waiting for transactions that started before it): reads and writes go on
-- applied: SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = to_regclass({{bind (qt .Schema .Table)}}) AND ic.relname = {{bind .Index}} AND i.indisvalid
CREATE UNIQUE INDEX CONCURRENTLY {{q .Index}} ON {{qt .Schema .Table}} ({{qlist $.Columns}})
-- step own: ACCESS EXCLUSIVE on the partition {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): the built index becomes the partition's constraint, no row is read
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass({{bind (qt .Schema .Table)}}) AND conname = {{bind .Index}} AND contype = 'u'
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Index}} UNIQUE USING INDEX {{q .Index}}
{{- end}}
-- step own: ACCESS EXCLUSIVE on {{.Table}} (the partitioned parent, not its partitions) for an instant (it waits at most --lock-timeout, then is retried): ONLY creates the constraint's index INVALID, reads no row and builds nothing on the partitions
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .Name}} AND contype = 'u'
ALTER TABLE ONLY {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} UNIQUE ({{qlist .Columns}})
{{- range .Partitions}}
-- step{{if not .Last}} own{{end}}: ACCESS EXCLUSIVE on the index {{.Index}} of {{.Table}} for an instant (writes to {{.Table}} wait that instant; it waits at most --lock-timeout, then is retried), SHARE UPDATE EXCLUSIVE on the index {{$.Name}}: attaches it to the constraint's index, no row is read{{if .Last}}; the constraint's index is valid once every partition's is attached{{end}}
-- applied: SELECT count(*) FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_constraint con ON con.conindid = h.inhparent WHERE h.inhrelid = to_regclass({{bind (qt .Schema .Index)}}) AND con.conrelid = {{template "rel" $}} AND con.conname = {{bind $.Name}}
ALTER INDEX {{qt $.Schema $.Name}} ATTACH PARTITION {{qt .Schema .Index}}
{{- end}}
{{end}}

{{/* Rollback of add-unique-partitioned: dropping the parent's constraint
     drops the partitions' constraints and indexes attached to it; what a
     run that did not finish left on a partition (an index, or a
     constraint not yet attached) is dropped by name. */}}
{{define "drop-unique-partitioned"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} and its partitions for an instant (it waits at most --lock-timeout, then is retried): drops the constraint and its index on every partition attached to it
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT IF EXISTS {{q .Name}}
{{- range .Partitions}}
-- step: ACCESS EXCLUSIVE on the partition {{.Table}}, until commit: drops the constraint {{.Index}} of a run that did not attach it, if there is one
ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT IF EXISTS {{q .Index}}
-- step: ACCESS EXCLUSIVE on the partition {{.Table}}, already held, until commit: drops the index {{.Index}} of a run that did not finish (built, or left INVALID), if there is one
DROP INDEX IF EXISTS {{qt .Schema .Index}}
{{- end}}
{{end}}

{{/* ---------- batches: keyset ranges on the key column ---------- */}}

{{define "range"}}{{if .Keys}}{{if .HasLo}}{{if .FromLo}}{{template "key-from-lo" .}}{{else}}{{template "key-after-lo" .}}{{end}} AND {{end}}{{template "key-upto-hi" .}}{{else}}{{if .HasLo}}{{q .Key}} >{{if .FromLo}}={{end}} {{param "lo"}} AND {{end}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}

{{/* A composite key (.Keys) is walked in the order of its tuple. PostgreSQL
     serves a row-value comparison as one range of the key's index. */}}
{{define "key-after-lo"}}({{qlist .Keys}}) > ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{param (printf "lo_%d" $i)}}{{end}}){{end}}
{{define "key-from-lo"}}({{qlist .Keys}}) >= ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{param (printf "lo_%d" $i)}}{{end}}){{end}}
{{define "key-upto-hi"}}({{qlist .Keys}}) <= ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{param (printf "hi_%d" $i)}}{{end}}){{end}}
{{define "key-order"}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{q $k}}{{end}}{{end}}
{{define "key-order-desc"}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{q $k}} DESC{{end}}{{end}}

{{define "upper-bound"}}
{{- if .Keys}}
SELECT {{qlist .Keys}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order" .}} LIMIT 1 OFFSET {{param "offset"}}
{{- else}}
SELECT {{q .Key}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}} ORDER BY {{q .Key}} LIMIT 1 OFFSET {{param "offset"}}
{{- end}}
{{end}}

{{/* ---------- a walk split among workers (engine/workers.go) ----------
     Each worker's range and checkpoint is a row of shepherd_walk, made
     when a walk first splits (nothing else reads it): a worker's batch
     moves its own row only, so workers never wait for each other's. */}}
{{define "walk-ddl"}}CREATE TABLE IF NOT EXISTS shepherd.shepherd_walk (plan text NOT NULL, phase text NOT NULL, worker integer NOT NULL, lo text, hi text, checkpoint text, rows_done bigint NOT NULL DEFAULT 0, rows_changed bigint NOT NULL DEFAULT 0, PRIMARY KEY (plan, phase, worker)){{end}}
{{define "walk-exists"}}SELECT count(*) FROM pg_catalog.pg_class WHERE oid = to_regclass('shepherd.shepherd_walk'){{end}}
{{define "walk-load"}}SELECT worker, lo, hi, checkpoint, rows_done, rows_changed FROM shepherd.shepherd_walk WHERE plan = {{param "plan"}} AND phase = {{param "phase"}} ORDER BY worker{{end}}
{{define "walk-insert"}}INSERT INTO shepherd.shepherd_walk (plan, phase, worker, lo, hi, checkpoint) VALUES ({{param "plan"}}, {{param "phase"}}, {{param "worker"}}, {{param "lo"}}, {{param "hi"}}, {{param "lo"}}){{end}}
{{define "walk-save"}}UPDATE shepherd.shepherd_walk SET checkpoint = {{param "checkpoint"}}, rows_done = {{param "rows_done"}}, rows_changed = {{param "rows_changed"}} WHERE plan = {{param "plan"}} AND phase = {{param "phase"}} AND worker = {{param "worker"}}{{end}}
{{define "walk-get"}}SELECT checkpoint, rows_done, rows_changed FROM shepherd.shepherd_walk WHERE plan = {{param "plan"}} AND phase = {{param "phase"}} AND worker = {{param "worker"}}{{end}}
{{define "walk-delete"}}DELETE FROM shepherd.shepherd_walk WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}
{{/* The key's first and last values past lo (its index's two ends), to split a walk. */}}
{{define "range-count"}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "range" .}}{{end}}
{{/* How many workers a walk gets by default: the parallelism the server
     lets one statement have (max_parallel_workers_per_gather, 2 by
     default; 0 turns it off): the DBA's word on how much of the server one
     session may take. PostgreSQL does not tell a client its cores. */}}
{{define "default-workers"}}SELECT current_setting('max_parallel_workers_per_gather')::int{{end}}

{{/* The rows switch-writes' catch-up fills: NULL in the new column, past
     the cursor, in key order, each with 1 when the expression gives NULL
     for it (it stays NULL) (engine/nullwalk.go). OFFSET 0 keeps the planner
     from walking the key's index for ORDER BY … LIMIT, which fetches every
     row's page once the fill has left them not all-visible: the search is
     one read of the table, then a sort of the few rows it found. */}}
{{define "null-keys"}}
{{- if .Keys}}
SELECT {{qlist .Keys}}, shepherd_n.shepherd_x FROM (SELECT {{qlist .Keys}}, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END AS shepherd_x FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{template "key-after-lo" .}}{{end}} OFFSET 0) AS shepherd_n ORDER BY {{template "key-order" .}} LIMIT {{param "limit"}}
{{- else}}
SELECT shepherd_n.shepherd_k, shepherd_n.shepherd_x FROM (SELECT {{q .Key}} AS shepherd_k, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END AS shepherd_x FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{q .Key}} > {{param "lo"}}{{end}} OFFSET 0) AS shepherd_n ORDER BY shepherd_n.shepherd_k LIMIT {{param "limit"}}
{{- end}}
{{end}}

{{/* Not max(): uuid has no max aggregate; the key's index gives the last key. */}}
{{define "last-key"}}
{{- if .Keys}}
{{/* the last key of a composite key and the rows left; no row when none is */}}
SELECT {{qlist .Keys}}, (SELECT count(*) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}}) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order-desc" .}} LIMIT 1
{{- else}}
SELECT (SELECT {{q .Key}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}} ORDER BY {{q .Key}} DESC LIMIT 1), count(*)
FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}}
{{- end}}
{{end}}

{{/* Sessions of this database waiting for a lock on the table (a DDL, a
     LOCK TABLE): the batch loop holds between batches while there are any
     (engine/pressure.go). Only waits for the table itself: row waits
     ('tuple', two application sessions on one row) and 'extend' waits
     (heavy inserts) name the table too, and end on their own. */}}
{{define "pressure"}}
SELECT 'lock waits', count(*) FROM pg_catalog.pg_locks
WHERE NOT granted AND locktype = 'relation' AND relation = {{template "rel" .}}
  AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
{{end}}

{{/* The planner's estimate; a table never analyzed (reltuples < 0) is counted. */}}
{{define "estimate-rows"}}
SELECT CASE WHEN c.reltuples < 0 THEN (SELECT count(*) FROM {{qt .Schema .Table}}) ELSE c.reltuples::bigint END
FROM pg_catalog.pg_class c WHERE c.oid = {{template "rel" .}}
{{end}}

{{/* Rows where the expression gives NULL are left alone: they would stay
     NULL, and the rows the update counts are the rows it filled. */}}
{{define "fill-batch"}}
-- step: ROW EXCLUSIVE on {{.Table}} (reads and writes go on) and a lock on each row it changes, until the batch commits; it waits at most lock_timeout for a lock, then is retried
UPDATE {{qt .Schema .Table}} SET {{q .Column}} = ({{.Expr}})
WHERE {{template "range" .}} AND {{q .Column}} IS NULL AND ({{.Expr}}) IS NOT NULL
{{end}}

{{define "copy-batch"}}
{{- if .SyncOff}}{{template "sync-off" .}}{{end}}
-- step: ROW EXCLUSIVE on {{.Table}} (reads and writes go on) and a lock on each row it changes, until the batch commits; it waits at most lock_timeout for a lock, then is retried
UPDATE {{qt .Schema .Table}} SET {{q .To}} = {{q .Column}}
WHERE {{template "range" .}} AND {{q .To}} IS DISTINCT FROM {{q .Column}}
{{end}}

{{define "clean-batch"}}
-- step: ROW EXCLUSIVE on {{.Table}} (reads and writes go on) and a lock on each row it changes, until the batch commits; it waits at most lock_timeout for a lock, then is retried
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}
WHERE {{template "range" .}} AND {{template "violates" .}}
{{end}}

{{/* ---------- a UNIQUE clean: the duplicates, not the table ----------
     The rows of a UNIQUE's groups of equal values, each with the key of its
     group's first row (the smallest key: it keeps its values), from one
     sort of the rows by the constraint's columns, however many duplicates
     there are. A row with a NULL in any of the columns is no duplicate:
     UNIQUE lets NULLs be. */}}
{{define "duplicate-window"}}{{if .Keys}}SELECT {{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $k}} AS shepherd_k{{$j}}{{end}}{{range $j, $k := .Keys}}, first_value({{q $k}}) OVER (PARTITION BY {{qlist $.Columns}} ORDER BY {{template "key-order" $}}) AS shepherd_f{{$j}}{{end}} FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}}{{else}}SELECT {{q .Key}} AS shepherd_key, first_value({{q .Key}}) OVER (PARTITION BY {{qlist .Columns}} ORDER BY {{q .Key}}) AS shepherd_first FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}}{{end}}{{end}}

{{/* The walk's next duplicates after the last it cleaned, in key order, at
     most {{param "limit"}} at a time (engine/dupwalk.go). */}}
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

{{/* One batch of duplicates, by their keys. A row is cleaned only if a row
     with a smaller key still has its values, among the first rows the
     search found for the batch (found by key too): one the application
     changed since is left to the walk's next look. A hash join of the
     two lists: the batch reads its own rows and their first rows, never
     the table. */}}
{{define "clean-duplicates"}}
-- step: ROW EXCLUSIVE on {{.Table}} (reads and writes go on) and a lock on each row it changes, until the batch commits; it waits at most lock_timeout for a lock, then is retried
{{- if .Keys}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}
WHERE ({{qlist .Keys}}) IN ({{range $i, $d := .Dups}}{{if $i}}, {{end}}({{range $j, $k := $.Keys}}{{if $j}}, {{end}}{{param (printf "%s_%d" $d.Key $j)}}{{end}}){{end}})
  AND EXISTS (SELECT 1 FROM {{qt .Schema .Table}} AS shepherd_dup WHERE ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_dup.{{q $k}}{{end}}) IN ({{range $i, $f := .Firsts}}{{if $i}}, {{end}}({{range $j, $k := $.Keys}}{{if $j}}, {{end}}{{param (printf "%s_%d" $f $j)}}{{end}}){{end}}){{range .Columns}} AND shepherd_dup.{{q .}} = {{q $.Table}}.{{q .}}{{end}} AND ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_dup.{{q $k}}{{end}}) < ({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $.Table}}.{{q $k}}{{end}}))
{{- else}}
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}
WHERE {{q .Key}} IN ({{range $i, $d := .Dups}}{{if $i}}, {{end}}{{param $d.Key}}{{end}})
  AND EXISTS (SELECT 1 FROM {{qt .Schema .Table}} AS shepherd_dup WHERE shepherd_dup.{{q .Key}} IN ({{range $i, $f := .Firsts}}{{if $i}}, {{end}}{{param $f}}{{end}}){{range .Columns}} AND shepherd_dup.{{q .}} = {{q $.Table}}.{{q .}}{{end}} AND shepherd_dup.{{q .Key}} < {{q .Table}}.{{q .Key}})
{{- end}}
{{end}}

{{/* ---------- checks on the real data ---------- */}}

{{define "null-rows"}}{{q .Column}} IS NULL{{end}}
{{define "diff-rows"}}{{q .To}} IS DISTINCT FROM {{q .Column}}{{end}}

{{/* A duplicate is a row whose values a row with a smaller key has: the
     rows of the one sort above but each group's first. (A correlated
     EXISTS searched the table for every row: a hash of the whole table at
     each batch of a clean, and SQLite's count read the table once per
     row.) */}}
{{define "duplicate"}}{{if .Keys}}({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $.Table}}.{{q $k}}{{end}}) IN (SELECT {{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}} FROM ({{template "duplicate-window" .}}) AS shepherd_w WHERE ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}}) <> ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_f{{$j}}{{end}})){{else}}{{q .Table}}.{{q .Key}} IN (SELECT shepherd_w.shepherd_key FROM ({{template "duplicate-window" .}}) AS shepherd_w WHERE shepherd_w.shepherd_key <> shepherd_w.shepherd_first){{end}}{{end}}

{{define "violates"}}
{{- if eq .Kind "not_null"}}{{q .Column}} IS NULL
{{- else if eq .Kind "unique"}}{{template "duplicate" .}}
{{- else if eq .Kind "foreign_key"}}{{template "orphan" .}}
{{- else}}NOT ({{.Check}}){{end}}
{{- end}}

{{/* A row that breaks a foreign key: every referencing column has a value
     (a NULL in any of them exempts the row, as MATCH SIMPLE does) and no
     row of the referenced table has those values. */}}
{{define "orphan"}}{{range .Columns}}{{q $.Table}}.{{q .}} IS NOT NULL AND {{end}}NOT EXISTS (SELECT 1 FROM {{qt .RefSchema .RefTable}} AS shepherd_parent WHERE {{range $i, $c := .RefColumns}}{{if $i}} AND {{end}}shepherd_parent.{{q $c}} = {{q $.Table}}.{{q (index $.Columns $i)}}{{end}}){{end}}

{{/* verify-failure-path: a value of a referencing column that no row of the
     referenced table has (.Column is the referenced column; .Cond says its
     kind: int or text). Two past the greatest, not one: where a table
     references itself, a row inserted with the next id must not be its
     own parent. */}}
{{define "absent-key"}}(SELECT {{if eq .Cond "int"}}coalesce(max({{q .Column}}), 0) + 2{{else}}coalesce(max({{q .Column}}), '') || 'x'{{end}} FROM {{qt .RefSchema .RefTable}}){{end}}

{{/* verify-failure-path: the value of the referenced column .Column in the
     first row of the referenced table by its key (.RefColumns), for a row
     that satisfies the foreign key; every column's from the same row. */}}
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
{{- else if eq .Cond "unreproduced"}}CASE WHEN {{q .Column}} IS NULL THEN false ELSE {{q .Column}} IS DISTINCT FROM CAST(({{.Expr}}) AS {{.Type}}) END
{{- else}}{{template "violates" .}}{{end}}
{{- if .Bounded}} AND {{if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}
{{- end}}


{{/* whether any row has a value in the column: one row read at most */}}
{{define "column-has-values"}}SELECT count(*) FROM (SELECT 1 FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NOT NULL LIMIT 1) AS shepherd_any{{end}}
{{define "column-exists"}}SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = {{template "rel" .}} AND attname = {{bind .Column}} AND attnum > 0 AND NOT attisdropped{{end}}
{{define "column-nullable"}}SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = {{template "rel" .}} AND attname = {{bind .Column}} AND attnum > 0 AND NOT attisdropped AND NOT attnotnull{{end}}
{{define "column-not-null"}}SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = {{template "rel" .}} AND attname = {{bind .Column}} AND attnum > 0 AND NOT attisdropped AND attnotnull{{end}}

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

{{/* verify-failure-path's connection: PostgreSQL always enforces every constraint. */}}
{{define "proof-setup"}}{{end}}

{{define "savepoint"}}SAVEPOINT shepherd_probe{{end}}
{{define "rollback-to-savepoint"}}ROLLBACK TO SAVEPOINT shepherd_probe{{end}}

{{/* ---------- export: guards of migration files ----------
     shepherd export writes migration files that a migration tool runs
     without shepherd's checks. A file that must not run before its
     preconditions hold (the point of no return) starts with a guard: the
     count of rows that break the precondition goes into a temporary table
     whose CHECK, named after what is wrong, refuses anything but 0, so the
     migration fails with that name before it changes anything. With no
     .Cond, the guard always fails: a down that must not run. Exported files
     run it inside their transaction (ON COMMIT DROP cleans up). */}}
{{define "export-guard"}}
-- step: a temporary table of this transaction only: no lock on any other table
CREATE TEMPORARY TABLE shepherd_guard (rows_found bigint NOT NULL, CONSTRAINT {{q .Name}} CHECK (rows_found = 0)) ON COMMIT DROP
{{- if .Cond}}
-- step: ACCESS SHARE on {{.Table}} while it counts (one read of every row): reads and writes go on
INSERT INTO shepherd_guard (rows_found) {{template "guard-count" .}}
{{- else}}
-- step: fails on purpose: the CHECK refuses 1
INSERT INTO shepherd_guard (rows_found) VALUES (1)
{{- end}}
{{end}}

{{/* the rows a guard counts; "duplicates" counts the groups of rows that a
     unique constraint on .Columns would refuse (a NULL is never a duplicate) */}}
{{define "guard-count"}}
{{- if eq .Cond "duplicates"}}SELECT count(*) FROM (SELECT 1 FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}} GROUP BY {{qlist .Columns}} HAVING count(*) > 1) AS shepherd_dups
{{- else}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "cond" .}}{{end}}
{{- end}}

{{/* ---------- rename-column: what uses the old column ----------
     One row per object that uses the column: kind, name, the table or view
     it is on, its columns (comma-separated, for indexes and constraints),
     whether it is an index on an expression or with a WHERE, its definition,
     and whether the engine must find the column's name in the definition
     (1: a trigger's function may not name it). pg_depend and the catalogs
     say exactly what uses the column. */}}
{{define "column-dependents"}}
WITH t AS (SELECT {{template "rel" .}} AS rel),
c AS (SELECT a.attnum FROM pg_catalog.pg_attribute AS a, t WHERE a.attrelid = t.rel AND a.attname = {{bind .Column}} AND NOT a.attisdropped)
SELECT CASE WHEN con.contype = 'p' THEN 'primary-key' WHEN i.indisunique THEN 'unique' ELSE 'index' END,
  ic.relname::text, i.indrelid::regclass::text,
  array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(n, ord) JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.ord), ','),
  (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)::int, pg_catalog.pg_get_indexdef(i.indexrelid), 0
FROM pg_catalog.pg_index AS i JOIN t ON i.indrelid = t.rel CROSS JOIN c
JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint AS con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
WHERE c.attnum = ANY (i.indkey) OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjid = t.rel AND d.refobjsubid = c.attnum)
UNION ALL
SELECT CASE con.contype WHEN 'c' THEN 'check' ELSE 'foreign-key' END, con.conname::text, con.conrelid::regclass::text,
  array_to_string(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(n, ord) JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.ord), ','),
  0, replace(pg_catalog.pg_get_constraintdef(con.oid), ' NOT VALID', ''), 0
FROM pg_catalog.pg_constraint AS con JOIN t ON con.conrelid = t.rel CROSS JOIN c
WHERE con.contype IN ('c', 'f') AND c.attnum = ANY (con.conkey)
UNION ALL
SELECT 'referenced-by', con.conname::text, con.conrelid::regclass::text, '', 0, pg_catalog.pg_get_constraintdef(con.oid), 0
FROM pg_catalog.pg_constraint AS con JOIN t ON con.confrelid = t.rel CROSS JOIN c
WHERE con.contype = 'f' AND c.attnum = ANY (con.confkey)
UNION ALL
SELECT DISTINCT 'view', v.relname::text, v.oid::regclass::text, '', 0, '', 0
FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_rewrite AS r ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
JOIN pg_catalog.pg_class AS v ON v.oid = r.ev_class JOIN t ON d.refobjid = t.rel JOIN c ON d.refobjsubid = c.attnum
WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND r.ev_class <> t.rel
UNION ALL
SELECT 'generated', a.attname::text, t.rel::regclass::text, '', 0, '', 0
FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_attrdef AS ad ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
JOIN t ON d.refobjid = t.rel JOIN c ON d.refobjsubid = c.attnum
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND ad.adnum <> c.attnum
UNION ALL
SELECT 'trigger', tg.tgname::text, tg.tgrelid::regclass::text, '', 0,
  pg_catalog.pg_get_triggerdef(tg.oid) || E'\n' || coalesce(p.prosrc, ''), (NOT (c.attnum = ANY (tg.tgattr)))::int
FROM pg_catalog.pg_trigger AS tg JOIN t ON tg.tgrelid = t.rel CROSS JOIN c JOIN pg_catalog.pg_proc AS p ON p.oid = tg.tgfoid
WHERE NOT tg.tgisinternal
{{end}}

{{/* what the operator runs to give the new column an index like the old
     one's (shown in messages, never run by shepherd) */}}
{{/* what the operator runs to drop an INVALID index a failed CREATE INDEX
     CONCURRENTLY left with the constraint's name (shown in messages) */}}
{{define "suggest-drop-index"}}DROP INDEX CONCURRENTLY {{qt .Schema .Name}}{{end}}
{{define "suggest-index"}}CREATE {{if .Unique}}UNIQUE {{end}}INDEX CONCURRENTLY {{q .Name}} ON {{qt .Schema .Table}} ({{qlist .Columns}}){{end}}
{{define "suggest-constraint"}}ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} {{.Check}} NOT VALID; ALTER TABLE {{qt .Schema .Table}} VALIDATE CONSTRAINT {{q .Name}}{{end}}

{{/* add-constraint and verify-failure-path: the definition of the table's
     CHECK named .Name as PostgreSQL prints it (NOT VALID left out: whether
     it is validated is checked apart), none when there is no such CHECK.
     The plan's check is printed the same way from an empty temporary copy
     of the table (try-check, with .Schema pg_temp), so that two ways of
     writing one check compare equal. */}}
{{define "check-definition"}}SELECT regexp_replace(pg_catalog.pg_get_constraintdef(con.oid), ' NOT VALID$', '') FROM pg_catalog.pg_constraint con WHERE con.conrelid = {{template "rel" .}} AND con.conname = {{bind .Name}} AND con.contype = 'c'{{end}}

{{/* verify-failure-path: whether a row with .Set's values violates the
     plan's CHECK (1), satisfies it (0) or neither (NULL: a CHECK accepts
     it), without writing it: with .Key, the table's row {{param "key"}}
     with .Set's values in place of its own (.Set lists every column);
     without, .Set's values alone (a row to insert). */}}
{{define "check-verdict"}}SELECT CASE WHEN NOT ({{.Check}}) THEN 1 WHEN ({{.Check}}) THEN 0 END FROM (SELECT {{range $i, $s := .Set}}{{if $i}}, {{end}}({{$s.Expr}}) AS {{q $s.Column}}{{end}}{{if .Key}} FROM {{qt .Schema .Table}} AS shepherd_row WHERE {{if .Keys}}{{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_row.{{q $k}} = {{param (printf "key_%d" $j)}}{{end}}{{else}}shepherd_row.{{q .Key}} = {{param "key"}}{{end}}{{end}}) AS {{q .Table}}{{end}}

{{/* add-constraint and verify-failure-path: what the table's foreign key
     named .Name references, one row per column, in order: the referenced
     table and column. */}}
{{define "foreign-key-reference"}}
SELECT rt.relname, a.attname
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class rt ON rt.oid = con.confrelid
CROSS JOIN LATERAL unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
WHERE con.conrelid = {{template "rel" .}} AND con.conname = {{bind .Name}} AND con.contype = 'f'
ORDER BY k.ord
{{end}}

{{/* ---------- drop-column's archive: each row's key and the column's
     value, in a table of their own, so that a rollback after the drop can
     restore them. Each batch is an upsert: a batch run again after a
     crash writes the same rows again. ---------- */}}
{{/* The archive's key columns: shepherd_key, or shepherd_key_0, _1, … for
     a composite key (.Keys); the table's key columns; and the join of an
     archive row (a) to its table row (t). */}}
{{define "archive-keys"}}{{if .Keys}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}shepherd_key_{{$i}}{{end}}{{else}}shepherd_key{{end}}{{end}}
{{define "table-keys"}}{{if .Keys}}{{qlist .Keys}}{{else}}{{q .Key}}{{end}}{{end}}
{{define "archive-join"}}{{if .Keys}}{{range $i, $k := .Keys}}{{if $i}} AND {{end}}a.shepherd_key_{{$i}} = t.{{q $k}}{{end}}{{else}}a.shepherd_key = t.{{q .Key}}{{end}}{{end}}
{{define "archive-key-defs"}}{{if .Keys}}{{range $i, $t := .KeyTypes}}shepherd_key_{{$i}} {{$t}} NOT NULL, {{end}}{{else}}shepherd_key {{.Type}} NOT NULL, {{end}}{{end}}

{{define "archive-create"}}
-- step: ACCESS EXCLUSIVE on the new table {{.To}} only (nothing else waits): creates the archive {{.To}} (shepherd_key, the key of {{.Table}}, and {{.Column}})
CREATE TABLE IF NOT EXISTS {{qt .Schema .To}} ({{template "archive-key-defs" .}}{{q .Column}} {{.Expr}}, PRIMARY KEY ({{template "archive-keys" .}}))
{{end}}

{{define "archive-batch"}}
-- step: ROW EXCLUSIVE on the archive {{.To}} and ACCESS SHARE on {{.Table}} (reads and writes go on, no row of it is locked): copies one short batch of rows' key and {{.Column}}
INSERT INTO {{qt .Schema .To}} ({{template "archive-keys" .}}, {{q .Column}})
SELECT {{template "table-keys" .}}, {{q .Column}} FROM {{qt .Schema .Table}} WHERE {{template "range" .}}
ON CONFLICT ({{template "archive-keys" .}}) DO UPDATE SET {{q .Column}} = EXCLUDED.{{q .Column}}
{{end}}

{{/* Rows whose value the archive lacks (a NULL needs no archive). */}}
{{define "archive-missing"}}
SELECT count(*) FROM {{qt .Schema .Table}} t
WHERE t.{{q .Column}} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {{qt .Schema .To}} a WHERE {{template "archive-join" .}} AND a.{{q .Column}} IS NOT DISTINCT FROM t.{{q .Column}})
{{end}}

{{define "restore-batch"}}
-- step: ROW EXCLUSIVE on {{.Table}} (reads and writes go on) and a lock on each row it changes, until the batch commits; it waits at most lock_timeout for a lock, then is retried
UPDATE {{qt .Schema .Table}} t SET {{q .Column}} = a.{{q .Column}}
FROM {{qt .Schema .To}} a
WHERE {{template "archive-join" .}} AND {{template "range" .}} AND t.{{q .Column}} IS DISTINCT FROM a.{{q .Column}}
{{end}}

{{/* Archived values the table does not hold (after a restore: none). */}}
{{define "restore-missing"}}
SELECT count(*) FROM {{qt .Schema .To}} a JOIN {{qt .Schema .Table}} t ON {{template "archive-join" .}}
WHERE t.{{q .Column}} IS DISTINCT FROM a.{{q .Column}}
{{end}}

{{/* ---------- sync: database (engine/sync_triggers.go) ----------
     One trigger function and one BEFORE INSERT OR UPDATE trigger keep a
     rename's old and new columns in step while code of both shapes runs.
     A write of the old column only sets the new one (.Sync.Forward), a
     write of the new one only sets the old one (.Sync.Reverse), a write of
     both keeps both. "Writes": an UPDATE that changes the value; an INSERT
     that gives the new column a non-NULL value. Forward and Reverse are
     expressions over NEW, so that change-column-type can give conversions.
     Each statement runs in add-column's transaction, with its state. */}}
{{define "sync-function"}}
-- step: no table lock: only the catalog changes (the trigger function, replaced on a rerun)
CREATE OR REPLACE FUNCTION {{qt .Schema .Sync.Function}}() RETURNS trigger LANGUAGE plpgsql AS $shepherd$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.{{q .Sync.New}} IS NULL THEN
      {{template "sync-forward" .}}
    ELSIF NEW.{{q .Sync.Old}} IS NULL THEN
      {{template "sync-reverse" .}}
    END IF;
  ELSIF NEW.{{q .Sync.Old}} IS DISTINCT FROM OLD.{{q .Sync.Old}} AND NEW.{{q .Sync.New}} IS NOT DISTINCT FROM OLD.{{q .Sync.New}} THEN
    {{template "sync-forward" .}}
  ELSIF NEW.{{q .Sync.New}} IS DISTINCT FROM OLD.{{q .Sync.New}} AND NEW.{{q .Sync.Old}} IS NOT DISTINCT FROM OLD.{{q .Sync.Old}} THEN
    {{template "sync-reverse" .}}
  END IF;
  RETURN NEW;
END
$shepherd$
{{end}}

{{/* sync-refresh: the triggers converting with the plan's using: and
     reverse: as they are now (they may change until the backfill is done):
     here the function alone, which locks no table. */}}
{{define "sync-refresh"}}{{template "sync-function" .}}{{end}}

{{define "sync-install"}}
{{template "sync-function" .}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried), only where a trigger of this name was left: a rerun replaces it
DROP TRIGGER IF EXISTS {{q .Sync.Trigger}} ON {{qt .Schema .Table}}
-- step: SHARE ROW EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): only the catalog changes; from now on every INSERT and UPDATE of {{.Table}} does one more column assignment per row written, in the writer's own statement
CREATE TRIGGER {{q .Sync.Trigger}} BEFORE INSERT OR UPDATE{{if .Sync.Source}} OF {{q .Sync.Source}}{{end}} ON {{qt .Schema .Table}} FOR EACH ROW WHEN ({{template "sync-on" .}}) EXECUTE FUNCTION {{qt .Schema .Sync.Function}}()
{{end}}

{{/* The triggers skip the writes of shepherd's own batches (copy-batch,
     convert-batch), which set shepherd.sync to off for their transaction
     (sync-off): each batch writes the new column from the old one itself,
     so the trigger has nothing to keep in step there, and it would cost
     every row of the walk a call of the function (the backfill of
     change-column-type measured at half add-column's speed), and, seeing
     a write of the new column only, write the old one back through
     reverse:. The condition is in the trigger's WHEN, so the function is
     not even called. */}}
{{/* With .Sync.Source (change-column-type) the trigger fires on an
     UPDATE only where it sets that column, the one application code
     writes: the backfill's writes of the shadow do not even evaluate the
     WHEN (which cost the walk a tenth). UPDATE OF follows the column, not
     its name, so the swap creates the trigger again on the column that
     takes the name. */}}
{{/* Each way's assignment. With .Sync.Var (change-column-type), the
     conversion sees the column under its own name: a block labelled as the
     table (for a conversion that qualifies the column) binds that name
     to the field it converts, of the field's type, so that plpgsql runs the
     conversion as a plain expression, not a query per row. */}}
{{define "sync-forward"}}{{if .Sync.Var}}<<{{q .Table}}>> DECLARE {{q .Sync.Var}} {{qt .Schema .Table}}.{{q .Sync.Old}}%TYPE := NEW.{{q .Sync.Old}}; BEGIN NEW.{{q .Sync.New}} := {{.Sync.Forward}}; END;{{else}}NEW.{{q .Sync.New}} := {{.Sync.Forward}};{{end}}{{end}}
{{define "sync-reverse"}}{{if .Sync.Var}}<<{{q .Table}}>> DECLARE {{q .Sync.Var}} {{qt .Schema .Table}}.{{q .Sync.New}}%TYPE := NEW.{{q .Sync.New}}; BEGIN NEW.{{q .Sync.Old}} := {{.Sync.Reverse}}; END;{{else}}NEW.{{q .Sync.Old}} := {{.Sync.Reverse}};{{end}}{{end}}

{{define "sync-on"}}current_setting('shepherd.sync', true) IS DISTINCT FROM 'off'{{end}}
{{define "sync-off"}}
-- step: for this batch's transaction only: the sync triggers skip its writes, which keep the columns in step themselves
SELECT set_config('shepherd.sync', 'off', true)
{{end}}

{{define "sync-remove"}}
-- step: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): only the catalog changes
DROP TRIGGER IF EXISTS {{q .Sync.Trigger}} ON {{qt .Schema .Table}}
-- step: no table lock: only the catalog changes (the trigger function goes)
DROP FUNCTION IF EXISTS {{qt .Schema .Sync.Function}}()
{{end}}

{{/* the value of the other column as the column written gets it: cast to
     the plan's type: where it gives one, else as assignment converts it
     (as the backfill's copy does) */}}
{{define "sync-value"}}{{if .Type}}CAST(NEW.{{q .Column}} AS {{.Type}}){{else}}NEW.{{q .Column}}{{end}}{{end}}

{{/* how many of the sync trigger and its function are in the catalog */}}
{{define "sync-present"}}SELECT (SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = {{template "rel" .}} AND tgname = {{bind .Sync.Trigger}}) + (CASE WHEN to_regproc({{bind (qt .Schema .Sync.Function)}}) IS NULL THEN 0 ELSE 1 END){{end}}
{{define "sync-expected"}}SELECT 2{{end}}

{{/* sync-row is SQLite's (its AFTER triggers update the row just written):
     here the BEFORE triggers change NEW in place. */}}
{{define "sync-row"}}{{end}}

{{/* ---------- change-column-type (engine/change_type*.go) ----------
     The shadow column (.To) of the new type (.Type) is filled with the
     plan's conversion (.Expr) of the row, cast to the new type, so that a
     conversion of another type still lands as the column holds it. */}}
{{define "convert-value"}}CAST(({{.Expr}}) AS {{.Type}}){{end}}

{{/* The reverse: conversion a plan does not give: a cast back to the old type. */}}
{{define "convert-cast"}}CAST({{.Expr}} AS {{.Type}}){{end}}

{{/* The conversion as the sync triggers compute it from the row written:
     the expression sees the column under its own name (.Column), which the
     trigger function binds to NEW's field .To (sync-forward, sync-reverse). */}}
{{define "convert-trigger-value"}}CAST(({{.Expr}}) AS {{.Type}}){{end}}

{{/* The conversion compiled as the triggers run it, over the column alone (of type .From). */}}
{{define "convert-try-alone"}}SELECT CAST(({{.Expr}}) AS {{.Type}}) FROM (SELECT CAST(NULL AS {{.From}}) AS {{q .Column}}) AS {{q .Table}} WHERE false{{end}}

{{define "convert-batch"}}
{{- template "sync-off" .}}
-- step: ROW EXCLUSIVE on {{.Table}} (reads and writes go on) and a lock on each row it changes, until the batch commits; it waits at most lock_timeout for a lock, then is retried
UPDATE {{qt .Schema .Table}} SET {{q .To}} = {{template "convert-value" .}}
WHERE {{template "range" .}} AND {{q .To}} IS DISTINCT FROM {{template "convert-value" .}}
{{end}}

{{/* Rows the conversion leaves wrong: "lost", a value it turns into NULL;
     else rows whose shadow is not the conversion (up to the walk's bound
     when .Bounded). */}}
{{define "convert-cond"}}{{if eq .Cond "lost"}}{{q .Column}} IS NOT NULL AND {{template "convert-value" .}} IS NULL{{else}}{{q .To}} IS DISTINCT FROM {{template "convert-value" .}}{{end}}{{if .Bounded}} AND {{if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}{{end}}

{{/* Both of verifyConverted's counts in one scan: the values the conversion
     turns into NULL (the whole table), and the rows whose shadow is not
     the conversion, up to the walk's bound. */}}
{{define "convert-counts"}}SELECT count(*) FILTER (WHERE {{q .Column}} IS NOT NULL AND {{template "convert-value" .}} IS NULL), count(*) FILTER (WHERE {{q .To}} IS DISTINCT FROM {{template "convert-value" .}} AND {{if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}) FROM {{qt .Schema .Table}}{{end}}
{{define "convert-count"}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "convert-cond" .}}{{end}}
{{define "convert-sample"}}SELECT {{template "table-keys" .}} FROM {{qt .Schema .Table}} WHERE {{template "convert-cond" .}} ORDER BY {{template "table-keys" .}} LIMIT 5{{end}}

{{/* The rows the conversion fails on (invalid input for a cast, a value
     out of range): a function of the session's own (pg_temp), created in a
     transaction that is always rolled back, tries it on each row and says
     whether it raised. Only after a batch failed: it reads the table. */}}
{{define "convert-probe-function"}}
CREATE FUNCTION pg_temp.shepherd_convert_fails(shepherd_row {{qt .Schema .Table}}) RETURNS boolean LANGUAGE plpgsql AS $shepherd$
BEGIN
  PERFORM {{template "convert-value" .}} FROM (SELECT (shepherd_row).*) AS {{q .Table}};
  RETURN false;
EXCEPTION WHEN others THEN
  RETURN true;
END
$shepherd$
{{end}}
{{define "convert-fails-count"}}SELECT count(*) FROM {{qt .Schema .Table}} AS {{q .Table}} WHERE pg_temp.shepherd_convert_fails({{q .Table}}){{end}}
{{define "convert-fails-sample"}}SELECT {{template "table-keys" .}} FROM {{qt .Schema .Table}} AS {{q .Table}} WHERE pg_temp.shepherd_convert_fails({{q .Table}}) ORDER BY {{template "table-keys" .}} LIMIT 5{{end}}

{{/* What the swap reads of the column: NOT NULL, identity, generated, its
     default's text, the sequence it owns (serial) and that sequence's type. */}}
{{define "swap-column"}}
SELECT a.attnotnull, a.attidentity::text, a.attgenerated::text,
  coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''),
  coalesce(pg_catalog.pg_get_serial_sequence({{bind (qt .Schema .Table)}}, a.attname), ''),
  coalesce((SELECT pg_catalog.format_type(s.seqtypid, NULL) FROM pg_catalog.pg_sequence s WHERE s.seqrelid = to_regclass(pg_catalog.pg_get_serial_sequence({{bind (qt .Schema .Table)}}, a.attname))), ''),
  pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = {{template "rel" .}} AND a.attname = {{bind .Column}} AND a.attnum > 0 AND NOT a.attisdropped
{{end}}

{{/* The indexes whose key includes the column: name, unique, primary,
     method, the PRIMARY KEY or UNIQUE constraint it backs, whether it has
     expressions, its predicate, and its key columns in order (JSON). */}}
{{define "swap-indexes"}}
SELECT ic.relname, i.indisunique, i.indisprimary, am.amname, coalesce(con.conname, ''),
  i.indexprs IS NOT NULL, coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), ''),
  (SELECT json_agg(a.attname ORDER BY k.n)::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
WHERE i.indrelid = {{template "rel" .}} AND i.indisvalid
  AND (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = i.indrelid AND attname = {{bind .Column}} AND NOT attisdropped) = ANY (i.indkey::int2[])
ORDER BY ic.relname
{{end}}

{{/* The constraints that name the column (a CHECK, a FOREIGN KEY from it,
     an EXCLUDE) or reference it (a FOREIGN KEY of any table to it): each
     with its table as a name to use in SQL, and its definition. */}}
{{define "swap-constraints"}}
SELECT con.conname, con.contype::text, con.conrelid::regclass::text, regexp_replace(pg_catalog.pg_get_constraintdef(con.oid), ' NOT VALID$', ''), con.conrelid <> {{template "rel" .}}
FROM pg_catalog.pg_constraint con
WHERE con.contype IN ('c', 'f', 'x') AND (
  (con.conrelid = {{template "rel" .}} AND (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = con.conrelid AND attname = {{bind .Column}} AND NOT attisdropped) = ANY (con.conkey))
  OR (con.contype = 'f' AND con.confrelid = {{template "rel" .}} AND (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = con.confrelid AND attname = {{bind .Column}} AND NOT attisdropped) = ANY (con.confkey)))
ORDER BY con.conname
{{end}}

{{/* 1 once the swap took effect: the column it moves aside (.Out) is
     there under its new name and the incoming one (.In) is not any more. */}}
{{define "swap-done"}}((EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = {{template "rel" .}} AND attname = {{bind .OutName}} AND attnum > 0 AND NOT attisdropped) AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = {{template "rel" .}} AND attname = {{bind .In}} AND attnum > 0 AND NOT attisdropped))::int){{end}}

{{define "swap-done-query"}}SELECT {{template "swap-done" .}}{{end}}

{{/* Constraints that name or reference the column and are not validated yet. */}}
{{define "swap-unvalidated"}}
SELECT count(*) FROM pg_catalog.pg_constraint con
WHERE con.contype IN ('c', 'f') AND NOT con.convalidated AND (
  (con.conrelid = {{template "rel" .}} AND (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = con.conrelid AND attname = {{bind .Column}} AND NOT attisdropped) = ANY (con.conkey))
  OR (con.contype = 'f' AND con.confrelid = {{template "rel" .}} AND (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = con.confrelid AND attname = {{bind .Column}} AND NOT attisdropped) = ANY (con.confkey)))
{{end}}

{{define "swap-column-type"}}SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute WHERE attrelid = {{template "rel" .}} AND attname = {{bind .Column}} AND attnum > 0 AND NOT attisdropped{{end}}

{{/* The swap: what it moves onto the incoming column (.In) is built first
     without blocking writes (each build skipped once done, or once the
     swap is); then one transaction, a single statement, renames the
     column (.Column) to .OutName and .In to .Column, and moves the
     default, the sequence, NOT NULL, the PRIMARY KEY or UNIQUE
     constraints (onto the built indexes) and the constraints that name
     or reference the column (NOT VALID: no row is read); after it, each
     of those is validated under a lock that lets reads and writes go on.
     The swap locks the tables whose foreign keys reference the column
     before the table, as the application's writes to them do (a write to
     a referencing table locks it, then the referenced row): the other
     order could deadlock with such a write. */}}
{{define "swap"}}
{{- if not .ValidateOnly}}
{{- range .Indexes}}{{if not .Ready}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{$.Table}}: drops an INVALID index {{.Mirror}} that an earlier failed build left behind; reads and writes go on
-- applied: SELECT ({{template "swap-done" $}} + (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" $}} AND ic.relname = {{bind .Mirror}} AND NOT i.indisvalid))::int)
DROP INDEX CONCURRENTLY IF EXISTS {{qt $.Schema .Mirror}}
-- step notx: SHARE UPDATE EXCLUSIVE on {{$.Table}} while it builds the index on {{$.In}} (two scans of the table, after waiting for the transactions that started before it): reads and writes go on
-- applied: SELECT ({{template "swap-done" $}} + (EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = {{template "rel" $}} AND ic.relname = {{bind .Mirror}} AND i.indisvalid))::int)
CREATE {{if .Unique}}UNIQUE {{end}}INDEX CONCURRENTLY {{q .Mirror}} ON {{qt $.Schema $.Table}} USING {{.Method}} ({{qlist .Columns}}){{if .Where}} WHERE {{.Where}}{{end}}
{{- end}}{{end}}
{{- if .NotNull}}
-- step own: ACCESS EXCLUSIVE on {{.Table}} for an instant (it waits at most --lock-timeout, then is retried): NOT VALID reads no row; from now on a write that leaves {{.In}} NULL is refused (the triggers fill it)
-- applied: SELECT ({{template "swap-done" .}} + (SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .CheckName}}))
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .CheckName}} CHECK ({{q .In}} IS NOT NULL) NOT VALID
-- step own: SHARE UPDATE EXCLUSIVE on {{.Table}} while it scans the table: reads and writes go on; the swap's SET NOT NULL then reads no row
-- applied: SELECT ({{template "swap-done" .}} + (SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = {{template "rel" .}} AND conname = {{bind .CheckName}} AND convalidated))
ALTER TABLE {{qt .Schema .Table}} VALIDATE CONSTRAINT {{q .CheckName}}
{{- end}}
-- step own: ACCESS EXCLUSIVE on {{.Table}}{{range .Constraints}}{{if ne .On $.Table}} and on {{.On}}{{end}}{{end}} for the length of one short transaction (each lock waits at most --lock-timeout, then the whole swap is rolled back and retried): only the catalog changes, no row is read or rewritten
-- applied: SELECT {{template "swap-done" .}}
DO $shepherd_swap$
BEGIN
  LOCK TABLE {{range .Constraints}}{{if .Other}}{{.Qualified}}, {{end}}{{end}}{{qt .Schema .Table}} IN ACCESS EXCLUSIVE MODE;
{{- range .Constraints}}
  ALTER TABLE {{.Qualified}} DROP CONSTRAINT {{q .Name}};
{{- end}}
{{- range .Indexes}}{{if .Constraint}}
  ALTER TABLE {{qt $.Schema $.Table}} DROP CONSTRAINT {{q .Constraint}};
{{- end}}{{end}}
  ALTER TABLE {{qt .Schema .Table}} RENAME COLUMN {{q .Column}} TO {{q .OutName}};
  ALTER TABLE {{qt .Schema .Table}} RENAME COLUMN {{q .In}} TO {{q .Column}};
{{- if .Default}}
  ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .OutName}} DROP DEFAULT;
  ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .Column}} SET DEFAULT {{.Default}};
{{- end}}
{{- if .Sequence}}
  ALTER SEQUENCE {{.Sequence}} OWNED BY {{qt .Schema .Table}}.{{q .Column}};
{{- if .SequenceAs}}
  ALTER SEQUENCE {{.Sequence}} AS {{.SequenceAs}};
{{- end}}
{{- end}}
{{- if .NotNull}}
  ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .Column}} SET NOT NULL;
  ALTER TABLE {{qt .Schema .Table}} DROP CONSTRAINT {{q .CheckName}};
  ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .OutName}} DROP NOT NULL;
{{- end}}
{{- range .Indexes}}
{{- if .Constraint}}
  ALTER TABLE {{qt $.Schema $.Table}} ADD CONSTRAINT {{q .Constraint}} {{if .Primary}}PRIMARY KEY{{else}}UNIQUE{{end}} USING INDEX {{q .Mirror}};
{{- else}}
  ALTER INDEX {{qt $.Schema .Name}} RENAME TO {{q .Aside}};
  ALTER INDEX {{qt $.Schema .Mirror}} RENAME TO {{q .Name}};
{{- end}}
{{- end}}
{{- range .Constraints}}
  ALTER TABLE {{.Qualified}} ADD CONSTRAINT {{q .Name}} {{.Def}} NOT VALID;
{{- end}}
{{- range .SyncSteps}}
  {{.}};
{{- end}}
END
$shepherd_swap$
{{- end}}
{{- range .Constraints}}
-- step own: SHARE UPDATE EXCLUSIVE on {{.On}} while it checks every row: reads and writes go on
-- applied: SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass({{bind .Qualified}}) AND conname = {{bind .Name}} AND convalidated
ALTER TABLE {{.Qualified}} VALIDATE CONSTRAINT {{q .Name}}
{{- end}}
{{end}}

{{/* Replica lag, from the primary (engine/replica_postgres.go): one row a
     standby or subscriber streaming from it (base backups left out): who
     it is, its lag behind the primary (replay_lag, NULL once it has
     caught up on an idle primary) and the WAL it has been sent but not yet
     replayed. The lag columns are NULL to a user without pg_monitor (or
     pg_read_all_stats): the last column says whether they can be read. */}}
{{define "replica-lag"}}
SELECT coalesce(nullif(application_name, ''), 'pid ' || pid::text) || coalesce(' at ' || host(client_addr), ''),
  extract(epoch FROM replay_lag)::float8,
  coalesce(pg_catalog.pg_wal_lsn_diff(sent_lsn, replay_lsn), 0)::bigint,
  sent_lsn IS NOT NULL
FROM pg_catalog.pg_stat_replication
WHERE state IS DISTINCT FROM 'backup'
ORDER BY 1
{{end}}

{{/* shepherd review (review/rehearse.go): what a rehearsed statement did on
     the scratch database, and how big the target's tables are. */}}

{{/* The relation locks this backend holds, strongest mode per table (the
     indexes and sequences it takes along are left out). */}}
{{define "review-locks"}}
SELECT n.nspname, c.relname, l.mode
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3
{{end}}

{{/* A table's storage file: another one after a statement means the
     statement rewrote the table. */}}
{{define "review-relfilenode"}}
SELECT coalesce((SELECT c.relfilenode::bigint FROM pg_catalog.pg_class c WHERE c.oid = to_regclass({{bind .Table}})), 0)
{{end}}

{{/* The user tables of the scratch database. */}}
{{define "review-tables"}}
SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
{{end}}

{{/* A validated CHECK (col IS NOT NULL) that lets SET NOT NULL skip its
     scan (PostgreSQL 12 and later). */}}
{{define "review-notnull-check"}}
SELECT count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = to_regclass({{bind .Table}}) AND contype = 'c' AND convalidated
  AND pg_catalog.pg_get_constraintdef(oid) = 'CHECK ((' || quote_ident({{bind .Column}}) || ' IS NOT NULL))'
{{end}}

{{/* The target's estimate of a table's rows, read-only: -1 when never
     analyzed, NULL when the target has no such table. */}}
{{define "review-rows"}}
SELECT c.reltuples::float8 FROM pg_catalog.pg_class c WHERE c.oid = to_regclass({{bind .Table}})
{{end}}

{{/* Scratch databases of earlier reviews, by name prefix: the name carries
     its creation time (unix seconds). */}}
{{define "review-scratch-list"}}
SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE 'shepherd\_review\_%'
{{end}}

{{/* Whether a scratch database has connections: a review still under way. */}}
{{define "review-scratch-in-use"}}
SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = {{bind .Name}}
{{end}}
