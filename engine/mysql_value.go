package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// valueProblem: MySQL and MariaDB compile an UPDATE without comparing a
// value's type with its column's, and convert each value as they write
// it. Some conversions write a wrong value into every row without an
// error, or fail only on the rows that hold text: those are refused here,
// from the type the server gives the expression's result and the type it
// gives a column of the target's type (try-probe-type):
//
//   - into a number: text (strict mode fails on a row that holds no
//     number, else writes 0), a date or time (2024-01-31 becomes
//     20240131), bytes or a geometry;
//   - into a date or time: a number, bytes or a geometry;
//   - into ENUM or SET: a number (1 picks the first member);
//   - into text: a geometry (its binary form).
//
// An explicit conversion (CAST(x AS SIGNED), STR_TO_DATE(…), ST_AsText(…))
// gives the right type and passes. And || is logical OR on MySQL (unless
// sql_mode has PIPES_AS_CONCAT): `lower(username) || '@example.com'` writes
// 0 or 1.
func (*mysqlDialect) valueProblem(ctx context.Context, q querier, set *templates.Set, d sqlData, v valueOf) (string, error) {
	if phases.HasOperator(d.Expr, "||") {
		st, err := set.Query("sql-mode", d)
		if err != nil {
			return "", err
		}
		var mode string
		if err := q.QueryRowContext(ctx, st.SQL).Scan(&mode); err != nil {
			return "", err
		}
		if !strings.Contains(","+strings.ToUpper(mode)+",", ",PIPES_AS_CONCAT,") {
			return fmt.Sprintf("uses ||, and || is logical OR on MySQL (this server's sql_mode has no PIPES_AS_CONCAT): it gives 0 or 1, which would be written into %s in every row; join texts with CONCAT(a, b), and give MySQL an expression of its own where the plan serves other dialects too ({postgres: \"a || b\", mysql: \"CONCAT(a, b)\", sqlite: \"a || b\"})", v.Target.What), nil
		}
	}
	if !v.Made {
		return "", nil
	}
	st, err := set.Query("try-probe-type", d)
	if err != nil {
		return "", err
	}
	rows, err := q.QueryContext(ctx, st.SQL)
	if err != nil {
		return "", err
	}
	cols, err := rows.ColumnTypes()
	rows.Close()
	if err != nil || len(cols) != 1 {
		return "", err
	}
	from, into := mysqlTypeClass(v.Type), mysqlTypeClass(cols[0].DatabaseTypeName())
	if why := mysqlConversion(from, into); why != "" {
		return fmt.Sprintf("is %s, a %s type, and %s is %s: %s; %s", v.Type, from, v.Target.What, v.Target.Type, why, v.Target.fix(mysqlCastHint(into))), nil
	}
	return "", nil
}

// mysqlTypeClass sorts a type name, as the driver gives it, into what
// matters for conversions: number, text, enum, bytes, date/time, geometry,
// or "" (NULL, BIT, YEAR, JSON and the rest: not judged).
func mysqlTypeClass(name string) string {
	switch strings.TrimPrefix(name, "UNSIGNED ") {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE":
		return "number"
	case "CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT":
		return "text"
	case "ENUM", "SET":
		return "enum"
	case "BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB":
		return "bytes"
	case "DATE", "DATETIME", "TIMESTAMP", "TIME":
		return "date/time"
	case "GEOMETRY":
		return "geometry"
	}
	return ""
}

// mysqlConversion says what MySQL does writing a value of class from into
// a column of class into, where that is a wrong value or a failure on
// some rows; "" where the conversion is sound.
func mysqlConversion(from, into string) string {
	switch {
	case into == "number" && (from == "text" || from == "enum"):
		return "MySQL converts each text as it writes it: in strict mode a row whose text is no number fails the batch, otherwise it becomes 0"
	case into == "number" && from == "date/time":
		return "MySQL writes a date or time as the number of its digits (2024-01-31 becomes 20240131)"
	case into == "number" && (from == "bytes" || from == "geometry"):
		return "MySQL reads bytes as text digits, and a geometry is none"
	case into == "date/time" && (from == "number" || from == "bytes" || from == "geometry"):
		return "MySQL reads a number as the digits of a date (20240131), and anything else as no date at all"
	case into == "enum" && from == "number":
		return "MySQL writes a number into ENUM or SET as a member's position (1 is the first member), not as its text"
	case into == "text" && from == "geometry":
		return "MySQL writes a geometry as its binary form"
	}
	return ""
}

func mysqlCastHint(into string) string {
	switch into {
	case "number":
		return "CAST((…) AS SIGNED) or CAST((…) AS DECIMAL(10, 2))"
	case "date/time":
		return "CAST((…) AS DATE), STR_TO_DATE((…), '%Y%m%d') or FROM_UNIXTIME(…)"
	case "enum":
		return "the member's text, 'active'"
	}
	return "ST_AsText(…)"
}
