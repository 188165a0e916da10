// Row counts that agree exactly with the dump: a REPEATABLE READ transaction
// exports its snapshot and stays open while pg_dump runs with
// --snapshot=<that snapshot>; it counts every user table's rows in that
// snapshot while pg_dump runs (not before it), so the counts cost the backup
// no wall time.
import type pg from "pg";
import { quoteIdent, withClient } from "../postgres.ts";
import type { TableCount } from "./manifest.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface Snapshot {
  /** The pg_export_snapshot() id to hand to pg_dump. */
  id: string;
  /** The database's real name (the environment's when none was asked for). */
  database: string;
}

/**
 * Ordinary tables outside the system schemas whose data pg_dump dumps: not
 * temporary, not members of an extension (their rows come from the extension).
 */
const USER_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r' AND c.relpersistence <> 't'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
   ORDER BY n.nspname, c.relname`;

/** Row count of every user table, in the client's current transaction. */
export async function countRows(client: pg.Client): Promise<TableCount[]> {
  const { rows } = await client.query<{ schema: string; name: string }>(USER_TABLES);
  const out: TableCount[] = [];
  for (const t of rows) {
    const sql = `SELECT count(*)::int8 AS rows FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    const { rows: counted } = await client.query<{ rows: string }>(sql);
    out.push({ schema: t.schema, name: t.name, rows: Number(counted[0]!.rows) });
  }
  return out;
}

/** The value of a settled promise, or its error thrown. */
function valueOf<T>(settled: PromiseSettledResult<T>): T {
  if (settled.status === "rejected") throw settled.reason;
  return settled.value;
}

/**
 * Opens a REPEATABLE READ, READ ONLY transaction on `database`, exports its
 * snapshot, and runs `fn` (the dump) while it counts rows in that snapshot;
 * returns fn's result and the counts. When the dump fails its error wins (a
 * killed server fails both, and the dump's reason is the one to report).
 */
export async function withExportedSnapshot<T>(
  env: Env,
  database: string | undefined,
  fn: (snapshot: Snapshot) => Promise<T>,
): Promise<{ result: T; tables: TableCount[] }> {
  return withClient(env, database, async (client) => {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    try {
      const { rows } = await client.query<{ id: string; database: string }>(
        "SELECT pg_export_snapshot() AS id, current_database() AS database",
      );
      const { id, database: name } = rows[0]!;
      const [dumped, counted] = await Promise.allSettled([
        fn({ id, database: name }),
        countRows(client),
      ]);
      return { result: valueOf(dumped), tables: valueOf(counted) };
    } finally {
      await client.query("COMMIT").catch(() => undefined);
    }
  });
}
