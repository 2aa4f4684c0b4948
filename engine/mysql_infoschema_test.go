package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// MariaDB answers an information_schema query by opening the tables it
// lists: a query that names its schema and table by another table's
// column, not by a constant, opens every table of every database on the
// server, once per row (a test server holds hundreds). Every template that
// reads information_schema names them by constants: EXPLAIN never says
// "Scanned all databases". referenced-by in column-dependents is the one
// exception: a foreign key may reference the table from another database,
// and nothing but a scan finds it (it runs once, for rename-column).
func TestMySQLInformationSchemaOpensOneTable(t *testing.T) {
	db := testdb.New(t, "mysql")
	db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, name varchar(20) NOT NULL CHECK (name <> ''), CONSTRAINT users_id_pos CHECK (id > 0))`)
	ctx := context.Background()
	eng, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	d, ok := eng.d.(*mysqlDialect)
	if !ok {
		t.Fatalf("the engine's dialect is %T", eng.d)
	}
	explained := 0
	for _, kind := range []string{"check", "foreign_key", "unique", "not_null"} {
		data := sqlData{Table: "users", Column: "name", Key: "id", Name: "users_id_pos", Kind: kind, Check: "id > 0",
			Columns: []string{"name"}, Cond: "null", MySQL: d.ddl()}
		for _, name := range eng.sql.Names() {
			st, err := eng.sql.Query(name, data)
			text := strings.ToLower(strings.TrimSpace(st.SQL))
			if err != nil || !strings.HasPrefix(text, "select") || !strings.Contains(text, "information_schema") {
				continue // DDL, a script, or no introspection
			}
			runtime := map[string]any{}
			for _, p := range st.Params {
				runtime[p.Name] = "x"
			}
			args, _ := st.Args(runtime)
			rows, err := db.SQL.QueryContext(ctx, "EXPLAIN "+st.SQL, args...)
			if err != nil {
				t.Errorf("EXPLAIN %s: %v", name, err)
				continue
			}
			explained++
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, c := range cols {
					b, _ := vals[i].([]byte)
					if c == "Extra" && strings.Contains(string(b), "Scanned all databases") && name != "column-dependents" {
						t.Errorf("%s scans every database (%s):\n%s", name, b, st.SQL)
					}
				}
			}
			rows.Close()
		}
	}
	if explained < 10 {
		t.Errorf("only %d templates read information_schema: the test found too few", explained)
	}
}
