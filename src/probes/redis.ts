// Redis probe: one ioredis client per check (lazy connect, no offline queue,
// bounded reconnects); PING latency and INFO figures. On a timeout or a
// connection error the client is disconnected and dropped; the next probe
// connects afresh.
import { Redis } from "ioredis";
import type { Metric, Probe, ProbeContext, RedisProbeTarget } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { abortMessage, abortable, failed, metric, round, stopwatch } from "./util.ts";

const CLIENT = "redis";
/** The last connection error of each client, to explain a connection that closed. */
const lastErrors = new WeakMap<Redis, Error>();

function clientFor(target: RedisProbeTarget, ctx: ProbeContext): Redis {
  return ctx.pool.get<Redis>(CLIENT, {
    configKey: String(ctx.timeoutMs),
    create: () => {
      const client = new Redis(target.url, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: ctx.timeoutMs,
        commandTimeout: ctx.timeoutMs,
        // Two quick reconnects after a drop, then stay down until the next probe.
        retryStrategy: (times: number) => (times > 2 ? null : 100 * times),
        connectionName: "pake-operator-healthcheck",
      });
      // Errors surface through the probe; without a listener ioredis would log them.
      client.on("error", (err: Error) => lastErrors.set(client, err));
      return client;
    },
    dispose: (client) => client.disconnect(),
  });
}

/** Parses INFO output into field → value. */
export function parseInfo(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return fields;
}

/** Metrics from INFO fields; memory percent only when maxmemory is set. */
export function infoMetrics(fields: Map<string, string>): Metric[] {
  const num = (name: string): number | undefined => {
    const v = fields.get(name);
    return v === undefined || v === "" ? undefined : Number(v);
  };
  const metrics: Metric[] = [];
  const used = num("used_memory");
  const max = num("maxmemory");
  if (used !== undefined) metrics.push(metric("usedMemoryBytes", used, "bytes"));
  if (used !== undefined && max !== undefined && max > 0) {
    metrics.push(metric("maxMemoryBytes", max, "bytes"));
    metrics.push(metric("memoryPercent", round((used / max) * 100), "%", "memory"));
  }
  const counters: [string, string][] = [
    ["connected_clients", "connectedClients"],
    ["rejected_connections", "rejectedConnections"],
    ["evicted_keys", "evictedKeys"],
  ];
  for (const [field, name] of counters) {
    const v = num(field);
    if (v !== undefined) metrics.push(metric(name, v, "count"));
  }
  const hits = num("keyspace_hits") ?? 0;
  const misses = num("keyspace_misses") ?? 0;
  if (hits + misses > 0)
    metrics.push(metric("hitRatioPercent", round((hits / (hits + misses)) * 100), "%"));
  return metrics;
}

async function ensureConnected(client: Redis, signal: AbortSignal): Promise<void> {
  if (client.status === "ready") return;
  if (client.status === "wait" || client.status === "end" || client.status === "close") {
    await abortable(client.connect(), signal);
    return;
  }
  await abortable(
    new Promise<void>((resolve, reject) => {
      client.once("ready", resolve);
      client.once("end", () => reject(lastErrors.get(client) ?? new Error("connection closed")));
    }),
    signal,
  );
}

function describe(target: RedisProbeTarget): string {
  try {
    const u = new URL(target.url);
    return `${u.hostname}:${u.port || "6379"}`;
  } catch {
    return "the configured URL";
  }
}

export const redisProbe: Probe<RedisProbeTarget> = async (target, ctx) => {
  const elapsed = stopwatch();
  const client = clientFor(target, ctx);
  const onAbort = (): void => client.disconnect();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await ensureConnected(client, ctx.signal);
    const ping = stopwatch();
    await abortable(client.ping(), ctx.signal);
    const pingMs = ping();
    const info = await abortable(client.info(), ctx.signal);
    const metrics = [
      metric("pingTimeMs", pingMs, "ms", "responseTime"),
      ...infoMetrics(parseInfo(info)),
    ];
    return { ok: true, latencyMs: elapsed(), message: "Redis answered PING", metrics };
  } catch (err) {
    await ctx.pool.discard(CLIENT);
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`Redis at ${describe(target)} failed: ${why}`, elapsed());
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
  }
};
