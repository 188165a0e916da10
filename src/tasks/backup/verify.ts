// backupVerify: proves a stored backup restores. Checks every file's sha256
// against the manifest, restores each database's dump into a scratch
// database (created, then dropped afterwards, also on failure), and, when
// compareRowCounts, counts every user table's rows and compares them with the
// counts the backup runner took in the dump's own snapshot, so they must
// agree exactly. The run is Succeeded when the backup Passed.
import { z } from "zod";
import { parseConfig } from "../config.ts";
import { envOf } from "../env.ts";
import { userTables, withClient } from "../postgres.ts";
import { runTaskBody } from "../result.ts";
import type { TaskContext, TaskOutcome, TaskResult } from "../types.ts";
import type { Manifest, TableCount } from "./manifest.ts";
import { countRows } from "./snapshot.ts";
import {
  createDatabase,
  databaseExists,
  DEFAULT_BACKUP_ROOT,
  dropDatabase,
  defaultDatabase,
  dumpOf,
  findBackup,
  restoreDump,
  storagePath,
  storageRoot,
  verifyChecksums,
  withAdminClient,
  type RestoreTarget,
  type StoredBackup,
} from "./restore.ts";

type Env = Readonly<Record<string, string | undefined>>;

export const BackupVerifyConfig = z.object({
  policy: z.object({ namespace: z.string(), name: z.string().min(1).max(253) }),
  root: z.string().min(1).default(DEFAULT_BACKUP_ROOT),
  path: storagePath,
  /** Default: the newest complete backup. */
  backupId: z.string().min(1).max(128).optional(),
  /** Default: pake_verify_<policy name, "-" → "_">. */
  scratchDatabase: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z_][a-z0-9_]*$/)
    .optional(),
  compareRowCounts: z.boolean().default(true),
});
export type BackupVerifyConfig = z.output<typeof BackupVerifyConfig>;
export type BackupVerifyInput = z.input<typeof BackupVerifyConfig>;

/** The default scratch database of a policy (at most 63 bytes, PostgreSQL's limit). */
export function scratchDatabaseOf(policy: string): string {
  return `pake_verify_${policy.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

const MAX_NAMED_DIFFERENCES = 5;
/** Databases every server has, never a scratch database. */
const SYSTEM_DATABASES = ["postgres", "template0", "template1"];

const keyOf = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

/**
 * The differences between the manifest's tables and the restored ones, in
 * table order: missing tables, extra tables, different row counts.
 */
export function compareTables(
  database: string,
  expected: readonly TableCount[],
  actual: readonly TableCount[],
): string[] {
  const restored = new Map(actual.map((t) => [keyOf(t), t.rows]));
  const listed = new Set(expected.map(keyOf));
  const out: string[] = [];
  for (const t of expected) {
    const rows = restored.get(keyOf(t));
    if (rows === undefined) out.push(`${database}: table ${keyOf(t)} missing after restore`);
    else if (rows !== t.rows) {
      out.push(`${database}: table ${keyOf(t)} has ${rows} rows, manifest says ${t.rows}`);
    }
  }
  for (const t of actual) {
    if (!listed.has(keyOf(t))) out.push(`${database}: table ${keyOf(t)} not in the manifest`);
  }
  return out;
}

/**
 * Every user table of a restored database with its exact row count, counted
 * the way the backup runner counted them for the manifest (snapshot.ts).
 */
export async function restoredRowCounts(env: Env, database: string): Promise<TableCount[]> {
  return withClient(env, database, countRows);
}

interface DatabaseCheck {
  tables: number;
  rows: number;
  differences: string[];
}

async function checkRestored(
  target: RestoreTarget,
  expected: Manifest["databases"][number],
  compare: boolean,
): Promise<DatabaseCheck> {
  if (!compare) {
    const tables = await withClient(target.env, target.database, userTables);
    return { tables: tables.length, rows: 0, differences: [] };
  }
  const counted = await restoredRowCounts(target.env, target.database);
  return {
    tables: counted.length,
    rows: counted.reduce((sum, t) => sum + t.rows, 0),
    differences: compareTables(expected.name, expected.tables, counted),
  };
}

/** Restores one database of the backup into a fresh scratch database, checks it, drops it. */
async function verifyDatabase(
  backup: StoredBackup,
  expected: Manifest["databases"][number],
  target: RestoreTarget,
  compare: boolean,
): Promise<DatabaseCheck> {
  const scratch = target.database;
  await withAdminClient(target.env, scratch, async (c) => {
    // A scratch database left by a killed run is ours: replace it.
    if (await databaseExists(c, scratch)) await dropDatabase(c, scratch, true);
    await createDatabase(c, scratch);
  });
  try {
    await restoreDump(backup, dumpOf(backup.manifest, expected.name), target);
    return await checkRestored(target, expected, compare);
  } finally {
    await withAdminClient(target.env, scratch, (c) => dropDatabase(c, scratch, true));
  }
}

/** Refuses a scratch name that is a real database (backed up or connected to): it is dropped. */
function checkScratchName(scratch: string, manifest: Manifest, env: Env): void {
  const real = [
    ...manifest.databases.map((d) => d.name),
    defaultDatabase(env),
    ...SYSTEM_DATABASES,
  ];
  if (real.includes(scratch)) {
    throw new Error(`scratch database ${scratch} is a real database; choose another name`);
  }
}

interface Verification {
  tables: number;
  rows: number;
  differences: string[];
  /** Whether rows were counted and compared (compareRowCounts). */
  compared: boolean;
}

async function verifyBackup(
  backup: StoredBackup,
  config: BackupVerifyConfig,
  ctx: TaskContext,
): Promise<Verification> {
  const scratch = config.scratchDatabase ?? scratchDatabaseOf(config.policy.name);
  checkScratchName(scratch, backup.manifest, envOf(ctx));
  await verifyChecksums(backup);
  const target = { env: envOf(ctx), database: scratch, signal: ctx.signal };
  const total: Verification = {
    tables: 0,
    rows: 0,
    differences: [],
    compared: config.compareRowCounts,
  };
  for (const expected of backup.manifest.databases) {
    const check = await verifyDatabase(backup, expected, target, config.compareRowCounts);
    total.tables += check.tables;
    total.rows += check.rows;
    total.differences.push(...check.differences);
  }
  return total;
}

function messageOf(v: Verification): string {
  if (v.differences.length === 0) {
    return v.compared
      ? `restored ${v.tables} table(s), ${v.rows} row(s), as in the manifest`
      : `restored ${v.tables} table(s); row counts not compared`;
  }
  const shown = v.differences.slice(0, MAX_NAMED_DIFFERENCES).join("; ");
  const more = v.differences.length - MAX_NAMED_DIFFERENCES;
  return `${v.differences.length} difference(s): ${shown}${more > 0 ? ` (and ${more} more)` : ""}`;
}

function outcomeOf(backupId: string, v: Verification): TaskOutcome {
  const passed = v.differences.length === 0;
  const message = messageOf(v);
  return {
    result: passed ? "Succeeded" : "Failed",
    summary: `Backup ${backupId} ${passed ? "passed" : "failed"} verification: ${message}`,
    details: {
      backupId,
      verification: passed ? "Passed" : "Failed",
      tables: v.tables,
      rows: v.rows,
    },
    data: {
      backupId,
      result: passed ? "Passed" : "Failed",
      tables: v.tables,
      rows: v.rows,
      message,
    },
    ...(passed ? {} : { error: message }),
  };
}

function failedOutcome(backupId: string | undefined, err: unknown): TaskOutcome {
  const message = err instanceof Error ? err.message : String(err);
  return {
    result: "Failed",
    summary: `Backup ${backupId ?? "(none)"} failed verification: ${message}`,
    details: { ...(backupId ? { backupId } : {}), verification: "Failed" },
    data: { backupId: backupId ?? null, result: "Failed", tables: 0, rows: 0, message },
    error: message,
  };
}

async function verifyBody(config: BackupVerifyConfig, ctx: TaskContext): Promise<TaskOutcome> {
  const storage = storageRoot(config.root, config.path);
  let backup: StoredBackup | undefined;
  try {
    backup = await findBackup(storage, config.policy.name, config.backupId);
    return outcomeOf(backup.manifest.id, await verifyBackup(backup, config, ctx));
  } catch (err) {
    return failedOutcome(backup?.manifest.id ?? config.backupId, err);
  }
}

/** Verifies a stored backup by restoring it into a scratch database; never throws. */
export async function runBackupVerify(
  input: BackupVerifyInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("backupVerify", ctx.now, async () => {
    const config = parseConfig("backupVerify", BackupVerifyConfig, input);
    return verifyBody(config, ctx);
  });
}
