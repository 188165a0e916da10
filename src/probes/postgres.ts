// PostgreSQL probe: a small pg Pool per check; per probe one connection runs
// the timed query and one statistics query (connections, size, longest
// query, recovery), plus replication lag on a replica and the slowest
// statements when pg_stat_statements is installed.
//
// Cancellation: the session's statement_timeout equals the probe timeout, and
// on abort the probe sends PostgreSQL a cancel request for the running query
// and destroys the connection, so no work is left running on the server.
import { Socket } from "node:net";
import pg from "pg";
import type { Metric, PostgresProbeTarget, Probe, ProbeContext, ProbeResult } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { abortMessage, abortable, failed, metric, round, stopwatch } from "./util.ts";

const STATS_SQL = `
SELECT current_setting('max_connections')::int AS max_connections,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
  (SELECT count(*)::int FROM pg_stat_activity
     WHERE backend_type = 'client backend' AND state = 'active') AS active,
  pg_database_size(current_database())::float8 AS database_size,
  COALESCE((SELECT EXTRACT(EPOCH FROM max(clock_timestamp() - query_start))::float8
     FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active'
       AND pid <> pg_backend_pid()), 0) AS longest_query_seconds,
  pg_is_in_recovery() AS in_recovery,
  EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_statements`;

const LAG_SQL = `
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
  END::float8 AS lag`;

const STATEMENTS_SQL = `
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query, calls::float8 AS calls,
  mean_exec_time::float8 AS mean_ms
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY mean_exec_time DESC LIMIT 3`;

interface Stats {
  max_connections: number;
  connections: number;
  active: number;
  database_size: number;
  longest_query_seconds: number;
  in_recovery: boolean;
  has_statements: boolean;
}

interface Statement {
  query: string;
  calls: number;
  mean_ms: number;
}

function poolFor(target: PostgresProbeTarget, ctx: ProbeContext): pg.Pool {
  return ctx.pool.get<pg.Pool>("pg", {
    configKey: String(ctx.timeoutMs),
    create: () => {
      const pool = new pg.Pool({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database,
        ssl: target.ssl ?? false,
        max: 2,
        idleTimeoutMillis: 5 * 60_000,
        connectionTimeoutMillis: ctx.timeoutMs,
        statement_timeout: ctx.timeoutMs,
        application_name: "pake-operator-healthcheck",
        allowExitOnIdle: true,
      });
      // Idle connections break when the server goes away; the next probe reports it.
      pool.on("error", () => undefined);
      return pool;
    },
    dispose: (pool) => pool.end(),
  });
}

/** Sends PostgreSQL's CancelRequest for the client's running query (best effort). */
export function sendCancelRequest(
  target: { host: string; port: number },
  client: pg.PoolClient,
): void {
  const { processID, secretKey } = client as unknown as { processID?: number; secretKey?: number };
  if (typeof processID !== "number" || typeof secretKey !== "number") return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket = new Socket();
  socket.setTimeout(5000, () => socket.destroy());
  socket.once("error", () => socket.destroy());
  socket.connect({ host: target.host, port: target.port }, () => socket.end(packet));
}

function where(target: PostgresProbeTarget): string {
  return `${target.host}:${target.port}/${target.database}`;
}

async function queryMetrics(
  client: pg.PoolClient,
  target: PostgresProbeTarget,
): Promise<{ metrics: Metric[]; notes: string[]; replica: boolean }> {
  const elapsed = stopwatch();
  await client.query(target.query ?? "SELECT 1");
  const queryMs = elapsed();
  const stats = (await client.query<Stats>(STATS_SQL)).rows[0]!;
  const metrics = [
    metric("queryTimeMs", queryMs, "ms", "queryTime"),
    metric("connections", stats.connections, "count"),
    metric("maxConnections", stats.max_connections, "count"),
    metric("connectionsPercent", round((stats.connections / stats.max_connections) * 100), "%"),
    metric("activeConnections", stats.active, "count"),
    metric("databaseSizeBytes", stats.database_size, "bytes"),
    metric("longestQuerySeconds", round(stats.longest_query_seconds, 3), "s"),
  ];
  const notes: string[] = [];
  if (stats.in_recovery) {
    const lag = (await client.query<{ lag: number }>(LAG_SQL)).rows[0]!.lag;
    metrics.push(metric("replicationLagSeconds", round(lag, 3), "s"));
  } else {
    notes.push("Not a replica: replication lag not measured");
  }
  if (target.collectStatements !== false) {
    await slowestStatements(client, stats.has_statements, { metrics, notes });
  }
  return { metrics, notes, replica: stats.in_recovery };
}

async function slowestStatements(
  client: pg.PoolClient,
  installed: boolean,
  out: { metrics: Metric[]; notes: string[] },
): Promise<void> {
  if (!installed) {
    out.notes.push("pg_stat_statements is not installed: slowest statements not reported");
    return;
  }
  try {
    // A savepoint-free read: a failure here (extension not preloaded) must not fail the probe.
    const rows = (await client.query<Statement>(STATEMENTS_SQL)).rows;
    rows.forEach((row, i) => {
      out.metrics.push(metric(`slowStatement${i + 1}MeanMs`, round(row.mean_ms), "ms"));
      out.notes.push(
        `Slow statement ${i + 1}: ${round(row.mean_ms)} ms mean over ${row.calls} calls: ${row.query}`,
      );
    });
  } catch (err) {
    out.notes.push(`pg_stat_statements is installed but not readable: ${errorMessage(err)}`);
  }
}

async function connect(pool: pg.Pool, signal: AbortSignal): Promise<pg.PoolClient> {
  return abortable(pool.connect(), signal, (late) => late.release(true));
}

export const postgresProbe: Probe<PostgresProbeTarget> = async (target, ctx) => {
  const elapsed = stopwatch();
  let client: pg.PoolClient;
  try {
    client = await connect(poolFor(target, ctx), ctx.signal);
  } catch (err) {
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`Could not connect to PostgreSQL at ${where(target)}: ${why}`, elapsed());
  }
  const connectMs = elapsed();
  return runOnClient(client, target, ctx, { elapsed, connectMs });
};

async function runOnClient(
  client: pg.PoolClient,
  target: PostgresProbeTarget,
  ctx: ProbeContext,
  timing: { elapsed: () => number; connectMs: number },
): Promise<ProbeResult> {
  let destroyed = false;
  const onAbort = (): void => {
    destroyed = true;
    sendCancelRequest(target, client);
    client.release(new Error("probe aborted"));
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const found = await abortable(queryMetrics(client, target), ctx.signal);
    const metrics = [
      metric("connectTimeMs", timing.connectMs, "ms", "responseTime"),
      ...found.metrics,
    ];
    const role = found.replica ? "replica" : "primary";
    return {
      ok: true,
      latencyMs: timing.elapsed(),
      message: `PostgreSQL ${role} is reachable`,
      metrics,
      notes: found.notes,
    };
  } catch (err) {
    if (!destroyed) {
      destroyed = true;
      client.release(err instanceof Error ? err : new Error(String(err)));
    }
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`PostgreSQL query failed on ${where(target)}: ${why}`, timing.elapsed());
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    if (!destroyed) client.release();
  }
}
