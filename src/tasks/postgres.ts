// PostgreSQL helpers shared by the runners: connecting per database,
// identifier quoting, resolving table names through the catalogue.
import pg from "pg";
import { postgresConfig } from "./env.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Quotes an identifier for SQL ("my""table"). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface TableRef {
  oid: number;
  schema: string;
  name: string;
  /** The quoted, schema-qualified name for SQL. */
  sql: string;
  /** schema.name for humans. */
  display: string;
}

function tableRef(row: { oid: number; schema: string; name: string }): TableRef {
  return {
    oid: Number(row.oid),
    schema: row.schema,
    name: row.name,
    sql: `${quoteIdent(row.schema)}.${quoteIdent(row.name)}`,
    display: `${row.schema}.${row.name}`,
  };
}

/** Runs fn with a connected client to `database` (default: the environment's). */
export async function withClient<T>(
  env: Env,
  database: string | undefined,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(postgresConfig(env, database));
  client.on("error", () => undefined); // surfaced by the failing query
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Resolves a user-given table name ("orders", "sales.orders", "\"Mixed\"")
 * through to_regclass, so the text is never spliced into SQL. Undefined when
 * the table does not exist.
 */
export async function resolveTable(client: pg.Client, name: string): Promise<TableRef | undefined> {
  const { rows } = await client
    .query<{ oid: number; schema: string; name: string }>(
      `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'm', 'p')`,
      [name],
    )
    // A name that is not even valid syntax ("a.b.c.d") is as good as missing.
    .catch(() => ({ rows: [] }));
  return rows[0] === undefined ? undefined : tableRef(rows[0]);
}

/** All ordinary tables and materialised views outside the system schemas. */
export async function userTables(client: pg.Client): Promise<TableRef[]> {
  const { rows } = await client.query<{ oid: number; schema: string; name: string }>(
    `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
      ORDER BY n.nspname, c.relname`,
  );
  return rows.map(tableRef);
}

/** The databases to process: the given list, or the environment's database. */
export function databasesOf(list: readonly string[] | undefined): (string | undefined)[] {
  return list === undefined || list.length === 0 ? [undefined] : [...list];
}
