{{/* MySQL and MariaDB: every statement shepherd runs there. See templates.go
     for the format.

     DDL is not transactional on MySQL: every ALTER commits on its own, so
     each one is a `-- step own:` with an `-- applied:` probe on
     information_schema. A run that crashed between the ALTER and the state
     write finds the change already made and skips it.

     .MySQL is what the dialect knows about the server (engine/mysql.go):
     which ALTER algorithms it has, and for MODIFY the column's whole
     definition. It is set for DDL and introspection; previewing without a
     server, it describes the least-locking form and says where that depends
     on the server. */}}

{{/* the database a statement looks in: the plan's schema: or the DSN's */}}
{{define "db"}}{{if .Schema}}{{bind .Schema}}{{else}}DATABASE(){{end}}{{end}}

{{/* ---------- state: shepherd's own tables ---------- */}}

{{define "state-ddl"}}
-- step: creates shepherd's own tables if they are missing
CREATE TABLE IF NOT EXISTS shepherd_state (
  plan         VARCHAR(191) NOT NULL,
  phase        VARCHAR(64)  NOT NULL,
  `position`   INT          NOT NULL,
  playbook     VARCHAR(64)  NOT NULL,
  table_name   VARCHAR(255) NOT NULL,
  plan_hash    VARCHAR(128) NOT NULL,
  `status`     VARCHAR(32)  NOT NULL DEFAULT 'pending',
  started_at   DATETIME(6)  NULL,
  finished_at  DATETIME(6)  NULL,
  run_by       VARCHAR(255) NULL,
  `checkpoint` TEXT         NULL,
  rows_done    BIGINT       NOT NULL DEFAULT 0,
  detail       MEDIUMTEXT   NULL,
  took_effect  TINYINT(1)   NOT NULL DEFAULT 1,
  rows_changed BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (plan, phase)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
-- step: adds took_effect to a shepherd_state an older shepherd made (its rows read 1, the safe answer)
-- applied: SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_state' AND column_name = 'took_effect'
ALTER TABLE shepherd_state ADD COLUMN took_effect TINYINT(1) NOT NULL DEFAULT 1
-- step: adds rows_changed to a shepherd_state an older shepherd made (a walk it left half done counts from its resume)
-- applied: SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_state' AND column_name = 'rows_changed'
ALTER TABLE shepherd_state ADD COLUMN rows_changed BIGINT NOT NULL DEFAULT 0
-- step:
CREATE TABLE IF NOT EXISTS shepherd_log (
  id       BIGINT       NOT NULL AUTO_INCREMENT,
  `at`     DATETIME(6)  NOT NULL,
  plan     VARCHAR(191) NOT NULL,
  phase    VARCHAR(64)  NOT NULL,
  `event`  VARCHAR(32)  NOT NULL,
  actor    VARCHAR(255) NOT NULL,
  sql_text MEDIUMTEXT   NULL,
  detail   MEDIUMTEXT   NULL,
  `version` VARCHAR(255) NULL,
  PRIMARY KEY (id),
  KEY shepherd_log_plan (plan, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
-- step: adds version (which shepherd wrote the row) to a shepherd_log an older shepherd made (its rows have none)
-- applied: SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_log' AND column_name = 'version'
ALTER TABLE shepherd_log ADD COLUMN `version` VARCHAR(255) NULL
-- step: creates shepherd_control (pause, resume, tune) where an older shepherd made the others without it
CREATE TABLE IF NOT EXISTS shepherd_control (
  plan               VARCHAR(191) NOT NULL,
  paused             TINYINT(1)   NOT NULL DEFAULT 0,
  paused_by          VARCHAR(255) NULL,
  paused_at          DATETIME(6)  NULL,
  batch_time_ms      BIGINT       NULL,
  max_rate           DOUBLE       NULL,
  max_replica_lag_ms BIGINT       NULL,
  tuned_by           VARCHAR(255) NULL,
  tuned_at           DATETIME(6)  NULL,
  PRIMARY KEY (plan)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
-- step:
CREATE TABLE IF NOT EXISTS shepherd_lock (
  scope      VARCHAR(255) NOT NULL,
  plan       VARCHAR(191) NOT NULL,
  token      VARCHAR(64)  NOT NULL,
  holder     VARCHAR(255) NOT NULL,
  host       VARCHAR(255) NOT NULL,
  pid        BIGINT       NOT NULL,
  since      DATETIME(6)  NOT NULL,
  expires_at DATETIME(6)  NULL COMMENT 'NULL: the lock is GET_LOCK, held while the holder''s connection lives',
  PRIMARY KEY (scope)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
{{end}}

{{/* 1 when every table and column state-ddl makes is there: then it has
     nothing to do and is not run (one read instead of its probes and
     CREATE TABLE IF NOT EXISTS, each taking a metadata lock). */}}
{{define "state-complete"}}SELECT CASE WHEN (SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()
    AND table_name IN ('shepherd_state', 'shepherd_log', 'shepherd_control', 'shepherd_lock')) = 4
  AND (SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE()
    AND ((table_name = 'shepherd_state' AND column_name IN ('took_effect', 'rows_changed')) OR (table_name = 'shepherd_log' AND column_name = 'version'))) = 3
  THEN 1 ELSE 0 END{{end}}

{{define "state-exists"}}SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'shepherd_state'{{end}}

{{/* .Cond is "effect" once shepherd_state has took_effect: else every row
     reads as having taken effect. .RowsChanged likewise for rows_changed:
     else no row changed yet. */}}
{{define "state-load"}}
SELECT phase, `status`, plan_hash, started_at, finished_at, run_by, `checkpoint`, rows_done, detail, {{if eq .Cond "effect"}}took_effect{{else}}1{{end}}, {{if .RowsChanged}}rows_changed{{else}}0{{end}}
FROM shepherd_state WHERE plan = {{param "plan"}}
{{end}}
{{define "state-has-effect"}}SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_state' AND column_name = 'took_effect'{{end}}
{{define "state-has-changed"}}SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_state' AND column_name = 'rows_changed'{{end}}

{{define "state-phase"}}SELECT `status` FROM shepherd_state WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}
{{define "state-checkpoint"}}SELECT `checkpoint`, rows_done, rows_changed FROM shepherd_state WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}

{{define "state-list"}}
SELECT plan, playbook, table_name, phase, `status`, started_at, finished_at, rows_done, detail
FROM shepherd_state ORDER BY plan, `position`
{{end}}

{{define "state-insert"}}
INSERT INTO shepherd_state (plan, phase, `position`, playbook, table_name, plan_hash, `status`)
VALUES ({{param "plan"}}, {{param "phase"}}, {{param "position"}}, {{param "playbook"}}, {{param "table"}}, {{param "hash"}}, 'pending')
ON DUPLICATE KEY UPDATE plan = plan
{{end}}

{{define "state-rehash"}}UPDATE shepherd_state SET plan_hash = {{param "hash"}} WHERE plan = {{param "plan"}}{{end}}

{{define "state-update"}}
UPDATE shepherd_state
SET `status` = {{param "status"}}, started_at = {{param "started_at"}}, finished_at = {{param "finished_at"}},
    run_by = {{param "run_by"}}, `checkpoint` = {{param "checkpoint"}}, rows_done = {{param "rows_done"}}, detail = {{param "detail"}},
    took_effect = {{param "took_effect"}}, rows_changed = {{param "rows_changed"}}
WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}
{{end}}

{{define "log-append"}}
INSERT INTO shepherd_log (`at`, plan, phase, `event`, actor, sql_text, detail, `version`)
VALUES ({{param "at"}}, {{param "plan"}}, {{param "phase"}}, {{param "event"}}, {{param "actor"}}, {{param "sql"}}, {{param "detail"}}, {{param "version"}})
{{end}}

{{/* .LogVersion is set once shepherd_log has version: else no row names one. */}}
{{define "log-list"}}
SELECT `at`, phase, `event`, actor, sql_text, detail, {{if .LogVersion}}`version`{{else}}NULL{{end}} FROM shepherd_log WHERE plan = {{param "plan"}} ORDER BY id
{{end}}
{{define "log-has-version"}}SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_log' AND column_name = 'version'{{end}}

{{/* ---------- live control: pause, resume, tune (control.go) ---------- */}}

{{define "control-exists"}}SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'shepherd_control'{{end}}
{{define "control-get"}}SELECT plan, paused, paused_by, paused_at, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at FROM shepherd_control WHERE plan = {{param "plan"}}{{end}}
{{define "control-list"}}SELECT plan, paused, paused_by, paused_at, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at FROM shepherd_control{{end}}
{{define "control-pause"}}
INSERT INTO shepherd_control (plan, paused, paused_by, paused_at)
VALUES ({{param "plan"}}, {{param "paused"}}, {{param "by"}}, {{param "at"}})
ON DUPLICATE KEY UPDATE paused = VALUES(paused), paused_by = VALUES(paused_by), paused_at = VALUES(paused_at)
{{end}}
{{/* A value not given (NULL) keeps the one stored; .Cond "reset" clears them all. */}}
{{define "control-tune"}}
INSERT INTO shepherd_control (plan, batch_time_ms, max_rate, max_replica_lag_ms, tuned_by, tuned_at)
VALUES ({{param "plan"}}, {{param "batch_time_ms"}}, {{param "max_rate"}}, {{param "max_replica_lag_ms"}}, {{param "by"}}, {{param "at"}})
ON DUPLICATE KEY UPDATE
{{- if eq .Cond "reset"}} batch_time_ms = NULL, max_rate = NULL, max_replica_lag_ms = NULL,
{{- else}} batch_time_ms = COALESCE(VALUES(batch_time_ms), batch_time_ms), max_rate = COALESCE(VALUES(max_rate), max_rate), max_replica_lag_ms = COALESCE(VALUES(max_replica_lag_ms), max_replica_lag_ms),
{{- end}} tuned_by = VALUES(tuned_by), tuned_at = VALUES(tuned_at)
{{end}}

{{define "log-last-plan"}}
SELECT detail FROM shepherd_log WHERE plan = {{param "plan"}} AND `event` = 'plan' ORDER BY id DESC LIMIT 1
{{end}}

{{/* ---------- runner lock: GET_LOCK on a connection held for the session,
     and a row saying who holds it ---------- */}}

{{define "runner-lock"}}SELECT GET_LOCK({{param "lock"}}, 0){{end}}
{{define "runner-unlock"}}SELECT RELEASE_LOCK({{param "lock"}}){{end}}
{{define "runner-lock-holder"}}SELECT IS_USED_LOCK({{param "lock"}}){{end}}

{{/* every runner lock's holder, for status */}}
{{define "lease-list"}}
SELECT scope, plan, holder, host, pid, since, expires_at FROM shepherd_lock ORDER BY scope
{{end}}

{{define "lease-get"}}
SELECT plan, token, holder, host, pid, since, expires_at FROM shepherd_lock WHERE scope = {{param "scope"}}
{{end}}

{{/* The check a write to shepherd's tables makes in its own transaction: the
     share lock on the holder row makes a runner that takes the lock over
     (lease-put updates the row) wait until that transaction ends, and then
     read what it wrote. A locking read sees the latest committed row, not
     the transaction's snapshot. */}}
{{define "lease-guard"}}
SELECT plan, token, holder, host, pid, since, expires_at FROM shepherd_lock WHERE scope = {{param "scope"}} LOCK IN SHARE MODE
{{end}}

{{define "lease-put"}}
INSERT INTO shepherd_lock (scope, plan, token, holder, host, pid, since, expires_at)
VALUES ({{param "scope"}}, {{param "plan"}}, {{param "token"}}, {{param "holder"}}, {{param "host"}}, {{param "pid"}}, {{param "since"}}, {{param "expires"}})
ON DUPLICATE KEY UPDATE plan = VALUES(plan), token = VALUES(token), holder = VALUES(holder),
  host = VALUES(host), pid = VALUES(pid), since = VALUES(since), expires_at = VALUES(expires_at)
{{end}}

{{define "lease-renew"}}
UPDATE shepherd_lock SET expires_at = {{param "expires"}} WHERE scope = {{param "scope"}} AND token = {{param "token"}}
{{end}}

{{define "lease-release"}}DELETE FROM shepherd_lock WHERE scope = {{param "scope"}} AND token = {{param "token"}}{{end}}

{{/* ---------- introspection: information_schema ----------
     MariaDB builds an information_schema table by opening the tables it
     lists: every query names its schema and table by constants (a bound
     value or DATABASE()), never by another table's column, so that it
     opens one table's definition rather than every table of every
     database on the server (EXPLAIN says "Scanned 0 databases"). */}}

{{define "list-tables"}}
SELECT table_name FROM information_schema.tables
WHERE table_schema = {{template "db" .}} AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED') AND table_name NOT LIKE 'shepherd|_%' ESCAPE '|'
ORDER BY table_name
{{end}}

{{/* name, type (with its character set and collation), not null, default
     (as information_schema gives it), extra, character set, collation,
     comment, and on MariaDB the column-level CHECK, which MODIFY drops
     unless it repeats it */}}
{{define "table-columns"}}
SELECT c.column_name, c.column_type, c.is_nullable = 'NO', c.column_default, c.extra,
  c.character_set_name, c.collation_name, c.column_comment,
  {{- if .MySQL.CheckLevel}}
  (SELECT cc.check_clause FROM information_schema.check_constraints AS cc
   WHERE cc.constraint_schema = {{template "db" .}} AND cc.table_name = {{bind .Table}} AND cc.level = 'Column' AND cc.constraint_name = c.column_name)
  {{- else}} NULL{{end}}
FROM information_schema.columns AS c
WHERE c.table_schema = {{template "db" .}} AND c.table_name = {{bind .Table}}
ORDER BY c.ordinal_position
{{end}}

{{define "table-indexes"}}
SELECT index_name, 1 - non_unique, CASE WHEN index_name = 'PRIMARY' THEN 'pk' ELSE 'c' END, sub_part IS NOT NULL, column_name, index_type
FROM information_schema.statistics
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}}
ORDER BY index_name, seq_in_index
{{end}}

{{/* ROW_FORMAT and the server's estimates of rows and bytes: what decides
     (and what it costs) whether an ALTER can run INSTANT or without a lock */}}
{{define "table-stats"}}
SELECT row_format, coalesce(table_rows, 0), coalesce(data_length, 0) + coalesce(index_length, 0)
FROM information_schema.tables WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}}
{{end}}

{{define "table-objects"}}
SELECT CASE WHEN table_type IN ('BASE TABLE', 'SYSTEM VERSIONED') THEN 'table' WHEN table_type = 'VIEW' THEN 'view' ELSE lower(table_type) END, table_name, NULL
FROM information_schema.tables WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}}
UNION ALL
SELECT 'trigger', trigger_name, action_statement
FROM information_schema.triggers WHERE event_object_schema = {{template "db" .}} AND event_object_table = {{bind .Table}}
{{end}}

{{/* the triggers that fire on UPDATE (engine/triggers.go): name, timing,
     per row (always, on MySQL), a column of UPDATE OF (MySQL has none) */}}
{{define "table-update-triggers"}}
SELECT trigger_name, action_timing, 1, NULL FROM information_schema.triggers
WHERE event_object_schema = {{template "db" .}} AND event_object_table = {{bind .Table}} AND event_manipulation = 'UPDATE'
ORDER BY trigger_name
{{end}}

{{/* named CHECK, UNIQUE and FOREIGN KEY constraints; MySQL says whether a
     CHECK is enforced, MariaDB always enforces them */}}
{{define "table-constraints"}}
SELECT constraint_name, constraint_type, {{if .MySQL.Enforced}}enforced <> 'NO'{{else}}1{{end}}
FROM information_schema.table_constraints
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND constraint_type IN ('CHECK', 'UNIQUE', 'FOREIGN KEY')
ORDER BY constraint_name
{{end}}

{{define "constraint-columns"}}
SELECT constraint_name, column_name FROM information_schema.key_column_usage
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND constraint_name <> 'PRIMARY'
ORDER BY constraint_name, ordinal_position
{{end}}

{{/* the AUTO_INCREMENT counter, when the table has one */}}
{{define "table-sequence"}}
SELECT count(auto_increment), coalesce(max(auto_increment), 0) FROM information_schema.tables
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}}
{{end}}

{{define "has-sequence"}}
SELECT count(*) FROM information_schema.columns
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND extra LIKE '%auto|_increment%' ESCAPE '|'
{{end}}

{{define "foreign-keys-on"}}SELECT @@foreign_key_checks{{end}}

{{/* See postgres.sql. MySQL and MariaDB name indexes (so UNIQUE) per
     table, but foreign keys per database, and MySQL CHECK constraints per
     database too (MariaDB's per table). */}}
{{define "name-clashes"}}
{{- if or (eq .Kind "foreign_key") (and (eq .Kind "check") (not .MySQL.MariaDB))}}
SELECT CASE constraint_type WHEN 'FOREIGN KEY' THEN 'a foreign key' ELSE 'a CHECK constraint' END,
       concat('on ', table_name),
       {{if eq .Kind "foreign_key"}}'MySQL and MariaDB name foreign keys per database'{{else}}'MySQL names CHECK constraints per database'{{end}}
FROM information_schema.table_constraints
WHERE table_schema = {{template "db" .}} AND constraint_name = {{bind .Name}} AND table_name <> {{bind .Table}}
  AND constraint_type = {{if eq .Kind "foreign_key"}}'FOREIGN KEY'{{else}}'CHECK'{{end}}
{{- else}}SELECT '', '', '' FROM DUAL WHERE 1 = 0{{end}}
{{end}}

{{/* See postgres.sql. The copy is a temporary table of this connection
     under a name of shepherd's own: one named like the table would hide
     the table from every statement of the connection, and a mistake would
     alter the real table. The connection is discarded afterwards. */}}
{{define "try-check"}}
-- step conn: a shared metadata lock on {{.Table}} while its definition is copied into an empty temporary table of this connection
CREATE TEMPORARY TABLE shepherd_check_probe LIKE {{qt .Schema .Table}}
-- step conn: the empty temporary table only
ALTER TABLE shepherd_check_probe ADD CONSTRAINT {{q .Name}} CHECK ({{.Check}})
-- step conn:
DROP TEMPORARY TABLE IF EXISTS shepherd_check_probe
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

{{/* A temporary table of this connection under a name of shepherd's own
     (see try-check); the connection is discarded afterwards. */}}
{{define "try-type"}}
-- step conn: an empty temporary table of this connection: no lock on any table of the database
CREATE TEMPORARY TABLE shepherd_value_probe (v {{.Type}})
{{end}}

{{define "try-type-end"}}
-- step conn:
DROP TEMPORARY TABLE IF EXISTS shepherd_value_probe
{{end}}

{{/* MySQL converts a value to its column's type as it writes it, and
     checks nothing before: the type the server gives the temporary column
     and the expression's result are compared by the engine. */}}
{{define "try-probe-type"}}SELECT v FROM shepherd_value_probe WHERE 1 = 0{{end}}

{{define "sql-mode"}}SELECT @@SESSION.sql_mode{{end}}

{{/* ---------- phase DDL: each ALTER commits by itself, so each has a probe ---------- */}}

{{define "column-probe"}}SELECT count(*) FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .Column}}{{end}}

{{/* Every ALTER names its ALGORITHM and LOCK, so that the server refuses
     rather than take a stronger lock than the plan shows. A table may not
     allow the least-locking form (ROW_FORMAT=COMPRESSED or a FULLTEXT index
     rule out INSTANT; a FULLTEXT or SPATIAL index rules out a rebuild with
     LOCK=NONE): the server refuses it before changing anything, and the
     step's next -- else form runs instead. A form that blocks writes
     (shared) or reads and writes (exclusive) runs only with --allow-lock.
     "else-forms" renders them after .First, each as the ALTER .Alter with
     that form's clause. */}}
{{define "else-forms"}}
{{- range .MySQL.Else .First}}
-- else{{if .Level}} {{.Level}}{{end}}: {{.Lock}}
{{template "alter" $}}, {{.Clause}}
{{- end}}
{{- end}}

{{/* the ALTER of a step, without its form: chosen by .Op */}}
{{define "alter"}}
{{- if eq .Op "add-column"}}ALTER TABLE {{qt .Schema .Table}} ADD COLUMN {{q .Column}} {{.Type}}
{{- else if eq .Op "drop-column"}}ALTER TABLE {{qt .Schema .Table}} {{range .DropIndexes}}DROP INDEX {{q .}}, {{end}}{{range .DropChecks}}{{$.MySQL.DropCheck}} {{q .}}, {{end}}DROP COLUMN {{q .Column}}
{{- else if eq .Op "modify"}}ALTER TABLE {{qt .Schema .Table}} MODIFY COLUMN {{q .Column}} {{.MySQL.Definition}}
{{- else if eq .Op "add-unique"}}ALTER TABLE {{qt .Schema .Table}} ADD UNIQUE KEY {{q .Name}} ({{qlist .Columns}})
{{- else if eq .Op "drop-unique"}}ALTER TABLE {{qt .Schema .Table}} DROP INDEX {{q .Name}}
{{- else if eq .Op "create-index"}}ALTER TABLE {{qt .Schema .Table}} ADD INDEX {{q .Name}} ({{qlist .Columns}})
{{- else if eq .Op "drop-index"}}ALTER TABLE {{qt .Schema .Table}} DROP INDEX {{q .Name}}
{{- else if eq .Op "recreate-index"}}ALTER TABLE {{qt .Schema .Table}} ADD {{.Expr}}
{{- end}}
{{- end}}


{{define "add-column"}}
-- step own: {{.MySQL.AddColumnLock}}
-- applied: {{template "column-probe" .}}
{{template "alter" .With "add-column" .MySQL.AddColumn}}, {{.MySQL.AddColumn}}
{{- template "else-forms" .With "add-column" .MySQL.AddColumn}}
{{end}}

{{define "drop-column"}}
-- step own: {{.MySQL.DropColumnLock}}
-- applied: SELECT count(*) = 0 FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .Column}}
{{template "alter" .With "drop-column" .MySQL.DropColumn}}, {{.MySQL.DropColumn}}
{{- template "else-forms" .With "drop-column" .MySQL.DropColumn}}
{{end}}

{{/* MODIFY restates the whole column: .MySQL.Definition is its type,
     character set, collation, default, ON UPDATE, visibility, comment and
     column CHECK as information_schema holds them, with only the
     nullability changed. */}}
{{define "set-not-null"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place and every row checked while reads and writes go on; brief exclusive metadata locks at the start and the end, each waiting at most lock_wait_timeout
-- applied: {{template "column-probe" .}} AND is_nullable = 'NO'
{{template "alter" .With "modify" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "modify" .MySQL.Online}}
{{end}}

{{define "drop-not-null"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place while reads and writes go on; brief exclusive metadata locks at the start and the end, each waiting at most lock_wait_timeout
-- applied: {{template "column-probe" .}} AND is_nullable = 'YES'
{{template "alter" .With "modify" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "modify" .MySQL.Online}}
{{end}}

{{define "check-probe"}}SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND constraint_name = {{bind .Name}} AND constraint_type = 'CHECK'{{end}}

{{/* Neither MySQL nor MariaDB can add a CHECK in place: the ALTER copies
     the table, validating every row, and blocks writes while it does.
     MariaDB 10.11 refuses ALGORITHM=INPLACE, INSTANT and NOCOPY and
     LOCK=NONE for it, with check_constraint_checks off too. So the step
     runs only with --allow-lock shared (-- blocks), and names its ALGORITHM
     and LOCK, so that it fails rather than take a stronger lock than the
     plan shows. */}}
{{define "add-check"}}
-- step own: ALGORITHM=COPY, LOCK=SHARED: a copying, validating ALTER: writes to the table are blocked (reads go on) while every row is copied and checked, for a time in proportion to the table's size; the exclusive metadata lock at the start waits at most lock_wait_timeout
-- blocks shared: MySQL and MariaDB add a CHECK only by copying the table, and refuse ALGORITHM=INPLACE, INSTANT and LOCK=NONE for it
-- applied: {{template "check-probe" .}}
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} CHECK ({{.Check}}), ALGORITHM=COPY, LOCK=SHARED
{{end}}

{{define "drop-check"}}
-- step own: {{.MySQL.DropCheckLock}}
-- applied: SELECT count(*) = 0 FROM information_schema.table_constraints WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND constraint_name = {{bind .Name}} AND constraint_type = 'CHECK'
ALTER TABLE {{qt .Schema .Table}} {{.MySQL.DropCheck}} {{q .Name}}{{.MySQL.DropCheckAlgorithm}}
{{end}}

{{define "foreign-key-probe"}}SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND constraint_name = {{bind .Name}} AND constraint_type = 'FOREIGN KEY'{{end}}

{{/* MySQL and MariaDB add a foreign key in place (INPLACE, LOCK=NONE) only
     with foreign_key_checks = 0, which also skips checking the rows that
     are there; with the checks on, the ALTER copies the table and blocks
     writes while it does. shepherd takes the first: clean has left no row
     without its parent, the checks are off on this connection only, for
     this one statement, and right after it shepherd counts the rows
     without a parent again (one written between clean and the ALTER): if
     there are any, it drops the constraint again and the phase fails with
     their keys. */}}
{{define "add-foreign-key"}}
-- step conn: foreign_key_checks = 0 on shepherd's DDL connection only, for the next statement: the ALTER does not check existing rows (clean left none without a parent; shepherd counts them again right after); every other session keeps checking
SET SESSION foreign_key_checks = 0
-- step own: ALGORITHM=INPLACE, LOCK=NONE, with foreign_key_checks = 0 on this connection (the rows already there are not checked: clean left none without a parent, and shepherd counts them again right after): reads and writes of {{.Table}} go on while the constraint is added (and, when no index of {{.Table}} starts with its columns, an index named {{.Name}} is built for it), under brief exclusive metadata locks on {{.Table}} and {{.RefTable}} at the start and the end, each waiting at most lock_wait_timeout, then retried; from then on every write is checked
-- noexport: MySQL adds a foreign key in place only with foreign_key_checks = 0, which skips checking the existing rows; shepherd makes up for it by counting the rows without a parent right after the ALTER and dropping the constraint again if one slipped in, which a migration file cannot do (and with the checks on, the ALTER copies the table and blocks writes for as long). Run add-constraint with shepherd run
-- applied: {{template "foreign-key-probe" .}}
ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} FOREIGN KEY ({{qlist .Columns}}) REFERENCES {{qt .RefSchema .RefTable}} ({{qlist .RefColumns}}), ALGORITHM=INPLACE, LOCK=NONE
-- step conn:
SET SESSION foreign_key_checks = 1
{{end}}

{{/* The constraint, then the index MySQL built for it when no index of the
     table could serve (named after the constraint; shepherd refuses a plan
     whose constraint name is already an index's). */}}
{{define "drop-foreign-key"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: only metadata changes, under brief exclusive metadata locks on {{.Table}} and {{.RefTable}}; reads and writes go on
-- applied: SELECT ({{template "foreign-key-probe" .}}) = 0
ALTER TABLE {{qt .Schema .Table}} DROP FOREIGN KEY {{q .Name}}, ALGORITHM=INPLACE, LOCK=NONE
-- step own: ALGORITHM=INPLACE, LOCK=NONE: drops the index {{.Name}} that was built for the constraint, if there is one; only metadata changes, under a brief exclusive metadata lock
-- applied: SELECT ({{template "index-probe" .}}) = 0
ALTER TABLE {{qt .Schema .Table}} DROP INDEX {{q .Name}}, ALGORITHM=INPLACE, LOCK=NONE
{{end}}

{{/* SQLite rebuilds a table to change its constraints; MySQL does not
     need to. This is MySQL's online rebuild (it reclaims space and
     rewrites every row), for completeness: no playbook runs it. */}}
{{define "rebuild"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place while reads and writes go on; brief exclusive metadata locks at the start and the end
ALTER TABLE {{qt .Schema .Table}} FORCE, ALGORITHM=INPLACE, LOCK=NONE
{{end}}

{{define "index-probe"}}SELECT count(*) FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = {{bind .Name}}{{end}}

{{define "add-unique"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the unique index is built while reads and writes go on, under brief exclusive metadata locks at the start and the end; a duplicate written meanwhile makes it fail, and a rerun builds it again
-- applied: {{template "index-probe" .}} AND non_unique = 0
{{template "alter" .With "add-unique" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "add-unique" .MySQL.Online}}
{{end}}

{{/* add-index: built in place while reads and writes go on; a stronger
     lock only with --allow-lock. MySQL and MariaDB have no partial indexes
     and no index methods of PostgreSQL's: the plan is refused before
     anything runs when it gives where: or using:. */}}
{{define "create-index"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the index is built while reads and writes go on, under brief exclusive metadata locks at the start and the end
-- applied: {{template "index-probe" .}}
{{template "alter" .With "create-index" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "create-index" .MySQL.Online}}
{{end}}

{{define "drop-index"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: only metadata changes, under a brief exclusive metadata lock; reads and writes go on
-- applied: SELECT count(*) = 0 FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = {{bind .Name}}
{{template "alter" .With "drop-index" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "drop-index" .MySQL.Online}}
{{end}}

{{/* See postgres.sql. The definition is restated from the catalog as
     ADD's clause: the kind, the name and each column with its prefix
     length. A functional index (MySQL 8: a part without a column) cannot
     be restated: the third column says so. */}}
{{define "index-definition"}}
SELECT concat(CASE WHEN max(index_type) = 'FULLTEXT' THEN 'FULLTEXT ' WHEN max(index_type) = 'SPATIAL' THEN 'SPATIAL ' WHEN max(non_unique) = 0 THEN 'UNIQUE ' ELSE '' END,
              'INDEX `', replace(index_name, '`', '``'), '` (',
              group_concat(concat('`', replace(column_name, '`', '``'), '`', coalesce(concat('(', sub_part, ')'), '')) ORDER BY seq_in_index SEPARATOR ', '), ')'),
       CASE WHEN index_name = 'PRIMARY' THEN 'the primary key' ELSE '' END,
       max(column_name IS NULL), 1
FROM information_schema.statistics
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = {{bind .Name}}
GROUP BY index_name
{{end}}

{{/* performance_schema counts each index's reads (when it is on; MariaDB
     has it off by default: then no row). */}}
{{define "index-usage"}}
SELECT count_star FROM performance_schema.table_io_waits_summary_by_index_usage
WHERE object_schema = {{template "db" .}} AND object_name = {{bind .Table}} AND index_name = {{bind .Name}}
{{end}}

{{define "recreate-index"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the index is built again from its recorded definition while reads and writes go on, under brief exclusive metadata locks at the start and the end
-- applied: {{template "index-probe" .}}
{{template "alter" .With "recreate-index" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "recreate-index" .MySQL.Online}}
{{end}}

{{/* See postgres.sql. An index MySQL lists is complete and in use: it has
     no invalid or unready state. */}}
{{define "index-state"}}
SELECT 1, 1, lower(max(index_type)), 0, group_concat(coalesce(column_name, '') ORDER BY seq_in_index SEPARATOR ',')
FROM information_schema.statistics
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = {{bind .Name}}
HAVING count(*) > 0
{{end}}

{{/* How far the ALTER that builds the index has got: InnoDB's alter
     stages in performance_schema, where it is on with the stage
     instruments and the events_stages_current consumer (MySQL and
     MariaDB alike; MariaDB's process list reports no progress for an
     in-place build). Where it is off: no row, and no bar. */}}
{{define "index-progress"}}
SELECT substring_index(s.event_name, '/', -1), 0, 0, coalesce(s.work_completed, 0), coalesce(s.work_estimated, 0)
FROM performance_schema.events_stages_current s
JOIN performance_schema.threads t ON t.thread_id = s.thread_id
WHERE s.event_name LIKE 'stage/innodb/alter%' AND t.processlist_db = {{template "db" .}}
ORDER BY s.work_estimated DESC LIMIT 1
{{end}}

{{define "analyze"}}SELECT 1{{end}}

{{define "explain"}}EXPLAIN {{.Expr}}{{end}}

{{define "drop-unique"}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: only metadata changes, under a brief exclusive metadata lock; reads and writes go on
-- applied: SELECT count(*) = 0 FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = {{bind .Name}}
{{template "alter" .With "drop-unique" .MySQL.Online}}, {{.MySQL.Online}}
{{- template "else-forms" .With "drop-unique" .MySQL.Online}}
{{end}}

{{/* ---------- batches: keyset ranges on the key column ---------- */}}

{{define "range"}}{{if .Keys}}{{if .HasLo}}{{if .FromLo}}{{template "key-from-lo" .}}{{else}}{{template "key-after-lo" .}}{{end}} AND {{end}}{{template "key-upto-hi" .}}{{else}}{{if .HasLo}}{{q .Key}} >{{if .FromLo}}={{end}} {{param "lo"}} AND {{end}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}

{{/* A composite key (.Keys) is walked in the order of its tuple. MySQL and
     MariaDB do not range-optimize a row-value comparison ((a, b) > (?, ?)
     reads the whole index), so it is written out: a > ? OR (a = ? AND b > ?),
     which they serve as ranges of the key's index. */}}
{{define "key-after-lo"}}({{range $i, $k := .Keys}}{{if $i}} OR {{end}}({{range $j, $p := slice $.Keys 0 $i}}{{q $p}} = {{param (printf "lo_%d" $j)}} AND {{end}}{{q $k}} > {{param (printf "lo_%d" $i)}}){{end}}){{end}}
{{define "key-from-lo"}}({{range $i, $k := .Keys}}{{if $i}} OR {{end}}({{range $j, $p := slice $.Keys 0 $i}}{{q $p}} = {{param (printf "lo_%d" $j)}} AND {{end}}{{q $k}} {{if eq (len (slice $.Keys $i)) 1}}>={{else}}>{{end}} {{param (printf "lo_%d" $i)}}){{end}}){{end}}
{{define "key-upto-hi"}}({{range $i, $k := .Keys}}{{if $i}} OR {{end}}({{range $j, $p := slice $.Keys 0 $i}}{{q $p}} = {{param (printf "hi_%d" $j)}} AND {{end}}{{q $k}} {{if eq (len (slice $.Keys $i)) 1}}<={{else}}<{{end}} {{param (printf "hi_%d" $i)}}){{end}}){{end}}
{{define "key-order"}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{q $k}}{{end}}{{end}}
{{define "key-order-desc"}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{q $k}} DESC{{end}}{{end}}

{{define "upper-bound"}}
{{- if .Keys}}
SELECT {{qlist .Keys}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order" .}} LIMIT 1 OFFSET {{param "offset"}}
{{- else}}
SELECT {{q .Key}} FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}} ORDER BY {{q .Key}} LIMIT 1 OFFSET {{param "offset"}}
{{- end}}
{{end}}

{{/* See postgres.sql. */}}
{{define "walk-ddl"}}CREATE TABLE IF NOT EXISTS shepherd_walk (plan VARCHAR(191) NOT NULL, phase VARCHAR(64) NOT NULL, worker INT NOT NULL, lo TEXT NULL, hi TEXT NULL, `checkpoint` TEXT NULL, rows_done BIGINT NOT NULL DEFAULT 0, rows_changed BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (plan, phase, worker)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin{{end}}
{{define "walk-exists"}}SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'shepherd_walk'{{end}}
{{define "walk-load"}}SELECT worker, lo, hi, `checkpoint`, rows_done, rows_changed FROM shepherd_walk WHERE plan = {{param "plan"}} AND phase = {{param "phase"}} ORDER BY worker{{end}}
{{define "walk-insert"}}INSERT INTO shepherd_walk (plan, phase, worker, lo, hi, `checkpoint`) VALUES ({{param "plan"}}, {{param "phase"}}, {{param "worker"}}, {{param "lo"}}, {{param "hi"}}, {{param "lo"}}){{end}}
{{define "walk-save"}}UPDATE shepherd_walk SET `checkpoint` = {{param "checkpoint"}}, rows_done = {{param "rows_done"}}, rows_changed = {{param "rows_changed"}} WHERE plan = {{param "plan"}} AND phase = {{param "phase"}} AND worker = {{param "worker"}}{{end}}
{{define "walk-get"}}SELECT `checkpoint`, rows_done, rows_changed FROM shepherd_walk WHERE plan = {{param "plan"}} AND phase = {{param "phase"}} AND worker = {{param "worker"}}{{end}}
{{define "walk-delete"}}DELETE FROM shepherd_walk WHERE plan = {{param "plan"}} AND phase = {{param "phase"}}{{end}}
{{define "range-count"}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "range" .}}{{end}}
{{/* How many workers a walk gets by default: half the server's cores.
     MariaDB's thread_pool_size is its CPU count unless set; MySQL has no
     such variable, and gets one. */}}
{{define "default-workers"}}SELECT COALESCE((SELECT CAST(VARIABLE_VALUE AS SIGNED) DIV 2 FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'THREAD_POOL_SIZE'), 1){{end}}

{{/* See postgres.sql. InnoDB reads its rows in the primary key's order:
     ORDER BY the key is the one read of the table. */}}
{{define "null-keys"}}
{{- if .Keys}}
SELECT {{qlist .Keys}}, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order" .}} LIMIT {{param "limit"}}
{{- else}}
SELECT {{q .Key}}, CASE WHEN ({{.Expr}}) IS NULL THEN 1 ELSE 0 END FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NULL{{if .HasLo}} AND {{q .Key}} > {{param "lo"}}{{end}} ORDER BY {{q .Key}} LIMIT {{param "limit"}}
{{- end}}
{{end}}

{{define "last-key"}}
{{- if .Keys}}
{{/* the last key of a composite key and the rows left; no row when none is */}}
SELECT {{qlist .Keys}}, (SELECT count(*) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}}) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{template "key-after-lo" .}}{{end}} ORDER BY {{template "key-order-desc" .}} LIMIT 1
{{- else}}
SELECT max({{q .Key}}), count(*) FROM {{qt .Schema .Table}}{{if .HasLo}} WHERE {{q .Key}} > {{param "lo"}}{{end}}
{{- end}}
{{end}}

{{/* The server's load: the batch loop holds between batches while
     Threads_running is over its limit (engine/pressure.go). Needs no
     privilege. */}}
{{define "pressure"}}
SHOW GLOBAL STATUS LIKE 'Threads_running'
{{end}}

{{/* An exact count while the table is small (it reads at most 100,000
     index entries); beyond that, InnoDB's estimate, which the progress
     corrects as the batches go. */}}
{{define "estimate-rows"}}
SELECT CASE WHEN n.c < 100000 THEN n.c ELSE GREATEST(n.c, coalesce((SELECT t.table_rows FROM information_schema.tables AS t
  WHERE t.table_schema = {{template "db" .}} AND t.table_name = {{bind .Table}}), 0)) END
FROM (SELECT count(*) AS c FROM (SELECT 1 FROM {{qt .Schema .Table}} LIMIT 100000) AS shepherd_rows) AS n
{{end}}

{{/* A column declared ON UPDATE CURRENT_TIMESTAMP is rewritten in every
     row an UPDATE changes, unless the UPDATE assigns it: each batch
     assigns such columns (.Keep) to themselves, and the application's
     last-modified times stay as they were. */}}
{{define "keep"}}{{range .Keep}}, {{q .}} = {{q .}}{{end}}{{end}}

{{/* Rows where the expression gives NULL are left alone: they would stay
     NULL, and the rows the update counts are the rows it filled.
     The batch's rows are filled from the last key down: a fill widens
     each row, which no longer fits where it was, and InnoDB moves it to
     the page's free space, reorganizing the page each time that space
     runs out (logging most of the page). Filled from the top of the page
     down, each reorganization changes less of the page: 42% less redo
     for a million rows that each grow by 25 bytes (1.1 GB against 2.0 GB
     on MariaDB 10.11), in the same time. */}}
{{define "fill-batch"}}
-- step: row locks on one short batch of rows, for the batch's transaction
UPDATE {{qt .Schema .Table}} SET {{q .Column}} = ({{.Expr}}){{template "keep" .}}
WHERE {{template "range" .}} AND {{q .Column}} IS NULL AND ({{.Expr}}) IS NOT NULL
ORDER BY {{if .Keys}}{{template "key-order-desc" .}}{{else}}{{q .Key}} DESC{{end}}
{{end}}

{{define "copy-batch"}}
{{- if .SyncOff}}{{template "sync-off" .}}{{end}}
-- step: row locks on one short batch of rows, for the batch's transaction
UPDATE {{qt .Schema .Table}} SET {{q .To}} = {{q .Column}}{{template "keep" .}}
WHERE {{template "range" .}} AND {{template "diff-rows" .}}
{{- if .SyncOff}}{{template "sync-on-again" .}}{{end}}
{{end}}

{{/* A UNIQUE clean walks its duplicates instead (clean-duplicates). */}}
{{define "clean-batch"}}
-- step: row locks on one short batch of rows, for the batch's transaction
UPDATE {{qt .Schema .Table}} SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}{{template "keep" .}}
WHERE {{template "range" .}} AND {{template "violates" .}}
{{end}}

{{/* ---------- a UNIQUE clean: the duplicates, not the table ----------
     See postgres.sql. A window, not a GROUP BY: MariaDB's GROUP BY of a
     long column goes through a temporary table on disk (17 s for a
     million rows where the sort took 4 s), and the join back to the rows
     found no key on that column. */}}
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
     (the derived table of bound pairs), which must still have its values.
     The first rows come through a derived table, read by key and
     materialized (DISTINCT): MySQL refuses a subquery on the table an
     UPDATE changes (error 1093). Joined on the pair's first key, each row
     is checked against its own first row: compared on the constraint's
     columns instead, MariaDB found no key for them (a long column) and
     compared every row of the batch with every first row. Only the
     batch's rows are locked for update; its columns are named apart
     (shepherd_*), so the clean's expressions read the table's. */}}
{{define "clean-duplicates"}}
-- step: row locks on one short batch of rows, for the batch's transaction
{{- if .Keys}}
UPDATE {{qt .Schema .Table}}
JOIN ({{range $i, $d := .Dups}}{{if $i}} UNION ALL {{end}}SELECT {{range $j, $k := $.Keys}}{{if $j}}, {{end}}{{param (printf "%s_%d" $d.Key $j)}}{{if not $i}} AS shepherd_k{{$j}}{{end}}{{end}}{{range $j, $k := $.Keys}}, {{param (printf "%s_%d" $d.First $j)}}{{if not $i}} AS shepherd_f{{$j}}{{end}}{{end}}{{end}}) AS shepherd_batch ON {{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_batch.shepherd_k{{$j}} = {{q $.Table}}.{{q $k}}{{end}}
JOIN (SELECT DISTINCT {{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $k}} AS shepherd_f{{$j}}{{end}}{{range $i, $c := .Columns}}, {{q $c}} AS shepherd_c{{$i}}{{end}} FROM {{qt .Schema .Table}} WHERE {{range $i, $f := .Firsts}}{{if $i}} OR {{end}}({{range $j, $k := $.Keys}}{{if $j}} AND {{end}}{{q $k}} = {{param (printf "%s_%d" $f $j)}}{{end}}){{end}}) AS shepherd_dup
  ON {{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_dup.shepherd_f{{$j}} = shepherd_batch.shepherd_f{{$j}}{{end}}{{range $i, $c := .Columns}} AND shepherd_dup.shepherd_c{{$i}} = {{q $.Table}}.{{q $c}}{{end}} AND ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_dup.shepherd_f{{$j}}{{end}}) < ({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $.Table}}.{{q $k}}{{end}})
SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}{{template "keep" .}}
{{- else}}
UPDATE {{qt .Schema .Table}}
JOIN ({{range $i, $d := .Dups}}{{if $i}} UNION ALL {{end}}SELECT {{param $d.Key}}{{if not $i}} AS shepherd_key{{end}}, {{param $d.First}}{{if not $i}} AS shepherd_first{{end}}{{end}}) AS shepherd_batch ON shepherd_batch.shepherd_key = {{q .Table}}.{{q .Key}}
JOIN (SELECT DISTINCT {{q .Key}} AS shepherd_first{{range $i, $c := .Columns}}, {{q $c}} AS shepherd_c{{$i}}{{end}} FROM {{qt .Schema .Table}} WHERE {{q .Key}} IN ({{range $i, $f := .Firsts}}{{if $i}}, {{end}}{{param $f}}{{end}})) AS shepherd_dup
  ON shepherd_dup.shepherd_first = shepherd_batch.shepherd_first{{range $i, $c := .Columns}} AND shepherd_dup.shepherd_c{{$i}} = {{q $.Table}}.{{q $c}}{{end}} AND shepherd_dup.shepherd_first < {{q .Table}}.{{q .Key}}
SET {{range $i, $s := .Set}}{{if $i}}, {{end}}{{q $s.Column}} = ({{$s.Expr}}){{end}}{{template "keep" .}}
{{- end}}
{{end}}

{{/* ---------- checks on the real data ---------- */}}

{{define "null-rows"}}{{q .Column}} IS NULL{{end}}
{{/* Text is compared as its characters, in one character set: a
     collation would call 'b' and 'B' (or 'a' and 'a ') equal, and a copy
     back would miss the application's write. */}}
{{define "diff-rows"}}{{if .Text}}NOT ({{template "exact" .To}} <=> {{template "exact" .Column}}){{else}}NOT ({{q .To}} <=> {{q .Column}}){{end}}{{end}}
{{define "exact"}}CAST(CONVERT({{q .}} USING utf8mb4) AS BINARY){{end}}

{{/* A duplicate is a row whose values an earlier key already has: see
     postgres.sql. (The EXISTS over a GROUP BY it replaces compared every
     row with every group, through a join buffer: minutes for a million
     rows.) The window's derived table is materialized: MySQL also refuses
     a subquery on a table an UPDATE changes (error 1093) otherwise. */}}
{{define "duplicate"}}{{if .Keys}}({{range $j, $k := .Keys}}{{if $j}}, {{end}}{{q $.Table}}.{{q $k}}{{end}}) IN (SELECT {{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}} FROM ({{template "duplicate-window" .}}) AS shepherd_w WHERE ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_k{{$j}}{{end}}) <> ({{range $j, $k := .Keys}}{{if $j}}, {{end}}shepherd_w.shepherd_f{{$j}}{{end}})){{else}}{{q .Table}}.{{q .Key}} IN (SELECT shepherd_w.shepherd_key FROM ({{template "duplicate-window" .}}) AS shepherd_w WHERE shepherd_w.shepherd_key <> shepherd_w.shepherd_first){{end}}{{end}}

{{define "violates"}}
{{- if eq .Kind "not_null"}}{{q .Column}} IS NULL
{{- else if eq .Kind "unique"}}{{template "duplicate" .}}
{{- else if eq .Kind "foreign_key"}}{{template "orphan" .}}
{{- else}}NOT ({{.Check}}){{end}}
{{- end}}

{{/* See postgres.sql. A table that references itself is read through a
     derived table, which MySQL materializes: it refuses a subquery on the
     table an UPDATE changes (error 1093). */}}
{{define "orphan"}}{{range .Columns}}{{q $.Table}}.{{q .}} IS NOT NULL AND {{end}}NOT EXISTS (SELECT 1 FROM {{if .SelfRef}}(SELECT {{qlist .RefColumns}} FROM {{qt .RefSchema .RefTable}}) AS shepherd_parent{{else}}{{qt .RefSchema .RefTable}} AS shepherd_parent{{end}} WHERE {{range $i, $c := .RefColumns}}{{if $i}} AND {{end}}shepherd_parent.{{q $c}} = {{q $.Table}}.{{q (index $.Columns $i)}}{{end}}){{end}}

{{/* A derived table again, for a table that references itself. */}}
{{define "absent-key"}}(SELECT shepherd_absent.v FROM (SELECT {{if eq .Cond "int"}}coalesce(max({{q .Column}}), 0) + 2{{else}}CONCAT(coalesce(max({{q .Column}}), ''), 'x'){{end}} AS v FROM {{qt .RefSchema .RefTable}}) AS shepherd_absent){{end}}

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
{{- else if eq .Cond "unreproduced"}}CASE WHEN {{q .Column}} IS NULL THEN 0 ELSE {{if .Text}}NOT ({{template "exact" .Column}} <=> CAST(CONVERT(({{.Expr}}) USING utf8mb4) AS BINARY)){{else}}NOT ({{q .Column}} <=> ({{.Expr}})){{end}} END
{{- else}}{{template "violates" .}}{{end}}
{{- if .Bounded}} AND {{if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}
{{- end}}


{{/* whether any row has a value in the column: one row read at most */}}
{{define "column-has-values"}}SELECT count(*) FROM (SELECT 1 FROM {{qt .Schema .Table}} WHERE {{q .Column}} IS NOT NULL LIMIT 1) AS shepherd_any{{end}}
{{define "column-exists"}}{{template "column-probe" .}}{{end}}
{{define "column-nullable"}}{{template "column-probe" .}} AND is_nullable = 'YES'{{end}}
{{define "column-not-null"}}{{template "column-probe" .}} AND is_nullable = 'NO'{{end}}

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

{{/* MySQL refuses a subquery on the table being updated: a self-join
     copies the other row's values instead. */}}
{{define "duplicate-update"}}
{{- if .Keys}}
UPDATE {{qt .Schema .Table}} AS shepherd_dst JOIN {{qt .Schema .Table}} AS shepherd_src ON {{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_src.{{q $k}} = {{param (printf "other_%d" $j)}}{{end}}
SET {{range $i, $c := .Columns}}{{if $i}}, {{end}}shepherd_dst.{{q $c}} = shepherd_src.{{q $c}}{{end}}
WHERE {{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_dst.{{q $k}} = {{param (printf "key_%d" $j)}}{{end}}
{{- else}}
UPDATE {{qt .Schema .Table}} AS shepherd_dst JOIN {{qt .Schema .Table}} AS shepherd_src ON shepherd_src.{{q .Key}} = {{param "other"}}
SET {{range $i, $c := .Columns}}{{if $i}}, {{end}}shepherd_dst.{{q $c}} = shepherd_src.{{q $c}}{{end}}
WHERE shepherd_dst.{{q .Key}} = {{param "key"}}
{{- end}}
{{end}}

{{/* verify-failure-path's connection: foreign keys checked, whatever the server's default. */}}
{{define "proof-setup"}}
-- step conn: foreign keys are checked on this connection
SET SESSION foreign_key_checks = 1
{{end}}

{{define "savepoint"}}SAVEPOINT shepherd_probe{{end}}
{{define "rollback-to-savepoint"}}ROLLBACK TO SAVEPOINT shepherd_probe{{end}}

{{/* ---------- export: guards of migration files ----------
     See postgres.sql. A temporary table is not transactional on MySQL: it is
     dropped first in case a failed guard left it on this connection. The
     count is taken into a variable first: INSERT … SELECT would take shared
     locks on the rows it reads, a plain SELECT does not. MySQL enforces
     CHECK from 8.0.16, MariaDB from 10.2.1; older servers ignore it, and
     the guard with it. */}}
{{define "export-guard"}}
-- step: a temporary table of this connection only: no lock on any other table
DROP TEMPORARY TABLE IF EXISTS shepherd_guard
-- step:
CREATE TEMPORARY TABLE shepherd_guard (rows_found BIGINT NOT NULL, CONSTRAINT {{q .Name}} CHECK (rows_found = 0))
{{- if .Cond}}
-- step: a consistent read of {{.Table}} (one read of every row), without row locks: reads and writes go on
SET @shepherd_rows_found = ({{template "guard-count" .}})
-- step:
INSERT INTO shepherd_guard (rows_found) VALUES (@shepherd_rows_found)
{{- else}}
-- step: fails on purpose: the CHECK refuses 1
INSERT INTO shepherd_guard (rows_found) VALUES (1)
{{- end}}
-- step:
DROP TEMPORARY TABLE shepherd_guard
{{end}}

{{/* the rows a guard counts; "duplicates" counts the groups of rows that a
     unique constraint on .Columns would refuse (a NULL is never a duplicate) */}}
{{define "guard-count"}}
{{- if eq .Cond "duplicates"}}SELECT count(*) FROM (SELECT 1 FROM {{qt .Schema .Table}} WHERE {{range $i, $c := .Columns}}{{if $i}} AND {{end}}{{q $c}} IS NOT NULL{{end}} GROUP BY {{qlist .Columns}} HAVING count(*) > 1) AS shepherd_dups
{{- else}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "cond" .}}{{end}}
{{- end}}

{{/* ---------- rename-column: what uses the old column ----------
     One row per object that uses the column: kind, name, the table or view
     it is on, its columns (comma-separated), whether it is a prefix or
     functional index, its definition, and whether the engine must find the
     column's name in the definition (1: views, triggers, CHECK clauses and
     generation expressions are text here). */}}
{{define "column-dependents"}}
SELECT CASE WHEN s.index_name = 'PRIMARY' THEN 'primary-key' WHEN max(s.non_unique) = 0 THEN 'unique' ELSE 'index' END,
  s.index_name, s.table_name, group_concat(coalesce(s.column_name, '') ORDER BY s.seq_in_index SEPARATOR ','),
  max(s.sub_part IS NOT NULL OR s.column_name IS NULL), '', 0
FROM information_schema.statistics AS s
WHERE s.table_schema = {{template "db" .}} AND s.table_name = {{bind .Table}}
  AND s.index_name IN (SELECT index_name FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .Column}})
GROUP BY s.index_name, s.table_name
UNION ALL
SELECT 'foreign-key', k.constraint_name, k.table_name, group_concat(k.column_name ORDER BY k.ordinal_position SEPARATOR ','), 0,
  concat('FOREIGN KEY (', group_concat(concat('`', k.column_name, '`') ORDER BY k.ordinal_position SEPARATOR ', '), ') REFERENCES `', max(k.referenced_table_name), '` (',
    group_concat(concat('`', k.referenced_column_name, '`') ORDER BY k.ordinal_position SEPARATOR ', '), ')'), 0
FROM information_schema.key_column_usage AS k
WHERE k.table_schema = {{template "db" .}} AND k.table_name = {{bind .Table}} AND k.referenced_table_name IS NOT NULL
  AND k.constraint_name IN (SELECT constraint_name FROM information_schema.key_column_usage WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .Column}} AND referenced_table_name IS NOT NULL)
GROUP BY k.constraint_name, k.table_name
UNION ALL
SELECT 'referenced-by', k.constraint_name, k.table_name, '', 0, '', 0
FROM information_schema.key_column_usage AS k
WHERE k.referenced_table_schema = {{template "db" .}} AND k.referenced_table_name = {{bind .Table}} AND k.referenced_column_name = {{bind .Column}}
{{- if .MySQL.Checks}}
UNION ALL
SELECT 'check', tc.constraint_name, tc.table_name, '', 0, concat('CHECK (', cc.check_clause, ')'), 1
FROM information_schema.table_constraints AS tc JOIN information_schema.check_constraints AS cc
  ON cc.constraint_schema = tc.constraint_schema AND cc.constraint_name = tc.constraint_name{{if .MySQL.MariaDB}} AND cc.table_name = tc.table_name{{end}}
WHERE tc.table_schema = {{template "db" .}} AND tc.table_name = {{bind .Table}} AND tc.constraint_type = 'CHECK'
  AND cc.constraint_schema = {{template "db" .}}{{if .MySQL.MariaDB}} AND cc.table_name = {{bind .Table}}{{end}}
{{- end}}
UNION ALL
SELECT 'view', v.table_name, v.table_name, '', 0, v.view_definition, 1
FROM information_schema.views AS v
WHERE v.table_schema = {{template "db" .}} AND v.view_definition LIKE concat('%`', {{bind .Table}}, '`%')
UNION ALL
SELECT 'trigger', tr.trigger_name, tr.event_object_table, '', 0, tr.action_statement, 1
FROM information_schema.triggers AS tr
WHERE tr.event_object_schema = {{template "db" .}} AND tr.event_object_table = {{bind .Table}}
UNION ALL
SELECT 'generated', c.column_name, c.table_name, '', 0, c.generation_expression, 1
FROM information_schema.columns AS c
WHERE c.table_schema = {{template "db" .}} AND c.table_name = {{bind .Table}} AND c.column_name <> {{bind .Column}} AND coalesce(c.generation_expression, '') <> ''
{{end}}

{{define "suggest-index"}}ALTER TABLE {{qt .Schema .Table}} ADD {{if .Unique}}UNIQUE {{end}}KEY {{q .Name}} ({{qlist .Columns}}), ALGORITHM=INPLACE, LOCK=NONE{{end}}
{{define "suggest-constraint"}}ALTER TABLE {{qt .Schema .Table}} ADD CONSTRAINT {{q .Name}} {{.Check}}{{end}}

{{/* add-constraint and verify-failure-path: the table's definition as the
     server prints it, CHECK clauses rewritten its way (`amount` > 0).
     information_schema.check_constraints does not show a temporary table's,
     so both the table's and the plan's check are read from here. */}}
{{define "table-definition"}}SHOW CREATE TABLE {{qt .Schema .Table}}{{end}}

{{/* The plan's check as the server rewrites it: added, under a name of
     shepherd's own (LIKE copies the table's CHECK constraints, the one
     named like the plan's among them), to an empty temporary copy of the
     table on a connection that is discarded afterwards. */}}
{{define "check-normalise"}}
-- step conn: a shared metadata lock on {{.Table}} while its definition is copied into an empty temporary table of this connection
CREATE TEMPORARY TABLE shepherd_check_probe LIKE {{qt .Schema .Table}}
-- step conn: the empty temporary table only
ALTER TABLE shepherd_check_probe ADD CONSTRAINT shepherd_plan_check CHECK ({{.Check}})
{{end}}

{{/* verify-failure-path: whether a row with .Set's values violates the
     plan's CHECK (1), satisfies it (0) or neither (NULL: a CHECK accepts
     it), without writing it: with .Key, the table's row {{param "key"}}
     with .Set's values in place of its own (.Set lists every column);
     without, .Set's values alone (a row to insert). */}}
{{define "check-verdict"}}SELECT CASE WHEN NOT ({{.Check}}) THEN 1 WHEN ({{.Check}}) THEN 0 END FROM (SELECT {{range $i, $s := .Set}}{{if $i}}, {{end}}({{$s.Expr}}) AS {{q $s.Column}}{{end}}{{if .Key}} FROM {{qt .Schema .Table}} AS shepherd_row WHERE {{if .Keys}}{{range $j, $k := .Keys}}{{if $j}} AND {{end}}shepherd_row.{{q $k}} = {{param (printf "key_%d" $j)}}{{end}}{{else}}shepherd_row.{{q .Key}} = {{param "key"}}{{end}}{{end}}) AS {{q .Table}}{{end}}

{{/* add-constraint and verify-failure-path: what the table's foreign key
     named .Name references, one row per column, in order. */}}
{{define "foreign-key-reference"}}
SELECT referenced_table_name, referenced_column_name FROM information_schema.key_column_usage
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND constraint_name = {{bind .Name}} AND referenced_table_name IS NOT NULL
ORDER BY ordinal_position
{{end}}

{{/* ---------- drop-column's archive: see postgres.sql. INSERT … SELECT
     takes shared locks on the batch's rows of the table (writes to them
     wait for the batch, which is short). ---------- */}}
{{/* The archive's key columns: shepherd_key, or shepherd_key_0, _1, … for
     a composite key (.Keys); the table's key columns; and the join of an
     archive row (a) to its table row (t). */}}
{{define "archive-keys"}}{{if .Keys}}{{range $i, $k := .Keys}}{{if $i}}, {{end}}shepherd_key_{{$i}}{{end}}{{else}}shepherd_key{{end}}{{end}}
{{define "table-keys"}}{{if .Keys}}{{qlist .Keys}}{{else}}{{q .Key}}{{end}}{{end}}
{{define "archive-join"}}{{if .Keys}}{{range $i, $k := .Keys}}{{if $i}} AND {{end}}a.shepherd_key_{{$i}} = t.{{q $k}}{{end}}{{else}}a.shepherd_key = t.{{q .Key}}{{end}}{{end}}
{{define "archive-key-defs"}}{{if .Keys}}{{range $i, $t := .KeyTypes}}shepherd_key_{{$i}} {{$t}} NOT NULL, {{end}}{{else}}shepherd_key {{.Type}} NOT NULL, {{end}}{{end}}

{{define "archive-create"}}
-- step own: creates the archive table {{.To}} (nothing else waits), keyed like {{.Table}}
CREATE TABLE IF NOT EXISTS {{qt .Schema .To}} ({{template "archive-key-defs" .}}{{q .Column}} {{.Expr}}, PRIMARY KEY ({{template "archive-keys" .}}))
{{end}}

{{define "archive-batch"}}
-- step: shared locks on one short batch of rows of {{.Table}} (writes to them wait for the batch), and writes their key and {{.Column}} into {{.To}}
INSERT INTO {{qt .Schema .To}} ({{template "archive-keys" .}}, {{q .Column}})
SELECT {{template "table-keys" .}}, {{q .Column}} FROM {{qt .Schema .Table}} WHERE {{template "range" .}}
ON DUPLICATE KEY UPDATE {{q .Column}} = VALUES({{q .Column}})
{{end}}

{{define "archive-missing"}}
SELECT count(*) FROM {{qt .Schema .Table}} t
WHERE t.{{q .Column}} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {{qt .Schema .To}} a WHERE {{template "archive-join" .}} AND a.{{q .Column}} <=> t.{{q .Column}})
{{end}}

{{define "restore-batch"}}
-- step: row locks on one short batch of rows, for the batch's transaction
UPDATE {{qt .Schema .Table}} t JOIN {{qt .Schema .To}} a ON {{template "archive-join" .}}
SET t.{{q .Column}} = a.{{q .Column}}
WHERE {{template "range" .}} AND NOT (t.{{q .Column}} <=> a.{{q .Column}})
{{end}}

{{define "restore-missing"}}
SELECT count(*) FROM {{qt .Schema .To}} a JOIN {{qt .Schema .Table}} t ON {{template "archive-join" .}}
WHERE NOT (t.{{q .Column}} <=> a.{{q .Column}})
{{end}}

{{/* ---------- sync: database (engine/sync_triggers.go) ----------
     A BEFORE INSERT and a BEFORE UPDATE trigger keep a rename's old and
     new columns in step while code of both shapes runs: see postgres.sql.
     A write of text is a change of any character (.Text): the default
     collations call 'b' and 'B' equal. DDL is not transactional here:
     each step commits on its own and is skipped on a rerun when the
     catalog has its trigger (or, on removal, no longer has it). A server
     that allows only one trigger per table, timing and event (MySQL
     before 5.7.2, MariaDB before 10.2.3) refuses the CREATE when the table
     has its own BEFORE INSERT or UPDATE trigger: the step fails naming the
     server's error, and rollback of add-column drops the column. */}}
{{define "sync-install"}}
-- step own: a brief exclusive metadata lock on {{.Table}} (it waits at most lock_wait_timeout): only the catalog changes; from now on every INSERT of {{.Table}} does one more column assignment per row written, in the writer's own statement
-- applied: SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name = {{bind .Sync.Insert}}
CREATE TRIGGER {{qt .Schema .Sync.Insert}} BEFORE INSERT ON {{qt .Schema .Table}} FOR EACH ROW
IF NEW.{{q .Sync.New}} IS NULL THEN SET NEW.{{q .Sync.New}} = {{.Sync.Forward}};
ELSEIF NEW.{{q .Sync.Old}} IS NULL THEN SET NEW.{{q .Sync.Old}} = {{.Sync.Reverse}};
END IF
-- step own: a brief exclusive metadata lock on {{.Table}} (it waits at most lock_wait_timeout): only the catalog changes; from now on every UPDATE of {{.Table}} does one more column assignment per row written, in the writer's own statement
-- applied: SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name = {{bind .Sync.Update}}
CREATE TRIGGER {{qt .Schema .Sync.Update}} BEFORE UPDATE ON {{qt .Schema .Table}} FOR EACH ROW
IF coalesce(@shepherd_sync, '') <> 'off' THEN
IF NOT {{template "sync-same" .With "old" ""}} AND {{template "sync-same" .With "new" ""}} THEN SET NEW.{{q .Sync.New}} = {{.Sync.Forward}};
ELSEIF NOT {{template "sync-same" .With "new" ""}} AND {{template "sync-same" .With "old" ""}} AND NOT {{template "sync-is-forward" .}} THEN SET NEW.{{q .Sync.Old}} = {{.Sync.Reverse}};
END IF;
END IF
{{end}}

{{define "sync-remove"}}
-- step own: a brief exclusive metadata lock on {{.Table}} (it waits at most lock_wait_timeout): only the catalog changes
-- applied: SELECT count(*) = 0 FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name = {{bind .Sync.Insert}}
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.Insert}}
-- step own: a brief exclusive metadata lock on {{.Table}} (it waits at most lock_wait_timeout): only the catalog changes
-- applied: SELECT count(*) = 0 FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name = {{bind .Sync.Update}}
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.Update}}
{{- if .Sync.InsertSwapped}}
-- step own: a brief exclusive metadata lock on {{.Table}} (it waits at most lock_wait_timeout): only the catalog changes
-- applied: SELECT count(*) = 0 FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name = {{bind .Sync.InsertSwapped}}
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.InsertSwapped}}
-- step own: a brief exclusive metadata lock on {{.Table}} (it waits at most lock_wait_timeout): only the catalog changes
-- applied: SELECT count(*) = 0 FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name = {{bind .Sync.UpdateSwapped}}
DROP TRIGGER IF EXISTS {{qt .Schema .Sync.UpdateSwapped}}
{{- end}}
{{end}}

{{/* The batches whose writes keep the columns in step themselves (the
     backfill's conversion, a rename's copy) set @shepherd_sync off on
     their connection, one of shepherd's own: the update trigger skips
     them at its first test, which costs a row next to nothing (its whole
     body: a tenth of the batch's time). An application's connection never
     has it. */}}
{{define "sync-off"}}
-- step conn: for this batch, on a connection of shepherd's own: the sync triggers skip its writes, which keep the columns in step themselves
SET @shepherd_sync = 'off'
{{end}}

{{/* ...and set on again at the batch's end: the connection goes back to
     shepherd's pool, and no other write of shepherd's may skip the
     triggers. A batch that fails leaves it off on its connection until
     the retry's batch ends. */}}
{{define "sync-on-again"}}
-- step conn: the sync triggers see this connection's writes again
SET @shepherd_sync = NULL
{{end}}

{{/* whether the UPDATE left the column (.Op: old or new) as it was */}}
{{define "sync-same"}}{{$c := .Sync.New}}{{if eq .Op "old"}}{{$c = .Sync.Old}}{{end}}{{if .Text}}(CAST(CONVERT(NEW.{{q $c}} USING utf8mb4) AS BINARY) <=> CAST(CONVERT(OLD.{{q $c}} USING utf8mb4) AS BINARY)){{else}}(NEW.{{q $c}} <=> OLD.{{q $c}}){{end}}{{end}}

{{/* whether the new column's value is the conversion of the old one's:
     a write of the backfill (or of code that writes both), which the
     update trigger does not write back into the old column */}}
{{define "sync-is-forward"}}{{if .Text}}(CAST(CONVERT(NEW.{{q .Sync.New}} USING utf8mb4) AS BINARY) <=> CAST(CONVERT({{.Sync.Forward}} USING utf8mb4) AS BINARY)){{else}}(NEW.{{q .Sync.New}} <=> {{.Sync.Forward}}){{end}}{{end}}

{{/* SET converts the value to the column's type, as the backfill's copy
     does; MySQL's CAST takes no column types (varchar(255)) */}}
{{define "sync-value"}}NEW.{{q .Column}}{{end}}

{{define "sync-present"}}SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = {{template "db" .}} AND trigger_name IN ({{bind .Sync.Insert}}, {{bind .Sync.Update}}{{if .Sync.InsertSwapped}}, {{bind .Sync.InsertSwapped}}, {{bind .Sync.UpdateSwapped}}{{end}}){{end}}
{{define "sync-expected"}}SELECT 2{{end}}

{{/* sync-row is SQLite's (its AFTER triggers update the row just written):
     here the BEFORE triggers change NEW in place. */}}
{{define "sync-row"}}{{end}}

{{/* ---------- change-column-type (engine/change_type*.go) ----------
     MySQL's CAST takes no column types (BIGINT, varchar(255)): the
     conversion is the plan's expression as it is, and the assignment to the
     shadow column converts it to the column's type, strictly: shepherd's
     sessions, and so the triggers they create, run with
     STRICT_TRANS_TABLES, and a value the type cannot hold fails its
     statement rather than being cut. */}}
{{define "convert-value"}}({{.Expr}}){{end}}

{{/* The reverse: conversion a plan does not give: the column itself, which
     the assignment converts back to the old type. */}}
{{define "convert-cast"}}{{.Expr}}{{end}}

{{/* The conversion as the sync triggers compute it from the row written:
     the expression sees the column under its own name (.Column), bound to
     NEW's field .To; the column alone needs no binding. */}}
{{define "convert-trigger-value"}}{{if eq .Expr (q .Column)}}NEW.{{q .To}}{{else}}(SELECT ({{.Expr}}) FROM (SELECT NEW.{{q .To}} AS {{q .Column}}) AS {{q .Table}}){{end}}{{end}}

{{/* The conversion compiled as the triggers run it, over the column alone. */}}
{{define "convert-try-alone"}}SELECT ({{.Expr}}) FROM (SELECT NULL AS {{q .Column}}) AS {{q .Table}} WHERE 1 = 0{{end}}

{{define "convert-batch"}}
{{- template "sync-off" .}}
-- step: row locks on one short batch of rows, for the batch's transaction; each waits at most innodb_lock_wait_timeout, then the batch is retried
UPDATE {{qt .Schema .Table}} SET {{q .To}} = {{template "convert-value" .}}{{template "keep" .}}
WHERE {{template "range" .}} AND NOT ({{q .To}} <=> {{template "convert-value" .}})
{{- template "sync-on-again" .}}
{{end}}

{{define "convert-cond"}}{{if eq .Cond "lost"}}{{q .Column}} IS NOT NULL AND {{template "convert-value" .}} IS NULL{{else}}NOT ({{q .To}} <=> {{template "convert-value" .}}){{end}}{{if .Bounded}} AND {{if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}{{end}}{{end}}

{{/* Both of verifyConverted's counts in one scan: the values the conversion
     turns into NULL (the whole table), and the rows whose shadow is not
     the conversion, up to the walk's bound. */}}
{{define "convert-counts"}}SELECT coalesce(sum({{q .Column}} IS NOT NULL AND {{template "convert-value" .}} IS NULL), 0), coalesce(sum(NOT ({{q .To}} <=> {{template "convert-value" .}}) AND {{if .Keys}}{{template "key-upto-hi" .}}{{else}}{{q .Key}} <= {{param "hi"}}{{end}}), 0) FROM {{qt .Schema .Table}}{{end}}
{{define "convert-count"}}SELECT count(*) FROM {{qt .Schema .Table}} WHERE {{template "convert-cond" .}}{{end}}
{{define "convert-sample"}}SELECT {{template "table-keys" .}} FROM {{qt .Schema .Table}} WHERE {{template "convert-cond" .}} ORDER BY {{template "table-keys" .}} LIMIT 5{{end}}

{{/* The swap (change_type_mysql.go). DDL is not transactional here, so
     the swap is a sequence of steps, each skipped on a rerun when the
     catalog shows it done. First, while reads and writes go on
     (ALGORITHM=INPLACE, LOCK=NONE), what the incoming column .In must
     carry: a mirror of each index on the column, then, in one online
     rebuild, NOT NULL and the primary key; the column itself becomes
     nullable in the same rebuild, so that once it is set aside and its
     triggers are gone (drop-old-column) an insert that leaves it out
     still succeeds. Then, under LOCK TABLES … WRITE (swap-lock), only
     metadata: the columns and their indexes renamed in one ALTER
     (swap-rename), the triggers of the names after the swap created (the
     engine's sync-install: the server checks a trigger's columns when it
     is created), the default moved, and the triggers of the names before
     it dropped (swap-cut). A stop between two of these leaves triggers
     that name a column that is not there: writes fail, loudly, until the
     rerun finishes the swap; none goes through without the other column
     kept in step. */}}
{{define "swap-prepare"}}
{{- range .Indexes}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the index is built while reads and writes go on; brief exclusive metadata locks at the start and the end, each waiting at most lock_wait_timeout
-- applied: SELECT count(*) FROM information_schema.statistics WHERE table_schema = {{template "db" $}} AND table_name = {{bind $.Table}} AND index_name = {{bind .Mirror}}
ALTER TABLE {{qt $.Schema $.Table}} ADD {{if .Unique}}UNIQUE {{end}}INDEX {{q .Mirror}} ({{.Parts}}), ALGORITHM=INPLACE, LOCK=NONE
{{- end}}
{{- if or .NotNull .PrimaryKey}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place{{if .NotNull}} and every row checked{{end}} while reads and writes go on; brief exclusive metadata locks at the start and the end, each waiting at most lock_wait_timeout
-- applied: SELECT {{if .NotNull}}(SELECT count(*) FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .In}} AND is_nullable = 'NO') > 0{{else}}1{{end}} AND {{if .PrimaryKey}}(SELECT count(*) FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = 'PRIMARY' AND column_name = {{bind .In}}) > 0{{else}}1{{end}}
ALTER TABLE {{qt .Schema .Table}} {{if .NotNull}}MODIFY COLUMN {{q .In}} {{.InDefinition}}, MODIFY COLUMN {{q .Column}} {{.ColumnDefinition}}, {{end}}{{if .PrimaryKey}}DROP PRIMARY KEY, ADD PRIMARY KEY ({{qlist .PrimaryKey}}), {{end}}ALGORITHM=INPLACE, LOCK=NONE
{{- end}}
{{end}}

{{define "swap-lock"}}
-- step own: LOCK TABLES … WRITE: reads and writes of {{.Table}} wait from here until UNLOCK TABLES, a few statements on, which change only metadata; it waits at most lock_wait_timeout for the lock
-- under-lock
LOCK TABLES {{qt .Schema .Table}} WRITE
{{end}}

{{define "swap-rename"}}
-- step own: ALGORITHM=INSTANT, under the table lock: only metadata changes
-- applied: {{template "swap-done-query" .}}
-- under-lock
ALTER TABLE {{qt .Schema .Table}} RENAME COLUMN {{q .Column}} TO {{q .OutName}}, RENAME COLUMN {{q .In}} TO {{q .Column}}{{range .Indexes}}, RENAME INDEX {{q .Name}} TO {{q .Aside}}, RENAME INDEX {{q .Mirror}} TO {{q .Name}}{{end}}, ALGORITHM=INSTANT
{{end}}

{{define "swap-cut"}}
-- step own: ALGORITHM=INSTANT, under the table lock: only metadata changes
-- under-lock
ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .Column}} {{if .Default}}SET DEFAULT {{.Default}}{{else}}DROP DEFAULT{{end}}, ALTER COLUMN {{q .OutName}} SET DEFAULT NULL, ALGORITHM=INSTANT
-- step own: under the table lock: only the catalog changes
-- under-lock
DROP TRIGGER IF EXISTS {{qt .Schema .DropInsert}}
-- step own: under the table lock: only the catalog changes
-- under-lock
DROP TRIGGER IF EXISTS {{qt .Schema .DropUpdate}}
-- step own: the table lock ends: reads and writes go on
UNLOCK TABLES
{{end}}

{{/* Undoes what swap-prepare built, where the swap did not happen or was
     swapped back: the primary key back on the column from the shadow
     .In, a default the shadow took from a cut back that stopped moved
     back, the shadow nullable again (add-shadow's state). The mirror
     indexes stay: they go with the shadow, or serve the next swap. */}}
{{define "swap-unprepare"}}
{{- if .Default}}
-- step own: ALGORITHM=INSTANT: only metadata changes
ALTER TABLE {{qt .Schema .Table}} ALTER COLUMN {{q .Column}} SET DEFAULT {{.Default}}, ALTER COLUMN {{q .In}} SET DEFAULT NULL, ALGORITHM=INSTANT
{{- end}}
{{- if or .NotNull .PrimaryKey}}
-- step own: ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place{{if .NotNull}} and every row checked{{end}} while reads and writes go on; brief exclusive metadata locks at the start and the end, each waiting at most lock_wait_timeout
-- applied: SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .In}} AND is_nullable = 'YES') > 0 AND (SELECT count(*) FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND index_name = 'PRIMARY' AND column_name = {{bind .In}}) = 0
ALTER TABLE {{qt .Schema .Table}} {{if .NotNull}}MODIFY COLUMN {{q .Column}} {{.ColumnDefinition}}, MODIFY COLUMN {{q .In}} {{.InDefinition}}, {{end}}{{if .PrimaryKey}}DROP PRIMARY KEY, ADD PRIMARY KEY ({{qlist .PrimaryKey}}), {{end}}ALGORITHM=INPLACE, LOCK=NONE
{{- end}}
{{end}}

{{define "swap-done-query"}}SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .OutName}}) > 0 AND (SELECT count(*) FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .In}}) = 0{{end}}

{{/* The indexes whose key includes the column, part by part. */}}
{{define "swap-indexes"}}
SELECT index_name, non_unique = 0, upper(index_type), column_name, coalesce(sub_part, 0)
FROM information_schema.statistics
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}}
  AND index_name IN (SELECT index_name FROM information_schema.statistics WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .Column}})
ORDER BY index_name = 'PRIMARY' DESC, index_name, seq_in_index
{{end}}

{{define "swap-column-type"}}SELECT column_type FROM information_schema.columns WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND column_name = {{bind .Column}}{{end}}

{{/* The triggers made again with the plan's conversions as they are now,
     before the backfill (resyncConversions): dropped and created, each
     statement committing on its own; a write between them leaves its row's
     shadow unset, which the backfill that follows converts. */}}
{{define "sync-refresh"}}{{template "sync-remove" .}}{{template "sync-install" .}}{{end}}

{{/* Replica lag (engine/replica_mysql.go). The primary lists the replicas
     that report a host (report_host) with replica-hosts; each replica is
     then asked its own status with replica-status. . is true on MySQL
     8.0.22 and later, which name them SHOW REPLICAS and SHOW REPLICA
     STATUS (and Seconds_Behind_Source); MariaDB and older MySQL keep the
     SLAVE forms. Read by column name: the columns differ by server. */}}
{{define "replica-hosts"}}{{if .}}SHOW REPLICAS{{else}}SHOW SLAVE HOSTS{{end}}{{end}}

{{define "replica-status"}}{{if .}}SHOW REPLICA STATUS{{else}}SHOW SLAVE STATUS{{end}}{{end}}

{{/* ---------- add-column's backfill by a copy of the table (MariaDB 10.6
     and later; engine/shadow.go) ----------

     The copy (.Shadow.Copy) is made LIKE the table, which has the new
     column already; three AFTER triggers keep it in step with every write
     the application makes; the rows are copied in key ranges, the new
     column filled with the plan's expression where it is NULL; and one
     RENAME puts the copy in the table's place. Every statement that needs
     the table's metadata lock asks for it with NOWAIT and is tried again:
     one that waited would queue the application's writes behind it, and a
     transaction that read the table before it and writes after it would
     fail on a deadlock (1213). Each trigger ignores 1146 (no such table):
     MariaDB fails other sessions' statements with it while CREATE TRIGGER
     commits (MDEV-26048), and after the RENAME the triggers stay on the
     old table, whose copy is gone. */}}

{{/* What rules the copy out, one row each: a trigger that is not the
     copy's (it would not fire on the copy), a foreign key from or to the
     table (LIKE copies none; the ones to it would follow the old table),
     an AUTO_INCREMENT column, a table that is not InnoDB or is
     system-versioned, a partitioned one (in a first version); and
     statement-based binary logging, where a replica would run the
     copy's INSERT … SELECT again, and the triggers, on rows of its own. An
     AUTO_INCREMENT column, because the copy's INSERT … SELECT would take
     the copy's table-level AUTO-INC lock (innodb_autoinc_lock_mode 1,
     MariaDB's default): the triggers' writes, the application's, would
     wait for it and then hold it to the end of their statements, which
     queues the application's statements behind each other and can
     deadlock them; a key of 0 would be given a new value; and the copy
     would have to take the table's counter before the swap. */}}
{{define "shadow-blockers"}}
SELECT 'a trigger', trigger_name FROM information_schema.triggers
WHERE event_object_schema = {{template "db" .}} AND event_object_table = {{bind .Table}} AND trigger_name NOT IN ({{bind .Shadow.Insert}}, {{bind .Shadow.Update}}, {{bind .Shadow.Delete}})
UNION ALL
SELECT 'a foreign key to another table', constraint_name FROM information_schema.referential_constraints
WHERE constraint_schema = {{template "db" .}} AND table_name = {{bind .Table}}
UNION ALL
SELECT 'a foreign key from another table', CONCAT(table_name, '.', constraint_name) FROM information_schema.referential_constraints
WHERE unique_constraint_schema = {{template "db" .}} AND referenced_table_name = {{bind .Table}}
UNION ALL
SELECT 'an AUTO_INCREMENT column', CONCAT(column_name, ', with innodb_autoinc_lock_mode ', @@innodb_autoinc_lock_mode, ', not 2: the copy''s INSERT … SELECT would hold a table lock that the application''s inserts queue behind') FROM information_schema.columns
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND extra LIKE '%auto_increment%' AND @@innodb_autoinc_lock_mode <> 2
UNION ALL
SELECT 'an AUTO_INCREMENT column and a long UNIQUE', CONCAT(s.index_name, ': the copy''s counter could move only by rebuilding it') FROM information_schema.statistics s
WHERE s.table_schema = {{template "db" .}} AND s.table_name = {{bind .Table}} AND s.index_type = 'HASH' AND s.seq_in_index = 1
AND EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = s.table_schema AND c.table_name = s.table_name AND c.extra LIKE '%auto_increment%')
UNION ALL
SELECT 'statement-based binary logging', 'binlog_format STATEMENT' FROM DUAL WHERE @@log_bin = 1 AND @@SESSION.binlog_format = 'STATEMENT'
UNION ALL
SELECT 'its storage', CONCAT(coalesce(engine, ''), ' ', table_type, IF(create_options LIKE '%partitioned%', ' partitioned', '')) FROM information_schema.tables
WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}} AND (coalesce(engine, '') <> 'InnoDB' OR table_type <> 'BASE TABLE' OR create_options LIKE '%partitioned%')
{{end}}

{{/* Where an earlier run left the copy: whether the copy and the old table
     exist, and how many of the copy's triggers are on the table. */}}
{{define "shadow-state"}}
SELECT
  (SELECT count(*) FROM information_schema.tables WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Shadow.Copy}}),
  (SELECT count(*) FROM information_schema.tables WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Shadow.Old}}),
  (SELECT count(*) FROM information_schema.triggers WHERE event_object_schema = {{template "db" .}} AND event_object_table = {{bind .Table}} AND trigger_name IN ({{bind .Shadow.Insert}}, {{bind .Shadow.Update}}, {{bind .Shadow.Delete}}))
{{end}}

{{/* The plan whose backfill made the copy: the last "copy" event that
     names it (engine/shadow_guard.go). */}}
{{define "shadow-owner"}}SELECT plan FROM shepherd_log WHERE `event` = 'copy' AND detail = {{param "copy"}} ORDER BY id DESC LIMIT 1{{end}}

{{define "shadow-create"}}
-- step own: reads the table's definition only; the copy is empty
CREATE TABLE {{qt .Schema .Shadow.Copy}} LIKE {{qt .Schema .Table}}
{{end}}

{{/* The next AUTO_INCREMENT values of the table and its copy (0 without
     such a column), and the copy's raised to the table's: when the copy
     is made (empty, it starts at 1), and right before the swap, where keys
     the copy never saw (inserts rolled back, rows deleted before the
     triggers were made) put the table's ahead; so that no key the table
     gave is given again after the swap. */}}
{{define "shadow-next-both"}}SELECT
  (SELECT coalesce(max(auto_increment), 0) FROM information_schema.tables WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Table}}),
  (SELECT coalesce(max(auto_increment), 0) FROM information_schema.tables WHERE table_schema = {{template "db" .}} AND table_name = {{bind .Shadow.Copy}}){{end}}
{{define "shadow-counter-raise"}}
-- step own: the copy's metadata lock, taken only when no session holds it (NOWAIT), for a change of its counter that rebuilds nothing
ALTER TABLE {{qt .Schema .Shadow.Copy}} NOWAIT AUTO_INCREMENT = {{.Next}}, ALGORITHM=INPLACE, LOCK=NONE
{{end}}

{{/* The triggers are made under LOCK TABLES, so that no write sees some of
     them and not the others; the lock is asked for with NOWAIT, and held
     for the three CREATE TRIGGER only. */}}
{{define "shadow-lock"}}LOCK TABLES {{qt .Schema .Table}} WRITE, {{qt .Schema .Shadow.Copy}} WRITE NOWAIT{{end}}
{{define "shadow-unlock"}}UNLOCK TABLES{{end}}

{{/* An update keeps the copy's value of the new column where the
     application's row has none (old code does not write it): the row was
     filled from its values then, as a fill in place would have left it.
     A NULL the update writes over a value (new code clearing it) is
     written, as in place. */}}
{{define "shadow-triggers"}}
-- step own: under the lock of the table and its copy (reads and writes of the table wait), for the three CREATE TRIGGER
CREATE TRIGGER {{qt .Schema .Shadow.Delete}} AFTER DELETE ON {{qt .Schema .Table}} FOR EACH ROW
BEGIN
DECLARE CONTINUE HANDLER FOR 1146 BEGIN END;
DELETE FROM {{qt .Schema .Shadow.Copy}} WHERE {{q .Key}} = OLD.{{q .Key}};
END
-- step own: under the same lock
CREATE TRIGGER {{qt .Schema .Shadow.Update}} AFTER UPDATE ON {{qt .Schema .Table}} FOR EACH ROW
BEGIN
DECLARE CONTINUE HANDLER FOR 1146 BEGIN END;
IF NOT (OLD.{{q .Key}} <=> NEW.{{q .Key}}) THEN
DELETE FROM {{qt .Schema .Shadow.Copy}} WHERE {{q .Key}} = OLD.{{q .Key}};
END IF;
INSERT INTO {{qt .Schema .Shadow.Copy}} ({{qlist .Columns}}) VALUES ({{range $i, $c := .Columns}}{{if $i}}, {{end}}NEW.{{q $c}}{{end}})
ON DUPLICATE KEY UPDATE {{range $i, $c := .Columns}}{{if $i}}, {{end}}{{q $c}} = {{if eq $c $.Column}}IF(NEW.{{q $c}} IS NULL AND OLD.{{q $c}} IS NOT NULL, NULL, COALESCE(VALUES({{q $c}}), {{q $.Shadow.Copy}}.{{q $c}})){{else}}VALUES({{q $c}}){{end}}{{end}};
END
-- step own: under the same lock
CREATE TRIGGER {{qt .Schema .Shadow.Insert}} AFTER INSERT ON {{qt .Schema .Table}} FOR EACH ROW
BEGIN
DECLARE CONTINUE HANDLER FOR 1146 BEGIN END;
REPLACE INTO {{qt .Schema .Shadow.Copy}} ({{qlist .Columns}}) VALUES ({{range $i, $c := .Columns}}{{if $i}}, {{end}}NEW.{{q $c}}{{end}});
END
{{end}}

{{/* One range of rows copied, the new column filled where it is NULL.
     The rows are locked first (LOCK IN SHARE MODE, whatever the
     isolation), by a statement of their own: a write to one of them
     waits for the batch, and its trigger then writes its row to the copy
     after the batch's. The INSERT … SELECT then waits for no lock at all
     (innodb_lock_wait_timeout 0: it fails at once, and the batch is
     rolled back and tried again): an application's transaction that
     deleted a row ahead of the walk holds a gap lock in the copy (its
     trigger's DELETE found no row there), and a batch that waited for it
     while holding its rows would deadlock that transaction's next write
     to them, which InnoDB would roll back. A row inserted into the range
     since the first statement and not committed yet fails it at once too:
     the batch is tried again, and its first statement waits for that row.
     (Not SKIP LOCKED: with innodb_lock_wait_timeout 0, MariaDB 10.11
     failed such a batch's COMMIT with 1180, "Got error 1 during COMMIT",
     in 6 runs of 15 of TestCopyUnderWrites.) A row the triggers put
     in the copy first is kept, its new column filled if it has none (and
     a column declared ON UPDATE keeps the application's time: see
     keep). */}}
{{define "shadow-batch"}}
-- step: shared locks on one short batch of rows of {{.Table}}, for the batch's transaction
SELECT {{q .Key}} FROM {{qt .Schema .Table}} WHERE {{template "range" .}} ORDER BY {{q .Key}} LOCK IN SHARE MODE
-- step: the rows the batch writes to the copy; it waits for no lock (innodb_lock_wait_timeout 0), and the batch is tried again
SET STATEMENT innodb_lock_wait_timeout = 0 FOR INSERT INTO {{qt .Schema .Shadow.Copy}} ({{qlist .Columns}})
SELECT {{range $i, $c := .Columns}}{{if $i}}, {{end}}{{if eq $c $.Column}}COALESCE({{q $c}}, ({{$.Expr}})){{else}}{{q $c}}{{end}}{{end}}
FROM {{qt .Schema .Table}} WHERE {{template "range" .}} ORDER BY {{q .Key}} LOCK IN SHARE MODE
ON DUPLICATE KEY UPDATE {{q .Column}} = COALESCE({{q .Shadow.Copy}}.{{q .Column}}, VALUES({{q .Column}})){{range .Keep}}, {{q .}} = {{q $.Shadow.Copy}}.{{q .}}{{end}}
{{end}}

{{/* The rows of the table and of its copy, in one statement: one read
     view, in which every write the application committed is in both. */}}
{{define "shadow-counts"}}SELECT (SELECT count(*) FROM {{qt .Schema .Table}}), (SELECT count(*) FROM {{qt .Schema .Shadow.Copy}}){{end}}

{{/* The copy's statistics, before it takes the table's place: made
     empty, it would otherwise be planned as a table of no rows (a full
     scan for an UPDATE … WHERE id IN (…), which locks every row it reads)
     until InnoDB recounts it in the background, or never with
     STATS_AUTO_RECALC=0. InnoDB samples a few pages of each index, and
     writes go on. */}}
{{define "shadow-analyze"}}ANALYZE TABLE {{qt .Schema .Shadow.Copy}}{{end}}

{{define "shadow-swap"}}
-- step own: an exclusive metadata lock on {{.Table}} and its copy, taken only when no session holds it (NOWAIT), for the RENAME of both; the old table keeps the triggers
RENAME TABLE {{qt .Schema .Table}} NOWAIT TO {{qt .Schema .Shadow.Old}}, {{qt .Schema .Shadow.Copy}} TO {{qt .Schema .Table}}
{{end}}

{{define "shadow-drop-old"}}
-- step own: the old table, which nothing uses, with its triggers
DROP TABLE IF EXISTS {{qt .Schema .Shadow.Old}} NOWAIT
{{end}}

{{/* A copy given up (a rollback, or a copy an earlier run left unfinished):
     first the copy, with NOWAIT (the triggers ignore its absence), then
     the triggers, each under the table's lock taken with NOWAIT. */}}
{{define "shadow-drop-copy"}}
-- step own: the copy, which only the triggers write to, taken only when no session holds it (NOWAIT)
DROP TABLE IF EXISTS {{qt .Schema .Shadow.Copy}} NOWAIT
{{end}}
{{define "shadow-drop-triggers"}}
-- step own: under the table's lock (reads and writes of the table wait), taken only when no session holds it (NOWAIT)
DROP TRIGGER IF EXISTS {{qt .Schema .Shadow.Insert}}
-- step own: under the same lock
DROP TRIGGER IF EXISTS {{qt .Schema .Shadow.Update}}
-- step own: under the same lock
DROP TRIGGER IF EXISTS {{qt .Schema .Shadow.Delete}}
{{end}}
{{define "shadow-lock-table"}}LOCK TABLES {{qt .Schema .Table}} WRITE NOWAIT{{end}}
