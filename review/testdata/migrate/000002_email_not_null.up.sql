UPDATE accounts SET email = '' WHERE email IS NULL;
ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;
