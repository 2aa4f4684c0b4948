CREATE TABLE accounts (id bigint PRIMARY KEY, email text);
