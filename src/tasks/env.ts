// Connections of the runners, from the environment only: the controller maps
// the task's Secret keys to these variables with secretKeyRef, so credentials
// never appear in the task config, the Job spec's args or the logs.
//
// PostgreSQL: PAKE_DATABASE_URL (or DATABASE_URL), a postgresql:// URI; else
//   the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
//   PGSSLMODE.
// Redis: PAKE_REDIS_URL (or REDIS_URL), redis:// or rediss://.
import type { ClientConfig } from "pg";
import { hasMalformedEscape, parseConnectionUri } from "../lib/uri.ts";
import type { TaskContext } from "./types.ts";

export const DATABASE_URL_ENV = "PAKE_DATABASE_URL";
export const REDIS_URL_ENV = "PAKE_REDIS_URL";

type Env = Readonly<Record<string, string | undefined>>;

export function envOf(ctx: TaskContext): Env {
  return ctx.env ?? process.env;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function fromUri(url: URL, database: string | undefined): ClientConfig {
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  return { connectionString: url.toString() };
}

function sslOf(sslmode: string | undefined): Pick<ClientConfig, "ssl"> {
  if (sslmode === undefined || sslmode === "disable" || sslmode === "prefer") return {};
  return { ssl: { rejectUnauthorized: sslmode === "verify-full" || sslmode === "verify-ca" } };
}

function fromLibpq(env: Env, database: string | undefined): ClientConfig {
  const user = env.PGUSER ?? "postgres";
  return {
    host: env.PGHOST ?? "localhost",
    port: Number(env.PGPORT ?? 5432),
    user,
    database: database ?? env.PGDATABASE ?? user,
    ...(env.PGPASSWORD !== undefined ? { password: env.PGPASSWORD } : {}),
    ...sslOf(env.PGSSLMODE),
  };
}

/** Whether the environment names a PostgreSQL server. */
export function hasDatabaseEnv(env: Env): boolean {
  return (
    nonEmpty(env[DATABASE_URL_ENV]) !== undefined ||
    nonEmpty(env.DATABASE_URL) !== undefined ||
    nonEmpty(env.PGHOST) !== undefined
  );
}

/**
 * The environment's database URI (PAKE_DATABASE_URL, else DATABASE_URL),
 * parsed; undefined when neither is set. A malformed one throws a message
 * naming the variable, never its value (it holds a password).
 */
export function databaseUri(env: Env): URL | undefined {
  const variable =
    nonEmpty(env[DATABASE_URL_ENV]) !== undefined ? DATABASE_URL_ENV : "DATABASE_URL";
  const uri = nonEmpty(env[variable]);
  if (uri === undefined) return undefined;
  const url = parseConnectionUri(uri);
  if (url === undefined) throw new Error(`${variable} is not a valid URI`);
  return url;
}

/** A pg client config for `database` (default: the one in the environment). */
export function postgresConfig(env: Env, database?: string): ClientConfig {
  const url = databaseUri(env);
  const base = url !== undefined ? fromUri(url, database) : fromLibpq(env, database);
  return {
    ...base,
    application_name: "pake-operator-task",
    connectionTimeoutMillis: 15_000,
  };
}

/** The Redis URL; throws a message naming the variables when none is set. */
export function redisUrl(env: Env): string {
  const variable = nonEmpty(env[REDIS_URL_ENV]) !== undefined ? REDIS_URL_ENV : "REDIS_URL";
  const url = nonEmpty(env[variable]);
  if (url === undefined) {
    throw new Error(`no Redis URL: set ${REDIS_URL_ENV} (from a Secret with secretKeyRef)`);
  }
  // Only the escapes are checked: ioredis also takes "host:port" without a scheme.
  if (hasMalformedEscape(url)) throw new Error(`${variable} is not a valid URI`);
  return url;
}
