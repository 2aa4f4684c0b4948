package engine

import "github.com/go-sql-driver/mysql"

// MySQLConfig is a copy of the MySQL driver configuration the DSN was read
// into (nil for another dialect), for a caller that opens connections of
// its own beside the engine's: shepherd review's scratch database.
func (d DSN) MySQLConfig() *mysql.Config {
	if d.my == nil {
		return nil
	}
	return d.mysqlConfig()
}
