-- Every statement here is safe on PostgreSQL 11+: review must raise nothing.
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now();
CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
ALTER TABLE orders ADD CONSTRAINT orders_amount_small CHECK (amount < 1000000) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_small;
ALTER TABLE users ALTER COLUMN username TYPE varchar(100);
CREATE TABLE audit (id bigint PRIMARY KEY, note text NOT NULL);
CREATE INDEX audit_note_idx ON audit (note);
ALTER TABLE audit ADD COLUMN at timestamptz NOT NULL;
CREATE TRIGGER users_touch BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION touch();
DROP INDEX CONCURRENTLY users_name_idx;
