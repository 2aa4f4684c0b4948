package engine

import (
	"net"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

// Short names the database in a few words, as its driver will reach it,
// with no user or password: "postgres db.internal/app", "postgres
// /var/run/postgresql/app" (a socket directory), "mysql 10.0.0.5/shop",
// "mysql /run/mysqld/mysqld.sock/shop", "sqlite demo.db".
func (d DSN) Short() string {
	switch d.Dialect {
	case "sqlite":
		return "sqlite " + filepath.Base(d.Path)
	case "mysql":
		if d.my == nil {
			return "mysql"
		}
		host := d.my.Addr
		if h, _, err := net.SplitHostPort(host); err == nil && d.my.Net != "unix" {
			host = h
		}
		return joinShort("mysql", host, d.my.DBName)
	case "postgres":
		// The host and database pgx reads, PG* variables and defaults
		// included.
		cfg, err := pgx.ParseConfig(d.raw)
		if err != nil {
			return "postgres"
		}
		return joinShort("postgres", cfg.Host, cfg.Database)
	}
	return "database"
}

func joinShort(dialect, host, db string) string {
	out := dialect + " " + host
	if db != "" {
		out += "/" + db
	}
	return out
}
