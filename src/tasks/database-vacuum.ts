// databaseVacuum: VACUUM and/or ANALYZE, per table, never waiting on a lock.
// Before each table the runner looks at pg_locks / pg_stat_activity and skips
// the table (with the reason) when another session holds a lock that
// conflicts with the command (SHARE UPDATE EXCLUSIVE; ACCESS EXCLUSIVE for
// FULL), or when a transaction open longer than maxTransactionAge holds a
// lock on it (VACUUM could not remove the rows that transaction can still
// see). lock_timeout covers the race between the check and the command.
import type pg from "pg";
import { z } from "zod";
import { DURATION_PATTERN, AGE_PATTERN, parseDuration } from "../lib/duration.ts";
import { parseConfig } from "./config.ts";
import { envOf } from "./env.ts";
import { databasesOf, resolveTable, userTables, withClient, type TableRef } from "./postgres.ts";
import { runTaskBody } from "./result.ts";
import type { TaskContext, TaskOutcome, TaskResult } from "./types.ts";

const durationText = z
  .string()
  .refine(
    (v) => DURATION_PATTERN.test(v) || AGE_PATTERN.test(v),
    'a duration such as "5s" or "10m"',
  );

/** The CRD's databaseVacuum fields (connectionSecretRef becomes env) plus lock settings. */
export const DatabaseVacuumConfig = z.object({
  databases: z.array(z.string().min(1).max(63)).max(64).optional(),
  tables: z.array(z.string().min(1).max(127)).max(100).optional(),
  mode: z.enum(["Vacuum", "Analyze", "VacuumAnalyze"]).default("VacuumAnalyze"),
  full: z.boolean().default(false),
  /** Longest wait for a table's lock (lock_timeout). */
  lockTimeout: durationText.default("5s"),
  /** A transaction open longer than this that holds a lock on a table makes it skipped. */
  maxTransactionAge: durationText.default("10m"),
});
export type DatabaseVacuumConfig = z.output<typeof DatabaseVacuumConfig>;
export type DatabaseVacuumInput = z.input<typeof DatabaseVacuumConfig>;

export interface TableOutcome {
  database: string;
  table: string;
  status: "done" | "skipped" | "failed";
  durationMs?: number;
  reason?: string;
}

/** Lock modes that conflict with SHARE UPDATE EXCLUSIVE (VACUUM, ANALYZE). */
const CONFLICTS_SHARE_UPDATE_EXCLUSIVE = new Set([
  "ShareUpdateExclusiveLock",
  "ShareLock",
  "ShareRowExclusiveLock",
  "ExclusiveLock",
  "AccessExclusiveLock",
]);

interface Holder {
  pid: number;
  mode: string;
  xact_age: number | null;
  state: string | null;
}

async function holders(client: pg.Client, table: TableRef): Promise<Holder[]> {
  const { rows } = await client.query<Holder>(
    `SELECT l.pid, l.mode, a.state,
            EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::float8 AS xact_age
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation' AND l.relation = $1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.granted AND l.pid <> pg_backend_pid()`,
    [table.oid],
  );
  return rows;
}

function describeHolder(h: Holder): string {
  const age = h.xact_age === null ? "" : `, transaction open ${Math.round(h.xact_age)}s`;
  return `pid ${h.pid} holds ${h.mode}${age}${h.state ? ` (${h.state})` : ""}`;
}

/** Why the table must be skipped now, or undefined to go ahead. */
export function blockingReason(
  found: readonly Holder[],
  opts: { full: boolean; maxTransactionAgeSeconds: number },
): string | undefined {
  const conflict = found.find((h) => opts.full || CONFLICTS_SHARE_UPDATE_EXCLUSIVE.has(h.mode));
  if (conflict !== undefined) return `conflicting lock: ${describeHolder(conflict)}`;
  const long = found.find((h) => (h.xact_age ?? 0) > opts.maxTransactionAgeSeconds);
  if (long !== undefined) return `long transaction: ${describeHolder(long)}`;
  return undefined;
}

function commandFor(config: DatabaseVacuumConfig, table: TableRef): string {
  if (config.mode === "Analyze") return `ANALYZE ${table.sql}`;
  const options = [
    ...(config.full ? ["FULL"] : []),
    ...(config.mode === "VacuumAnalyze" ? ["ANALYZE"] : []),
  ];
  return `VACUUM ${options.length > 0 ? `(${options.join(", ")}) ` : ""}${table.sql}`;
}

interface DbRun {
  client: pg.Client;
  config: DatabaseVacuumConfig;
  database: string;
  signal?: AbortSignal | undefined;
}

async function processTable(run: DbRun, table: TableRef): Promise<TableOutcome> {
  const base = { database: run.database, table: table.display };
  const reason = blockingReason(await holders(run.client, table), {
    full: run.config.full,
    maxTransactionAgeSeconds: parseDuration(run.config.maxTransactionAge) / 1000,
  });
  if (reason !== undefined) return { ...base, status: "skipped", reason };
  const started = performance.now();
  try {
    await run.client.query(commandFor(run.config, table));
    return { ...base, status: "done", durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === "55P03") {
      return {
        ...base,
        status: "skipped",
        reason: `lock not granted within lock_timeout ${run.config.lockTimeout}`,
      };
    }
    return {
      ...base,
      status: "failed",
      reason: e.message,
      durationMs: Math.round(performance.now() - started),
    };
  }
}

async function tablesOf(run: DbRun): Promise<{ tables: TableRef[]; missing: TableOutcome[] }> {
  if (run.config.tables === undefined || run.config.tables.length === 0) {
    return { tables: await userTables(run.client), missing: [] };
  }
  const tables: TableRef[] = [];
  const missing: TableOutcome[] = [];
  for (const name of run.config.tables) {
    const ref = await resolveTable(run.client, name);
    if (ref === undefined)
      missing.push({
        database: run.database,
        table: name,
        status: "skipped",
        reason: "table not found",
      });
    else tables.push(ref);
  }
  return { tables, missing };
}

async function vacuumDatabase(run: DbRun): Promise<TableOutcome[]> {
  const lockMs = parseDuration(run.config.lockTimeout);
  await run.client.query(`SET lock_timeout = ${Math.max(1, Math.round(lockMs))}`);
  await run.client.query("SET statement_timeout = 0");
  const { tables, missing } = await tablesOf(run);
  const out = [...missing];
  for (const table of tables) {
    if (run.signal?.aborted) throw new Error("aborted");
    out.push(await processTable(run, table));
  }
  return out;
}

function summarise(config: DatabaseVacuumConfig, outcomes: TableOutcome[]): TaskOutcome {
  const count = (s: TableOutcome["status"]) => outcomes.filter((o) => o.status === s).length;
  const done = count("done");
  const skipped = count("skipped");
  const failed = count("failed");
  const totalMs = outcomes.reduce((sum, o) => sum + (o.durationMs ?? 0), 0);
  const what =
    config.mode === "Analyze" ? "ANALYZE" : config.mode === "Vacuum" ? "VACUUM" : "VACUUM ANALYZE";
  const firstFailure = outcomes.find((o) => o.status === "failed");
  return {
    result: failed > 0 ? "Failed" : "Succeeded",
    summary: `${what}${config.full ? " FULL" : ""}: ${done} table(s) done, ${skipped} skipped, ${failed} failed in ${(totalMs / 1000).toFixed(1)}s`,
    details: {
      tablesDone: done,
      tablesSkipped: skipped,
      tablesFailed: failed,
      totalMs,
      mode: config.mode,
      full: config.full,
    },
    // Skipped and failed tables first: they are what a reader needs when the list is cut.
    data: { tables: [...outcomes].sort((a, b) => rank(a) - rank(b)) },
    ...(firstFailure ? { error: `${firstFailure.table}: ${firstFailure.reason ?? "failed"}` } : {}),
  };
}

function rank(o: TableOutcome): number {
  return o.status === "failed" ? 0 : o.status === "skipped" ? 1 : 2;
}

export async function runDatabaseVacuum(
  input: DatabaseVacuumInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("databaseVacuum", ctx.now, async () => {
    const config = parseConfig("databaseVacuum", DatabaseVacuumConfig, input);
    const outcomes: TableOutcome[] = [];
    for (const database of databasesOf(config.databases)) {
      const part = await withClient(envOf(ctx), database, async (client) => {
        const name = (await client.query<{ db: string }>("SELECT current_database() AS db"))
          .rows[0]!.db;
        return vacuumDatabase({ client, config, database: name, signal: ctx.signal });
      });
      outcomes.push(...part);
    }
    return summarise(config, outcomes);
  });
}
