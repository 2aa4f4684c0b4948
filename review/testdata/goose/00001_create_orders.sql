-- +goose Up
CREATE TABLE orders (id bigserial PRIMARY KEY, amount integer NOT NULL);

-- +goose Down
DROP TABLE orders;
