// performanceReport: the largest tables, index usage (sequential vs index
// scans), unused indexes (never scanned, not backing a constraint), a bloat
// estimate from the statistics (dead tuples / all tuples × table size), and
// the slowest statements when pg_stat_statements is installed. Read-only.
import type pg from "pg";
import { z } from "zod";
import { REDACTED, redactText } from "../lib/redact.ts";
import { parseConfig } from "./config.ts";
import { envOf } from "./env.ts";
import { databasesOf, withClient } from "./postgres.ts";
import { runTaskBody } from "./result.ts";
import type { TaskContext, TaskOutcome, TaskResult } from "./types.ts";

/** The CRD's performanceReport fields (connectionSecretRef becomes env). */
export const PerformanceReportConfig = z.object({
  databases: z.array(z.string().min(1).max(63)).max(64).optional(),
  topN: z.int().min(1).max(100).default(20),
  includeBloat: z.boolean().default(true),
});
export type PerformanceReportConfig = z.output<typeof PerformanceReportConfig>;
export type PerformanceReportInput = z.input<typeof PerformanceReportConfig>;

export interface DatabaseReport {
  database: string;
  tables: {
    table: string;
    totalBytes: number;
    tableBytes: number;
    liveRows: number;
    deadRows: number;
    seqScans: number;
    indexScans: number;
  }[];
  unusedIndexes: { index: string; table: string; bytes: number }[];
  lowIndexUsage: { table: string; seqScans: number; indexScans: number; indexUsePercent: number }[];
  bloat: { table: string; deadRowsPercent: number; estimatedBloatBytes: number }[];
  slowStatements?: { query: string; calls: number; meanMs: number; totalMs: number }[];
}

const num = (v: unknown): number => Number(v ?? 0);

async function tableSizes(client: pg.Client, topN: number): Promise<DatabaseReport["tables"]> {
  const { rows } = await client.query(
    `SELECT schemaname || '.' || relname AS table,
            pg_total_relation_size(relid)::text AS total, pg_relation_size(relid)::text AS heap,
            n_live_tup::text AS live, n_dead_tup::text AS dead,
            coalesce(seq_scan, 0)::text AS seq, coalesce(idx_scan, 0)::text AS idx
       FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT $1`,
    [topN],
  );
  return rows.map((r: Record<string, unknown>) => ({
    table: String(r.table),
    totalBytes: num(r.total),
    tableBytes: num(r.heap),
    liveRows: num(r.live),
    deadRows: num(r.dead),
    seqScans: num(r.seq),
    indexScans: num(r.idx),
  }));
}

async function unusedIndexes(
  client: pg.Client,
  topN: number,
): Promise<DatabaseReport["unusedIndexes"]> {
  const { rows } = await client.query(
    `SELECT s.schemaname || '.' || s.indexrelname AS index, s.schemaname || '.' || s.relname AS table,
            pg_relation_size(s.indexrelid)::text AS bytes
       FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
      WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
      ORDER BY pg_relation_size(s.indexrelid) DESC, 1 LIMIT $1`,
    [topN],
  );
  return rows.map((r: Record<string, unknown>) => ({
    index: String(r.index),
    table: String(r.table),
    bytes: num(r.bytes),
  }));
}

async function lowIndexUsage(
  client: pg.Client,
  topN: number,
): Promise<DatabaseReport["lowIndexUsage"]> {
  const { rows } = await client.query(
    `SELECT schemaname || '.' || relname AS table, seq_scan::text AS seq, coalesce(idx_scan, 0)::text AS idx
       FROM pg_stat_user_tables
      WHERE seq_scan > 0 AND n_live_tup > 1000
        AND coalesce(idx_scan, 0)::float8 / (seq_scan + coalesce(idx_scan, 0)) < 0.9
      ORDER BY seq_scan DESC LIMIT $1`,
    [topN],
  );
  return rows.map((r: Record<string, unknown>) => {
    const seq = num(r.seq);
    const idx = num(r.idx);
    return {
      table: String(r.table),
      seqScans: seq,
      indexScans: idx,
      indexUsePercent: Math.round((idx / (seq + idx)) * 1000) / 10,
    };
  });
}

async function bloat(client: pg.Client, topN: number): Promise<DatabaseReport["bloat"]> {
  const { rows } = await client.query(
    `SELECT schemaname || '.' || relname AS table,
            round(100.0 * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1), 1)::text AS pct,
            (pg_relation_size(relid) * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1))::int8::text AS bytes
       FROM pg_stat_user_tables WHERE n_dead_tup > 0
      ORDER BY n_dead_tup::float8 / greatest(n_live_tup + n_dead_tup, 1) * pg_relation_size(relid) DESC LIMIT $1`,
    [topN],
  );
  return rows.map((r: Record<string, unknown>) => ({
    table: String(r.table),
    deadRowsPercent: num(r.pct),
    estimatedBloatBytes: num(r.bytes),
  }));
}

// pg_stat_statements keeps utility statements with their literals, so
// `ALTER ROLE x PASSWORD '…'` is stored with the password. Statements of the
// shapes that can carry a credential are reported without their text.
const CREDENTIAL_STATEMENT = new RegExp(
  [
    String.raw`\bpass(?:word|wd)\b`,
    String.raw`\b(?:create|alter)\s+(?:role|user|group)\b`,
    String.raw`\buser\s+mapping\b`,
    String.raw`\b(?:create|alter)\s+server\b`,
    String.raw`\b(?:create|alter)\s+subscription\b`,
    String.raw`\bdblink\w*\s*\(`,
    String.raw`\b(?:pgp_\w+|crypt|encrypt|decrypt|hmac)\s*\(`,
  ].join("|"),
  "i",
);

/** A statement's text as reported: credential-shaped statements hidden, URLs and pairs redacted. */
export function reportedStatement(text: string): string {
  if (CREDENTIAL_STATEMENT.test(text))
    return `${REDACTED} (a statement that may hold a credential)`;
  return redactText(text);
}

async function slowStatements(
  client: pg.Client,
  topN: number,
): Promise<DatabaseReport["slowStatements"]> {
  const ext = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'");
  if (ext.rowCount === 0) return undefined;
  const { rows } = await client
    .query(
      `SELECT left(query, 200) AS query, calls::text AS calls, mean_exec_time AS mean, total_exec_time AS total
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY mean_exec_time DESC LIMIT $1`,
      [Math.min(topN, 10)],
    )
    .catch(() => ({ rows: [] as Record<string, unknown>[] }));
  return rows.map((r: Record<string, unknown>) => ({
    query: reportedStatement(String(r.query)),
    calls: num(r.calls),
    meanMs: Math.round(num(r.mean) * 100) / 100,
    totalMs: Math.round(num(r.total)),
  }));
}

async function reportDatabase(
  client: pg.Client,
  config: PerformanceReportConfig,
): Promise<DatabaseReport> {
  const database = (await client.query<{ db: string }>("SELECT current_database() AS db")).rows[0]!
    .db;
  const report: DatabaseReport = {
    database,
    tables: await tableSizes(client, config.topN),
    unusedIndexes: await unusedIndexes(client, config.topN),
    lowIndexUsage: await lowIndexUsage(client, config.topN),
    bloat: config.includeBloat ? await bloat(client, config.topN) : [],
  };
  const slow = await slowStatements(client, config.topN);
  if (slow !== undefined) report.slowStatements = slow;
  return report;
}

function outcomeOf(reports: DatabaseReport[]): TaskOutcome {
  const unused = reports.flatMap((r) =>
    r.unusedIndexes.map((i) => ({ ...i, database: r.database })),
  );
  const unusedBytes = unused.reduce((s, i) => s + i.bytes, 0);
  const bloatBytes = reports.reduce(
    (s, r) => s + r.bloat.reduce((t, b) => t + b.estimatedBloatBytes, 0),
    0,
  );
  const largest = reports
    .flatMap((r) => r.tables.map((t) => ({ ...t, database: r.database })))
    .sort((a, b) => b.totalBytes - a.totalBytes)[0];
  const mib = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`;
  return {
    summary: `${reports.length} database(s): ${unused.length} unused index(es) (${mib(unusedBytes)}), estimated bloat ${mib(bloatBytes)}${largest ? `, largest table ${largest.table} ${mib(largest.totalBytes)}` : ""}`,
    details: {
      databases: reports.length,
      unusedIndexes: unused.length,
      unusedIndexBytes: unusedBytes,
      estimatedBloatBytes: bloatBytes,
      lowIndexUsageTables: reports.reduce((s, r) => s + r.lowIndexUsage.length, 0),
      ...(largest
        ? {
            largestTable: `${largest.database}/${largest.table}`,
            largestTableBytes: largest.totalBytes,
          }
        : {}),
    },
    data: { databases: reports },
  };
}

export async function runPerformanceReport(
  input: PerformanceReportInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("performanceReport", ctx.now, async () => {
    const config = parseConfig("performanceReport", PerformanceReportConfig, input);
    const reports: DatabaseReport[] = [];
    for (const database of databasesOf(config.databases)) {
      reports.push(
        await withClient(envOf(ctx), database, (client) => reportDatabase(client, config)),
      );
    }
    return outcomeOf(reports);
  });
}
