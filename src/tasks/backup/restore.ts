// Restoring a stored backup: the core shared by the verification runner
// (backupVerify, restores into a scratch database) and the databaseRestore
// runner (restores into a target database), plus the databaseRestore runner.
//
// Order, for both: find the backup (default: the newest complete one), check
// every file's size and sha256 against the manifest BEFORE anything on the
// server is touched, then restore: custom and directory dumps with pg_restore
// (--no-owner --no-privileges --exit-on-error), plain dumps (.sql, .sql.gz)
// with psql -v ON_ERROR_STOP=1, gunzip streamed.
//
// Credentials come only from the environment (env.ts); the client programs
// get them as libpq variables (PGHOST, PGPASSWORD, …), never as arguments.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, isAbsolute, join, normalize, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type pg from "pg";
import { z } from "zod";
import { redactText } from "../../lib/redact.ts";
import { parseConfig } from "../config.ts";
import { databaseUri, envOf } from "../env.ts";
import { quoteIdent, userTables, withClient } from "../postgres.ts";
import { runTaskBody } from "../result.ts";
import type { TaskContext, TaskOutcome, TaskResult } from "../types.ts";
import { toolConnection, toolPath } from "./pg-tools.ts";
import {
  BACKUP_ROOT,
  backupDir,
  listBackups,
  readManifest,
  timeOfBackupId,
  type Manifest,
} from "./manifest.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Where the backup volume is mounted in the Job. */
export const DEFAULT_BACKUP_ROOT = BACKUP_ROOT;

/** Thrown when a stored file does not match its manifest entry. */
export class ChecksumError extends Error {
  override name = "ChecksumError";
}

export interface StoredBackup {
  dir: string;
  manifest: Manifest;
}

/** Where a policy's backups are: <root><path>, as the backup runner writes them. */
export function storageRoot(root: string, path: string): string {
  return join(root, path);
}

/**
 * The backup to restore: `backupId`, or the newest complete one. Throws a
 * message naming the policy when there is none.
 */
export async function findBackup(
  storage: string,
  policy: string,
  backupId?: string,
): Promise<StoredBackup> {
  if (backupId === undefined) {
    const newest = (await listBackups(storage, policy)).complete[0];
    if (newest === undefined) throw new Error(`no complete backup of policy ${policy}`);
    return { dir: backupDir(storage, policy, newest.id), manifest: newest };
  }
  // The id names a directory: only ids of the backup runner's form are accepted.
  if (timeOfBackupId(backupId) === undefined) throw new Error(`invalid backup id "${backupId}"`);
  const dir = backupDir(storage, policy, backupId);
  const manifest = await readManifest(dir);
  if (manifest === undefined) {
    throw new Error(`backup ${backupId} of policy ${policy} not found or incomplete`);
  }
  return { dir, manifest };
}

/** A manifest path inside the backup directory; throws for one that leaves it. */
function filePath(dir: string, path: string): string {
  const clean = normalize(path);
  if (isAbsolute(clean) || clean === ".." || clean.startsWith(`..${sep}`)) {
    throw new ChecksumError(`manifest lists a file outside the backup: ${path}`);
  }
  return join(dir, clean);
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** Checks every file's size and sha256 (streamed); throws ChecksumError naming the first mismatch. */
export async function verifyChecksums(backup: StoredBackup): Promise<void> {
  for (const file of backup.manifest.files) {
    const path = filePath(backup.dir, file.path);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw new ChecksumError(`${file.path}: missing from the backup`);
    if (size !== file.bytes) {
      throw new ChecksumError(`${file.path}: size ${size} bytes, manifest says ${file.bytes}`);
    }
    const actual = await sha256OfFile(path);
    if (actual !== file.sha256) {
      throw new ChecksumError(
        `${file.path}: sha256 mismatch: file has ${actual}, manifest says ${file.sha256}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// Client programs
// ---------------------------------------------------------------------------

interface ClientRun {
  program: "pg_restore" | "psql";
  args: string[];
  env: Env;
  /** The database to connect to; default: the environment's. */
  database?: string;
  /** Streamed to the program's stdin. */
  input?: NodeJS.ReadableStream[];
  signal?: AbortSignal | undefined;
}

/** The last lines of stderr, redacted: what the program said when it failed. */
function tail(text: string): string {
  const lines = text.trim().split("\n").slice(-5).join("; ");
  return redactText(lines.length > 800 ? lines.slice(-800) : lines);
}

/** Runs a client program; resolves on exit 0, rejects with its stderr otherwise. */
export async function runClient(run: ClientRun): Promise<void> {
  const connection = toolConnection(run.env, run.database);
  const dbname = connection.dbname === undefined ? [] : ["--dbname", connection.dbname];
  const child = spawn(toolPath(run.env, run.program), [...run.args, ...dbname], {
    env: connection.env,
    stdio: [run.input ? "pipe" : "ignore", "ignore", "pipe"],
    ...(run.signal ? { signal: run.signal } : {}),
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_384);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  // A program that exits early closes its stdin (EPIPE): its exit code tells why. A
  // program that exits 0 after a failed read (gunzip) saw a cut input: a failure too.
  let inputError: Error | undefined;
  const fed = run.input
    ? pipeline([...run.input, child.stdin!] as never).catch((err: Error) => {
        inputError = err;
      })
    : Promise.resolve();
  const [code] = await Promise.all([exited, fed]);
  if (code !== 0) throw new Error(`${run.program} failed (exit ${code}): ${tail(stderr)}`);
  if (inputError !== undefined) {
    throw new Error(`${run.program} input failed: ${redactText(inputError.message)}`);
  }
}

// ---------------------------------------------------------------------------
// Restoring dumps
// ---------------------------------------------------------------------------

/** The dump of `database` in a backup: its path relative to the backup directory. */
export function dumpOf(manifest: Manifest, database: string): string {
  const file = manifest.files.find((f) => f.kind === "dump" && f.database === database);
  if (file === undefined) throw new Error(`backup ${manifest.id} has no dump of ${database}`);
  // A directory-format dump lists its files ("<db>.dir/toc.dat"): restore the directory.
  return manifest.format === "directory" ? file.path.split("/")[0]! : file.path;
}

/** The task field the runner's `database` comes from (named in its errors). */
export const SOURCE_DATABASE_FIELD = "spec.task.databaseRestore.sourceDatabase";

/** The source database to restore: the given one, or the backup's only one. */
export function sourceDatabase(manifest: Manifest, wanted?: string): string {
  const names = manifest.databases.map((d) => d.name);
  if (wanted !== undefined) {
    if (!names.includes(wanted)) {
      throw new Error(
        `${SOURCE_DATABASE_FIELD}: backup ${manifest.id} has no database ${wanted} (it has: ${names.join(", ")})`,
      );
    }
    return wanted;
  }
  if (names.length !== 1) {
    throw new Error(
      `backup ${manifest.id} holds ${names.length} databases (${names.join(", ")}): ` +
        `name one in ${SOURCE_DATABASE_FIELD}`,
    );
  }
  return names[0]!;
}

export interface RestoreTarget {
  env: Env;
  database: string;
  signal?: AbortSignal | undefined;
}

/** The SQL of a plain dump, decompressed on the way (only gzip: psql reads no other). */
function plainInput(path: string): NodeJS.ReadableStream[] {
  if (path.endsWith(".sql")) return [createReadStream(path)];
  if (path.endsWith(".sql.gz")) return [createReadStream(path), createGunzip()];
  throw new Error(
    `cannot restore ${basename(path)}: plain dumps restore from .sql or .sql.gz only`,
  );
}

/**
 * Restores one dump file (or directory) of a backup into target.database,
 * which must exist. In one transaction: a restore that fails leaves the
 * database as it was, not half restored.
 */
export async function restoreDump(
  backup: StoredBackup,
  dump: string,
  target: RestoreTarget,
): Promise<void> {
  const path = filePath(backup.dir, dump);
  const base = { env: target.env, signal: target.signal };
  if (backup.manifest.format === "plain") {
    const args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"];
    await runClient({
      ...base,
      program: "psql",
      args,
      input: plainInput(path),
      database: target.database,
    });
    return;
  }
  const format = backup.manifest.format === "directory" ? "--format=directory" : "--format=custom";
  const args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", format];
  // The dump path comes before --dbname (runClient appends it): both are plain arguments.
  await runClient({
    ...base,
    program: "pg_restore",
    args: [...args, path],
    database: target.database,
  });
}

/**
 * Restores globals.sql (roles, tablespaces) through the environment's
 * database. Roles that exist already fail one by one and do not stop the
 * rest (no ON_ERROR_STOP): pg_dumpall writes CREATE ROLE for every role,
 * including the one we connect as.
 */
export async function restoreGlobals(
  backup: StoredBackup,
  target: RestoreTarget,
): Promise<boolean> {
  const file = backup.manifest.files.find((f) => f.kind === "globals");
  if (file === undefined) return false;
  await runClient({
    env: target.env,
    signal: target.signal,
    program: "psql",
    args: ["-X", "-q", "-f", filePath(backup.dir, file.path)],
  });
  return true;
}

// ---------------------------------------------------------------------------
// Databases on the server
// ---------------------------------------------------------------------------

/** The database the environment names (URI path, PGDATABASE, PGUSER, else "postgres"). */
export function defaultDatabase(env: Env): string {
  const url = databaseUri(env);
  if (url) return decodeURIComponent(url.pathname.slice(1)) || "postgres";
  return env.PGDATABASE || env.PGUSER || "postgres";
}

/**
 * Runs fn connected to a database other than `avoid` (the one about to be
 * created or dropped): the environment's, else "postgres".
 */
export async function withAdminClient<T>(
  env: Env,
  avoid: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const database = defaultDatabase(env) === avoid ? "postgres" : undefined;
  return withClient(env, database, fn);
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rows } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  return rows.length > 0;
}

/** Drops a database; `force` ends other sessions (only for our own scratch database). */
export async function dropDatabase(client: pg.Client, name: string, force = false): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force ? " WITH (FORCE)" : ""}`);
}

export async function createDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
}

/** How many user tables a database has. */
export async function userTableCount(env: Env, database: string): Promise<number> {
  return withClient(env, database, async (client) => (await userTables(client)).length);
}

// ---------------------------------------------------------------------------
// The databaseRestore runner
// ---------------------------------------------------------------------------

const dbName = z.string().min(1).max(63);

/** spec.storage.path of the policy, as the backup runner takes it. */
export const storagePath = z
  .string()
  .regex(/^\//, "an absolute path")
  .refine((p) => !p.split("/").includes(".."), "no .. segments")
  .default("/");

/**
 * The CRD's spec.task.databaseRestore (target.connectionSecretRef becomes
 * env) plus the runner fields the Job adds: where the backup volume is
 * mounted (root) and the policy's storage path; `database` (the CRD's
 * sourceDatabase) picks which of the backup's databases to restore when it
 * holds several.
 */
export const DatabaseRestoreConfig = z.object({
  backupPolicyRef: z.object({ name: z.string().min(1).max(253) }),
  backupId: z.string().min(1).max(128).optional(),
  target: z.object({ database: dbName }),
  dropExisting: z.boolean().default(false),
  root: z.string().min(1).default(DEFAULT_BACKUP_ROOT),
  path: storagePath,
  restoreGlobals: z.boolean().default(false),
  database: dbName.optional(),
});
export type DatabaseRestoreConfig = z.output<typeof DatabaseRestoreConfig>;
export type DatabaseRestoreInput = z.input<typeof DatabaseRestoreConfig>;

/**
 * Makes the target ready: created when missing; a target with user tables is
 * refused unless dropExisting, then dropped and recreated. Returns what was done.
 */
async function prepareTarget(
  env: Env,
  config: DatabaseRestoreConfig,
): Promise<"created" | "recreated" | "empty"> {
  const name = config.target.database;
  const exists = await withAdminClient(env, name, (c) => databaseExists(c, name));
  if (exists && !config.dropExisting) {
    const tables = await userTableCount(env, name);
    if (tables > 0) {
      throw new Error(
        `target database ${name} is not empty (${tables} user table(s)); set dropExisting to replace it`,
      );
    }
    return "empty";
  }
  await withAdminClient(env, name, async (c) => {
    if (exists) await dropDatabase(c, name);
    await createDatabase(c, name);
  });
  return exists ? "recreated" : "created";
}

async function restoreBody(config: DatabaseRestoreConfig, ctx: TaskContext): Promise<TaskOutcome> {
  const env = envOf(ctx);
  const storage = storageRoot(config.root, config.path);
  const backup = await findBackup(storage, config.backupPolicyRef.name, config.backupId);
  const source = sourceDatabase(backup.manifest, config.database);
  await verifyChecksums(backup);
  const target = { env, database: config.target.database, signal: ctx.signal };
  const prepared = await prepareTarget(env, config);
  const globals = config.restoreGlobals ? await restoreGlobals(backup, target) : false;
  await restoreDump(backup, dumpOf(backup.manifest, source), target);
  const tables = await userTableCount(env, target.database);
  return {
    summary: `Restored backup ${backup.manifest.id} (${source}) into ${target.database} (${prepared}): ${tables} table(s)`,
    details: {
      backupId: backup.manifest.id,
      source,
      target: target.database,
      targetWas: prepared,
      tables,
      globals,
    },
    data: {
      backupId: backup.manifest.id,
      source,
      target: target.database,
      prepared,
      tables,
      globals,
    },
  };
}

/** Restores a stored backup into a target database; never throws. */
export async function runDatabaseRestore(
  input: DatabaseRestoreInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("databaseRestore", ctx.now, async () => {
    const config = parseConfig("databaseRestore", DatabaseRestoreConfig, input);
    return restoreBody(config, ctx);
  });
}
