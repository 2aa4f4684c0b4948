package engine

import (
	"fmt"
	"strings"
)

// What shepherd reads from MySQL's driver (go-sql-driver/mysql): how it
// reads a DSN.

// readDSN has nothing to add: shepherd builds the driver's configuration
// from the URL as Go's URL reader reads it (the user, the password, the
// host, the database: see open), so the driver uses the password the URL
// shows, and an @ in the password is read as every MySQL URL reader reads
// it, ending the user and password at the last @.
func (*mysqlDialect) readDSN(DSN) ([]string, error) { return nil, nil }

// paramName names a DSN parameter shepherd does not read for MySQL: by its
// name when it is one a MySQL or PostgreSQL DSN has, or else as "a
// parameter", since a name shepherd does not know may be the rest of a
// password that held an unencoded & (password=pa&ss).
func paramName(k string) string {
	switch strings.ToLower(k) {
	case "password", "user", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslpassword", "charset", "collation",
		"parsetime", "loc", "timeout", "readtimeout", "writetimeout", "interpolateparams", "multistatements",
		"allownativepasswords", "allowcleartextpasswords", "allowoldpasswords", "clientfoundrows", "columnswithalias",
		"maxallowedpacket", "serverpubkey", "rejectreadonly", "checkconnliveness", "compress", "connectionattributes",
		"application_name", "connect_timeout":
		return fmt.Sprintf("the parameter %q", k)
	}
	return "a parameter"
}
