// performanceReport copies the slowest statements' texts into the Job's
// termination message; a statement that sets a password must not carry it
// there. Real PostgreSQL with pg_stat_statements (preloaded by test/env).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type Postgres } from "../env/index.ts";
import { runPerformanceReport, type DatabaseReport } from "../../src/tasks/index.ts";

const CANARY = "canary-pw-7f3a";
let server: Postgres;

beforeAll(async () => {
  server = await startPostgres();
  await server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  await server.psql("SELECT pg_stat_statements_reset()");
  await server.psql(`CREATE ROLE reporter LOGIN PASSWORD '${CANARY}'`);
  await server.psql(`ALTER ROLE reporter PASSWORD '${CANARY}'`);
  await server.psql(`CREATE USER auditor WITH ENCRYPTED PASSWORD '${CANARY}'`);
});

afterAll(async () => {
  await server.destroy();
});

describe("Given statements that set passwords in pg_stat_statements", () => {
  it("When performanceReport lists the slowest statements, then no password reaches its result", async () => {
    const seen = await server.psql("SELECT query FROM pg_stat_statements");
    const r = await runPerformanceReport({ topN: 100 }, { env: server.libpqEnv });
    expect(r.result).toBe("Succeeded");
    const statements = (r.data?.databases as DatabaseReport[])[0]!.slowStatements ?? [];
    expect(statements.length).toBeGreaterThan(0);
    expect(seen).toContain(CANARY);
    expect(JSON.stringify(r)).not.toContain(CANARY);
  });
});
