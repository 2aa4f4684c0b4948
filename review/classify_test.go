package review

import (
	"fmt"
	"testing"
)

// Classify reads the statements generators emit, clause by clause.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want string
	}{
		{`ALTER TABLE "public"."users" ADD COLUMN "email" varchar(320) NOT NULL`, "add-column users email varchar(320) nn=true def=false"},
		{`ALTER TABLE users ADD COLUMN status text DEFAULT 'a' NOT NULL, DROP COLUMN nick`,
			"add-column users status text nn=true def=true|drop-column users nick  nn=false def=false"},
		{`alter table only users alter column age set data type bigint using age::bigint`, "alter-column-type users age bigint nn=false def=false"},
		{`ALTER TABLE users ALTER COLUMN name SET NOT NULL`, "set-not-null users name  nn=false def=false"},
		{`ALTER TABLE users RENAME COLUMN "Age" TO years`, "rename-column users Age  nn=false def=false"},
		{`ALTER TABLE users RENAME TO people`, "rename-table users   nn=false def=false"},
		{`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_idx ON ONLY users USING btree (lower(email), id)`, "create-index users   nn=false def=false"},
		{`UPDATE ONLY users SET a = 1`, "change-rows users   nn=false def=false"},
		{`SELECT 1`, "other    nn=false def=false"},
	} {
		var got string
		for i, a := range Classify(c.sql) {
			if i > 0 {
				got += "|"
			}
			got += fmt.Sprintf("%s %s %s %s nn=%v def=%v", a.Kind, a.Table, a.Column, a.Type, a.NotNull, a.HasDefault)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
	a := Classify(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_idx ON ONLY users USING btree (lower(email), id)`)[0]
	if !a.Unique || !a.Concurrently || a.Name != "u_idx" || fmt.Sprint(a.Columns) != "[lower(email) id]" {
		t.Errorf("index: %+v", a)
	}
	a = Classify(`ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID`)[0]
	if a.Kind != AddConstraint || a.Constraint != "FOREIGN KEY" || !a.NotValid || a.Name != "fk" {
		t.Errorf("constraint: %+v", a)
	}
}

// Classify reads MySQL's and SQLite's forms, and the schema a table and a
// foreign key's referenced table are named in.
func TestClassifyDialects(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want string
	}{
		{"ALTER TABLE `orders` MODIFY COLUMN `amount` bigint NOT NULL", "alter-column-type .orders amount bigint nn=true"},
		{"ALTER TABLE users CHANGE age years int", "rename-column .users age int nn=false to=years"},
		{"ALTER TABLE users CHANGE COLUMN age age bigint", "alter-column-type .users age bigint nn=false to=age"},
		{"ALTER TABLE `orders` ADD INDEX `orders_user_idx` (`user_id`)", "create-index .orders   nn=false cols=[user_id]"},
		{"ALTER TABLE `users` ADD UNIQUE INDEX `u` (`username`)", "create-index .users   nn=false cols=[username] unique"},
		{"ALTER TABLE `users` DROP INDEX `u`, DROP FOREIGN KEY `fk`, DROP PRIMARY KEY", "other .users   nn=false|other .users   nn=false|other .users   nn=false"},
		{"RENAME TABLE `tags` TO `labels`", "rename-table .tags   nn=false to=labels"},
		{"ALTER TABLE `__new_orders` RENAME TO `orders`", "rename-table .__new_orders   nn=false to=orders"},
		{"DROP TABLE IF EXISTS `tags`", "drop-table .tags   nn=false"},
		{`ALTER TABLE "billing"."invoices" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id")`,
			"add-constraint billing.invoices   nn=false ref=public.users"},
		{`CREATE INDEX "i" ON "billing"."invoices" USING btree ("total")`, "create-index billing.invoices   nn=false cols=[total]"},
	} {
		var got string
		for i, a := range Classify(c.sql) {
			if i > 0 {
				got += "|"
			}
			got += fmt.Sprintf("%s %s.%s %s %s nn=%v", a.Kind, a.Schema, a.Table, a.Column, a.Type, a.NotNull)
			if a.To != "" {
				got += " to=" + a.To
			}
			if len(a.Columns) > 0 {
				got += fmt.Sprintf(" cols=%v", a.Columns)
			}
			if a.Unique {
				got += " unique"
			}
			if a.RefTable != "" {
				got += " ref=" + a.RefSchema + "." + a.RefTable
			}
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}
