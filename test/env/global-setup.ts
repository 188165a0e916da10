// Vitest global setup for the integration project: starts the shared control
// plane, PostgreSQL and Redis once per run, hands their coordinates to the
// test files (inject("pakeEnv")), and on teardown stops them and kills, by
// recorded PID, anything a crashed or timed-out worker left behind. Before it
// stops them it runs the secret canary scan (test/env/canary.ts) unless the
// canary test already did, and fails the run on a hit.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { canaryValue, teardownCanaryScan } from "./canary.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import { startPostgres, type Postgres } from "./postgres.ts";
import { sweepRecordedPids } from "./processes.ts";
import { startRedis, type Redis } from "./redis.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = mkdtempSync(join(tmpdir(), "pake-test-"));
  chmodSync(runDir, 0o755); // PostgreSQL runs as another user and must reach its directory
  process.env.PAKE_TEST_RUN_DIR = runDir;
  // Start all three at once; if one fails, stop the others before failing.
  const cleanups: Array<() => Promise<void>> = [];
  const track = async <T>(starting: Promise<T>, stop: (part: T) => Promise<void>): Promise<T> => {
    const part = await starting;
    cleanups.push(() => stop(part));
    return part;
  };
  const started = await Promise.allSettled([
    track(startControlPlane(), (cp) => cp.stop()),
    track(startPostgres(), (pg) => pg.destroy()),
    // A secret canary as the password: every Secret with its URL carries the marker.
    track(startRedis({ password: canaryValue() }), (redis) => redis.destroy()),
  ]);
  const failure = started.find((s) => s.status === "rejected");
  if (failure) {
    await Promise.allSettled(cleanups.map((stop) => stop()));
    throw failure.reason;
  }
  const [cp, pg, redis] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
    ControlPlane,
    Postgres,
    Redis,
  ];
  project.provide("pakeEnv", {
    runDir,
    kubeconfigPath: cp.kubeconfigPath,
    server: cp.server,
    pkiDir: cp.access.pkiDir,
    version: cp.version,
    postgres: {
      host: pg.host,
      port: pg.port,
      user: pg.user,
      password: pg.password,
      database: pg.database,
      uri: pg.uri,
    },
    redis: { host: redis.host, port: redis.port, url: redis.url },
  });
  // For the secret canary test (test/canary/), which runs after every integration file.
  process.env.PAKE_TEST_KUBECONFIG = cp.kubeconfigPath;
  return async () => {
    const canaryFailure = await teardownCanaryScan(runDir, cp.kubeconfigPath);
    await Promise.allSettled(cleanups.map((stop) => stop()));
    const leftovers = sweepRecordedPids(runDir);
    if (leftovers.length > 0) console.warn(`Killed leftover processes: ${leftovers.join(", ")}`);
    if (!process.env.PAKE_KEEP_TEST_DIRS) rmSync(runDir, { recursive: true, force: true });
    if (canaryFailure) throw new Error(canaryFailure);
  };
}
