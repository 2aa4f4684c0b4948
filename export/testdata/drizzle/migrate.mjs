// Applies a drizzle-kit migrations folder with drizzle-orm's own migrator,
// as an application's release job does, then prints what the migrator
// recorded. Usage: node migrate.mjs POSTGRES_URL MIGRATIONS_FOLDER
// Exit 1 with the database's error on stderr when the migration fails.
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";

const [url, migrationsFolder] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url });
const db = drizzle(pool);
try {
  await migrate(db, { migrationsFolder });
  const { rows } = await pool.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
  console.log(`migrated: ${rows[0].n} recorded`);
} catch (e) {
  console.error(`migrate failed: ${e.message}${e.cause ? `: ${e.cause.message}` : ""}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
