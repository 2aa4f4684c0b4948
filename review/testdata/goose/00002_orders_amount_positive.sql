-- +goose Up
-- +goose StatementBegin
UPDATE orders SET amount = abs(amount) WHERE amount < 0;
-- +goose StatementEnd
ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);

-- +goose Down
ALTER TABLE orders DROP CONSTRAINT orders_amount_positive;
