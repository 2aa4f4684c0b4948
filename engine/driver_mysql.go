package engine

import (
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// What shepherd reads from MySQL's driver (go-sql-driver/mysql): how it
// reads a DSN, and how its errors read.

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

// describe renders MySQL's error as the driver does (Error 1062 (23000):
// message), with the row values its message quotes masked, built from the
// error's number: the server quotes a value in single quotes, as it quotes
// some names (MySQL's column and key names; MariaDB quotes names in
// backquotes), so which quoted text is a value is the number's to say.
func (*mysqlDialect) describe(err error) (string, bool) {
	me, ok := err.(*mysql.MySQLError)
	if !ok {
		return "", false
	}
	c := *me
	c.Message = mysqlMessage(me.Number, string(me.SQLState[:]), me.Message)
	return c.Error(), true
}

func mysqlMessage(number uint16, state, msg string) string {
	switch number {
	case 1062, 1586: // ER_DUP_ENTRY (…_WITH_KEY_NAME): Duplicate entry '%s' for key '%s'
		return maskValue(msg, "' for key '")
	case 1366, 1292, 1411, 1525, 1300, 1367, 1918, 1690:
		// ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: Incorrect integer value: '%s'
		// for column `db`.`t`.`c` at row 1; ER_TRUNCATED_WRONG_VALUE:
		// Truncated incorrect INTEGER value: '%s'; ER_WRONG_VALUE_FOR_TYPE:
		// … for function %s; ER_WRONG_VALUE; ER_INVALID_CHARACTER_STRING;
		// ER_ILLEGAL_VALUE_FOR_TYPE: Illegal %s '%s' value found during
		// parsing; ER_BAD_DATA: Encountered illegal value '%s' when
		// converting to %s; ER_DATA_OUT_OF_RANGE: … out of range in '%s'
		// (an expression, with the values bound to it).
		return maskValue(msg, "' for column ", "' for function ", "' value found", "' when converting ")
	case 1048, 1406, 1264, 1265, 1138, 1365, 4025, 3819, 1451, 1452, 1216, 1217, 1859:
		// Column 'c' cannot be null; Data too long / Out of range value /
		// Data truncated for column 'c' at row 1; Invalid use of NULL value;
		// Division by 0; CONSTRAINT `c` failed for `db`.`t`; Check
		// constraint 'c' is violated; the foreign key failures; Duplicate
		// entry for key 'k' (without the value): names, no values.
		return msg
	}
	// Other data exceptions (22), integrity violations (23) and what a
	// trigger signals (45): a quoted text may be a value.
	if strings.HasPrefix(state, "22") || strings.HasPrefix(state, "23") || strings.HasPrefix(state, "45") {
		return quotedValueRE.ReplaceAllString(msg, "'…'")
	}
	return msg
}

// maskValue masks the value quoted first in msg: from its first ' to the '
// that begins the first of ends found after it (the last ' when none is),
// since a value may hold quotes and even the words that follow it.
func maskValue(msg string, ends ...string) string {
	start := strings.IndexByte(msg, '\'')
	if start < 0 {
		return msg
	}
	end := -1
	for _, e := range ends {
		if i := strings.LastIndex(msg, e); i > start && (end < 0 || i < end) {
			end = i
		}
	}
	if end < 0 {
		end = strings.LastIndexByte(msg, '\'')
	}
	if end <= start {
		return msg[:start+1] + "…'"
	}
	return msg[:start+1] + "…" + msg[end:]
}
