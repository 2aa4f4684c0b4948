CREATE UNIQUE INDEX users_username_key ON users (username);
ALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0);
