// The postgres probe against a real PostgreSQL: up, slow queries, connections
// near max_connections, pg_stat_statements, a timeout that cancels the query
// on the server, and a stopped server.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observe, memoryFromStatus, type HealthPolicy } from "../../src/health/check.ts";
import { postgresProbe } from "../../src/probes/postgres.ts";
import { CheckResourcePool } from "../../src/probes/pool.ts";
import type { PostgresProbeTarget, ProbeResult } from "../../src/probes/types.ts";
import { startPostgres, waitFor, type Postgres } from "../env/index.ts";

let server: Postgres;
const pools: CheckResourcePool[] = [];

beforeAll(async () => {
  server = await startPostgres({
    maxConnections: 10,
    settings: { shared_preload_libraries: "pg_stat_statements" },
  });
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await server?.destroy();
});

function target(extra: Partial<PostgresProbeTarget> = {}): PostgresProbeTarget {
  return {
    type: "postgres",
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: server.database,
    ...extra,
  };
}

/** One probe; with a throwaway connection pool unless one is passed. */
async function probe(
  t: PostgresProbeTarget,
  timeoutMs = 5000,
  shared?: CheckResourcePool,
): Promise<ProbeResult> {
  const pool = shared ?? new CheckResourcePool();
  pools.push(pool);
  try {
    return await postgresProbe(t, { signal: AbortSignal.timeout(timeoutMs), timeoutMs, pool });
  } finally {
    if (!shared) await pool.close();
  }
}

/** The state one probe result grades to (no damping). */
function stateOf(result: ProbeResult, policy: HealthPolicy = {}) {
  return observe(memoryFromStatus(), result, { failureThreshold: 1, ...policy }, Date.now()).status;
}

function value(result: ProbeResult, name: string): number | undefined {
  return result.metrics.find((m) => m.name === name)?.value;
}

describe("Given a running PostgreSQL", () => {
  it("reports connect and query latency, connections, size and longest query, and skips replication lag", async () => {
    const result = await probe(target());
    expect(result).toMatchObject({ ok: true, message: "PostgreSQL primary is reachable" });
    expect(value(result, "maxConnections")).toBe(10);
    expect(value(result, "connections")).toBeGreaterThanOrEqual(1);
    expect(value(result, "connectionsPercent")).toBeGreaterThan(0);
    expect(value(result, "databaseSizeBytes")).toBeGreaterThan(1_000_000);
    expect(value(result, "longestQuerySeconds")).toBeGreaterThanOrEqual(0);
    expect(value(result, "queryTimeMs")).toBeLessThan(100);
    expect(value(result, "connectTimeMs")).toBeGreaterThan(0);
    expect(value(result, "replicationLagSeconds")).toBeUndefined();
    expect(result.notes).toContain("Not a replica: replication lag not measured");
    expect(stateOf(result).state).toBe("Healthy");
  });

  it("reuses its pooled connection on the next probe", async () => {
    const pool = new CheckResourcePool();
    await probe(target(), 5000, pool);
    const pid = (
      await server.psql(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pake-operator-healthcheck'",
      )
    ).trim();
    await probe(target(), 5000, pool);
    const again = (
      await server.psql(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pake-operator-healthcheck'",
      )
    ).trim();
    expect(again).toBe(pid);
    await pool.close();
  });

  it("reports the slowest statements once pg_stat_statements is installed", async () => {
    const before = await probe(target());
    expect(before.notes).toContain(
      "pg_stat_statements is not installed: slowest statements not reported",
    );
    await server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await server.psql("SELECT pg_sleep(0.05)");
    const result = await probe(target());
    expect(value(result, "slowStatement1MeanMs")).toBeGreaterThan(0);
    expect(result.notes?.some((n) => n.startsWith("Slow statement 1:"))).toBe(true);
  });

  it.each([
    ["SELECT pg_sleep(0.35)", "Warning", "queryTimeMs is Warning (above 300 ms)"],
    ["SELECT pg_sleep(0.6)", "Critical", "queryTimeMs is Critical (above 500 ms)"],
  ])("grades a slow query %s as %s on query time", async (query, state, problem) => {
    const result = await probe(target({ query }));
    expect(result.ok).toBe(true);
    const status = stateOf(result);
    expect(status.state).toBe(state);
    expect(status.message).toBe(`PostgreSQL primary is reachable; ${problem}`);
  });

  it("reports high connection usage when connections near max_connections", async () => {
    const held: pg.Client[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const c = new pg.Client({ connectionString: server.uri });
        await c.connect();
        held.push(c);
      }
      const result = await probe(target());
      expect(value(result, "connections")).toBeGreaterThanOrEqual(9);
      expect(value(result, "connectionsPercent")).toBeGreaterThanOrEqual(90);
      const status = stateOf(result);
      expect(["Warning", "Critical"]).toContain(status.state);
      expect(status.metrics.find((m) => m.name === "connectionsPercent")?.state).not.toBe(
        "Healthy",
      );
    } finally {
      await Promise.all(held.map((c) => c.end()));
    }
  });

  it("cancels the running query on the server when the probe times out", async () => {
    const started = Date.now();
    const result = await probe(target({ query: "SELECT pg_sleep(30)" }), 500);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(
      /^PostgreSQL query failed on 127\.0\.0\.1:\d+\/postgres: timed out after 500 ms$/,
    );
    await waitFor(
      async () =>
        (
          await server.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
          )
        ).trim() === "0",
      { timeoutMs: 3000, what: "the cancelled query to end" },
    );
  });
});

describe("Given a stopped PostgreSQL", () => {
  it("fails the probe with a clear message and grades the check Critical", async () => {
    const pool = new CheckResourcePool();
    expect((await probe(target(), 5000, pool)).ok).toBe(true);
    await server.stop();
    const result = await probe(target(), 2000, pool);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(
      /^Could not connect to PostgreSQL at 127\.0\.0\.1:\d+\/postgres: .*ECONNREFUSED/,
    );
    const status = stateOf(result);
    expect(status.state).toBe("Critical");
    expect(status.message).toBe(result.message);
    await server.start();
    expect((await probe(target(), 5000, pool)).ok).toBe(true);
    await pool.close();
  });
});
