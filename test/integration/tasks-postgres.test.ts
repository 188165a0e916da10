// databaseVacuum, performanceReport and the database part of capacityCheck
// against a real PostgreSQL (its own: the tests hold locks and long
// transactions on purpose).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type Postgres } from "../env/index.ts";
import {
  runCapacityCheck,
  runDatabaseVacuum,
  runPerformanceReport,
  runTask,
  type DatabaseReport,
  type TableOutcome,
} from "../../src/tasks/index.ts";

let server: Postgres;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startPostgres();
  env = server.libpqEnv;
  await server.psql(`
    CREATE TABLE orders (id serial PRIMARY KEY, customer int, note text);
    CREATE TABLE events (id serial PRIMARY KEY, kind text);
    CREATE TABLE "Mixed Case" (id int);
    CREATE SCHEMA sales;
    CREATE TABLE sales.invoices (id int);
    INSERT INTO orders (customer, note) SELECT g % 100, repeat('x', 100) FROM generate_series(1, 20000) g;
    INSERT INTO events (kind) SELECT 'e' FROM generate_series(1, 1000);
    DELETE FROM orders WHERE id % 2 = 0;
    CREATE INDEX orders_customer_idx ON orders (customer);
  `);
});

afterAll(async () => {
  await server.destroy();
});

const byTable = (tables: unknown) =>
  Object.fromEntries((tables as TableOutcome[]).map((t) => [t.table, t]));

/** Runs fn while another session holds `sql` inside an open transaction. */
async function whileHolding<T>(sql: string, fn: () => Promise<T>, waitMs = 0): Promise<T> {
  const other = new pg.Client({ connectionString: server.uri });
  await other.connect();
  try {
    await other.query("BEGIN");
    await other.query(sql);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return await fn();
  } finally {
    await other.query("ROLLBACK").catch(() => undefined);
    await other.end();
  }
}

describe("Given a database with tables to vacuum", () => {
  it("runs VACUUM ANALYZE on a table list with quoted and schema-qualified names, reporting durations", async () => {
    const r = await runDatabaseVacuum(
      { tables: ["orders", '"Mixed Case"', "sales.invoices", "no_such_table"] },
      { env },
    );
    expect(r.result).toBe("Succeeded");
    const t = byTable(r.data?.tables);
    expect(t["public.orders"]).toMatchObject({ status: "done" });
    expect(t["public.Mixed Case"]).toMatchObject({ status: "done" });
    expect(t["sales.invoices"]).toMatchObject({ status: "done" });
    expect(t["no_such_table"]).toMatchObject({ status: "skipped", reason: "table not found" });
    expect(typeof t["public.orders"]!.durationMs).toBe("number");
    expect(r.details).toMatchObject({ tablesDone: "3", tablesSkipped: "1", tablesFailed: "0" });
    const stats = await server.psql(
      "SELECT n_dead_tup, last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'orders'",
    );
    expect(stats.trim()).toBe("0|t|t");
  });

  it("a name that tries SQL injection is just a missing table", async () => {
    const r = await runDatabaseVacuum({ tables: ["orders; DROP TABLE events; --"] }, { env });
    expect(byTable(r.data?.tables)["orders; DROP TABLE events; --"]).toMatchObject({
      status: "skipped",
    });
    expect((await server.psql("SELECT count(*) FROM events")).trim()).toBe("1000");
  });

  it("runs ANALYZE only, on every user table when no list is given", async () => {
    const r = await runTask("databaseVacuum", JSON.stringify({ mode: "Analyze" }), {
      env: { PAKE_DATABASE_URL: server.uri },
    });
    expect(r.result).toBe("Succeeded");
    expect(Object.keys(byTable(r.data?.tables)).sort()).toEqual([
      "public.Mixed Case",
      "public.events",
      "public.orders",
      "sales.invoices",
    ]);
    expect(r.summary).toMatch(/^ANALYZE: 4 table\(s\) done/);
  });

  it("skips a table another session holds a conflicting lock on, instead of waiting", async () => {
    const started = Date.now();
    const r = await whileHolding("LOCK TABLE events IN SHARE MODE", () =>
      runDatabaseVacuum({ tables: ["orders", "events"], lockTimeout: "30s" }, { env }),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    const t = byTable(r.data?.tables);
    expect(t["public.orders"]).toMatchObject({ status: "done" });
    expect(t["public.events"]).toMatchObject({ status: "skipped" });
    expect(t["public.events"]!.reason).toMatch(
      /^conflicting lock: pid \d+ holds ShareLock, transaction open \d+s \(idle in transaction\)$/,
    );
    expect(r.result).toBe("Succeeded");
  });

  it("skips a table read by a transaction open longer than maxTransactionAge", async () => {
    const r = await whileHolding(
      "SELECT count(*) FROM orders",
      () => runDatabaseVacuum({ tables: ["orders", "events"], maxTransactionAge: "1s" }, { env }),
      1500,
    );
    const t = byTable(r.data?.tables);
    expect(t["public.orders"]!.reason).toMatch(/^long transaction: pid \d+ holds AccessShareLock/);
    expect(t["public.events"]).toMatchObject({ status: "done" });
  });

  it("VACUUM FULL skips a table with any reader, and runs on the others", async () => {
    const r = await whileHolding("SELECT count(*) FROM events", () =>
      runDatabaseVacuum({ tables: ["events", "sales.invoices"], full: true }, { env }),
    );
    const t = byTable(r.data?.tables);
    expect(t["public.events"]!.reason).toContain("conflicting lock");
    expect(t["sales.invoices"]).toMatchObject({ status: "done" });
  });

  it("processes each database of a list", async () => {
    await server.psql("CREATE DATABASE second");
    await server.psql("CREATE TABLE t (id int)", "second");
    const r = await runDatabaseVacuum(
      { databases: ["postgres", "second"], tables: ["events", "t"] },
      { env },
    );
    const rows = r.data?.tables as TableOutcome[];
    expect(
      rows
        .filter((x) => x.status === "done")
        .map((x) => `${x.database}/${x.table}`)
        .sort(),
    ).toEqual(["postgres/public.events", "second/public.t"]);
  });
});

describe("Given a database to report on", () => {
  it("finds the unused index, table sizes and dead-row bloat", async () => {
    await server.psql(
      "CREATE TABLE bloated (id int); INSERT INTO bloated SELECT generate_series(1, 5000); DELETE FROM bloated WHERE id <= 4000;" +
        "CREATE TABLE lookup (id int PRIMARY KEY, code text); INSERT INTO lookup SELECT g, g::text FROM generate_series(1, 1000) g;" +
        "CREATE INDEX lookup_code_idx ON lookup (code);",
    );
    await server.psql("SELECT pg_stat_force_next_flush()").catch(() => undefined);
    const r = await runPerformanceReport({ topN: 10 }, { env });
    expect(r.result).toBe("Succeeded");
    const report = (r.data?.databases as DatabaseReport[])[0]!;
    expect(report.unusedIndexes.map((i) => i.index)).toContain("public.lookup_code_idx");
    expect(report.unusedIndexes.map((i) => i.index)).not.toContain("public.lookup_pkey");
    expect(report.tables[0]!.table).toBe("public.orders");
    expect(report.tables[0]!.totalBytes).toBeGreaterThan(1_000_000);
    const bloat = report.bloat.find((b) => b.table === "public.bloated");
    expect(bloat?.deadRowsPercent).toBeCloseTo(80, 0);
    expect(Number(r.details.unusedIndexes)).toBeGreaterThanOrEqual(1);
    expect(r.summary).toContain("unused index(es)");
  });

  it("stops reporting the index once it is used", async () => {
    await server.psql("SET enable_seqscan = off; SELECT count(*) FROM lookup WHERE code = '5';");
    await server.psql("SELECT pg_stat_force_next_flush()").catch(() => undefined);
    const r = await runPerformanceReport({}, { env });
    const report = (r.data?.databases as DatabaseReport[])[0]!;
    expect(report.unusedIndexes.map((i) => i.index)).not.toContain("public.lookup_code_idx");
  });
});

describe("Given a database whose size is checked", () => {
  it("reports database sizes and growth from a previous sample", async () => {
    const now = new Date();
    const first = await runCapacityCheck({ nodes: false, database: true }, { env, now: () => now });
    const sizes = (first.data?.sample as { databases: Record<string, number> }).databases;
    expect(sizes.postgres).toBeGreaterThan(1_000_000);
    const previous = [
      {
        time: new Date(now.getTime() - 86_400_000).toISOString(),
        databases: { postgres: sizes.postgres! - 1_000_000 },
      },
    ];
    const second = await runCapacityCheck(
      { nodes: false, connectionSecretRef: { name: "db" }, previousSamples: previous },
      { env, now: () => now },
    );
    const db = (
      second.data?.databases as { name: string; bytes: number; growthBytesPerDay?: number }[]
    ).find((d) => d.name === "postgres")!;
    expect(db.growthBytesPerDay).toBeGreaterThan(900_000);
    expect(db.growthBytesPerDay).toBeLessThan(1_200_000);
  });
});
