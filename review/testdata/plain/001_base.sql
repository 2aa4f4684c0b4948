CREATE TABLE users (id bigint PRIMARY KEY, username varchar(50) NOT NULL, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, amount integer);
-- a function whose $$ body holds semicolons: one statement
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.name := coalesce(NEW.name, 'x; y');
  RETURN NEW;
END;
$$;
