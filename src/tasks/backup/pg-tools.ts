// The PostgreSQL client programs (pg_dump, pg_dumpall): where they are, their
// version against the server's, the compression flag their version accepts,
// and how they connect. Credentials reach them through the environment only
// (PGPASSWORD), never on the command line, where any process could read them.
import { join } from "node:path";
import { databaseUri } from "../env.ts";
import type { BackupCompression, BackupFormat } from "./config.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Directory of the client programs (default: found on PATH). */
export const PG_BIN_ENV = "PAKE_PG_BIN";

export interface ToolVersion {
  /** "15.18" */
  version: string;
  major: number;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Path of a client program: in $PAKE_PG_BIN when set, else its bare name. */
export function toolPath(env: Env, name: string): string {
  const dir = nonEmpty(env[PG_BIN_ENV]) ?? nonEmpty(process.env[PG_BIN_ENV]);
  return dir === undefined ? name : join(dir, name);
}

/** Parses `pg_dump --version` ("pg_dump (PostgreSQL) 15.18 (Debian …)"). */
export function parseToolVersion(output: string): ToolVersion | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (!m) return undefined;
  return { version: m[2] === undefined ? m[1]! : `${m[1]}.${m[2]}`, major: Number(m[1]) };
}

/** server_version_num (160002) → { version: "16.2", major: 16 }. */
export function serverVersionOf(versionNum: number): ToolVersion {
  const major = Math.floor(versionNum / 10_000);
  return { version: `${major}.${versionNum % 10_000}`, major };
}

/** Why this pg_dump cannot dump this server, in plain words; undefined when it can. */
export function clientTooOld(pgDump: ToolVersion, server: ToolVersion): string | undefined {
  if (pgDump.major >= server.major) return undefined;
  return (
    `pg_dump ${pgDump.version} cannot dump a PostgreSQL ${server.version} server: ` +
    `use an operator image with PostgreSQL ${server.major} client tools`
  );
}

function customCompressionArgs(compression: BackupCompression, pgDump: ToolVersion): string[] {
  const { algorithm, level } = compression;
  if (pgDump.major >= 16) {
    return [`--compress=${algorithm}${level === undefined ? "" : `:${level}`}`];
  }
  if (algorithm === "none") return ["--compress=0"];
  if (algorithm === "gzip") return level === undefined ? [] : [`--compress=${level}`];
  throw new Error(
    `${algorithm} compression needs pg_dump 16 or newer (this is pg_dump ${pgDump.version}): ` +
      "use gzip or none, or an operator image with PostgreSQL 16 client tools",
  );
}

/**
 * pg_dump's compression flag. custom and directory: `--compress=<method>[:<level>]`
 * from pg_dump 16 on, `--compress=<level>` (gzip only) before. plain: gzip is
 * done by the runner (node:zlib), so pg_dump writes plain SQL; lz4 and zstd
 * only when pg_dump itself can (16+).
 */
export function compressionArgs(
  format: BackupFormat,
  compression: BackupCompression,
  pgDump: ToolVersion,
): string[] {
  if (format !== "plain") return customCompressionArgs(compression, pgDump);
  if (compression.algorithm === "none" || compression.algorithm === "gzip") return [];
  if (pgDump.major >= 16) return customCompressionArgs(compression, pgDump);
  throw new Error(
    `plain format with ${compression.algorithm} compression needs pg_dump 16 or newer ` +
      `(this is pg_dump ${pgDump.version}): use gzip or none, or the custom format`,
  );
}

/** A libpq keyword/value connection string value, quoted. */
function connValue(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export interface ToolConnection {
  /** Connection string for --dbname (no password in it); undefined: the environment's. */
  dbname: string | undefined;
  /** The environment of the child process. */
  env: Record<string, string>;
}

/** Variables of the runner's own process a child needs (not connection settings). */
const INHERITED = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

function baseEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * How a client program reaches `database` (default: the environment's). A URI
 * in PAKE_DATABASE_URL / DATABASE_URL is passed without its password, which
 * goes to PGPASSWORD; the libpq variables pass through as they are.
 */
export function toolConnection(env: Env, database: string | undefined): ToolConnection {
  const childEnv = baseEnv(env);
  const url = databaseUri(env);
  delete childEnv.PAKE_DATABASE_URL;
  delete childEnv.DATABASE_URL;
  if (url === undefined) {
    return {
      dbname: database === undefined ? undefined : `dbname=${connValue(database)}`,
      env: childEnv,
    };
  }
  if (url.password !== "") childEnv.PGPASSWORD = decodeURIComponent(url.password);
  url.password = "";
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  return { dbname: url.toString(), env: childEnv };
}
