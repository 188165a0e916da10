// Timers beyond Node's limit, with the REAL clock: the operator process
// against the shared control plane. Node fires a setTimeout whose delay
// exceeds 2^31−1 ms (about 24.8 days) after 1 ms, so a requeue at a yearly
// slot, or a probe interval or timeout of years, turned into a hot loop (a
// reconcile and a Job LIST each millisecond) or a probe that "timed out" at
// once. The counts come from the operator's own /metrics.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextTime } from "../../src/schedule/index.ts";
import {
  createTestNamespace,
  installCrds,
  killOperators,
  startOperator,
  useSharedEnv,
  waitFor,
  type OperatorProcess,
} from "../env/index.ts";

const env = useSharedEnv();
const WINDOW_MS = 10_000;
/** Node's longest timer delay: 2^31−1 ms. */
const NODE_TIMER_LIMIT_MS = 2 ** 31 - 1;
/**
 * The longest interval (and timeout) the HealthCheck CRD admits, about 292
 * years: its CEL rules parse durations as Go's, which end at 2562047h47m.
 */
const LONGEST_DURATION = "999999h999999h562049h";
let ns: string;
let operator: OperatorProcess;
let http: Server;
let httpPort: number;

interface Obj {
  status?: { nextScheduleTime?: string; state?: string; message?: string };
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "timers");
  http = createServer((_req, res) => res.writeHead(200).end("ok"));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  httpPort = (http.address() as AddressInfo).port;
  operator = startOperator({
    name: `operator-timers-${ns}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    args: ["--leader-elect=false", "--namespaces", ns],
  });
  await operator.ready();
}, 120_000);

afterAll(async () => {
  await killOperators();
  await new Promise((resolve) => http?.close(resolve));
});

async function apply(object: object): Promise<void> {
  const file = join(env.runDir, `timers-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(object));
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

async function get(resource: string, name: string): Promise<Obj> {
  const r = await env.kubectl("get", resource, name, "-n", ns, "-o", "json");
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Obj;
}

/** The sum of a metric's samples whose labels include every given `key="value"`. */
async function metricSum(name: string, labels: Record<string, string>): Promise<number> {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return (await operator.text("/metrics"))
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

const reconciles = (controller: string) =>
  metricSum("pake_controller_reconcile_total", { controller });

/** Reconciles of the controller during WINDOW_MS of real time. */
async function reconcilesOver(controller: string): Promise<number> {
  const before = await reconciles(controller);
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  return (await reconciles(controller)) - before;
}

/** "@yearly" unless New Year is too close for the test's premise; then mid-year. */
function farSchedule(now: Date): string {
  const yearly = nextTime("0 0 1 1 *", "UTC", now)!;
  return yearly.getTime() - now.getTime() > NODE_TIMER_LIMIT_MS + WINDOW_MS
    ? "@yearly"
    : "0 0 1 7 *";
}

describe("Given the operator and a MaintenanceTask whose next run is more than 24.8 days away", () => {
  it("When it has been reconciled, then it waits for its slot: a handful of reconciles in 10 s, not hundreds", async () => {
    const now = new Date();
    const schedule = farSchedule(now);
    const next = nextTime(schedule === "@yearly" ? "0 0 1 1 *" : schedule, "UTC", now)!;
    expect(next.getTime() - now.getTime()).toBeGreaterThan(NODE_TIMER_LIMIT_MS);
    await apply({
      apiVersion: "pake.dev/v1alpha1",
      kind: "MaintenanceTask",
      metadata: { name: "yearly" },
      spec: { schedule, timeZone: "UTC", task: { logCleanup: { claimName: "logs" } } },
    });
    await waitFor(async () => !!(await get("maintenancetask", "yearly")).status?.nextScheduleTime, {
      what: "the task to be reconciled",
      process: operator.proc,
      timeoutMs: 30_000,
    });
    expect((await get("maintenancetask", "yearly")).status?.nextScheduleTime).toBe(
      next.toISOString().replace(".000Z", "Z"),
    );

    const count = await reconcilesOver("maintenancetask");

    expect(count).toBeLessThanOrEqual(5);
  }, 60_000);
});

const healthCheck = (name: string, target: Record<string, unknown>) => ({
  apiVersion: "pake.dev/v1alpha1",
  kind: "HealthCheck",
  metadata: { name },
  spec: { interval: LONGEST_DURATION, timeout: LONGEST_DURATION, target },
});

describe("Given the operator and HealthChecks with the longest interval and timeout the CRD admits", () => {
  it("When they have probed healthy targets (HTTP, PostgreSQL), then no probe timed out at once and the checks idle: no more probes and a handful of reconciles in 10 s", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "pg" },
      stringData: { uri: env.postgres.uri },
    });
    const checks = ["patient-http", "patient-pg"];
    await apply(healthCheck("patient-http", { http: { url: `http://127.0.0.1:${httpPort}/ok` } }));
    await apply(healthCheck("patient-pg", { postgres: { connectionSecretRef: { name: "pg" } } }));
    const probes = (name: string) =>
      metricSum("pake_healthcheck_probe_duration_seconds_count", { namespace: ns, name });
    const failures = (name: string) =>
      metricSum("pake_healthcheck_probe_failures_total", { namespace: ns, name });
    // The first probes come within the start spread (at most 30 s).
    await waitFor(async () => (await Promise.all(checks.map(probes))).every((n) => n >= 1), {
      what: "the first probes",
      process: operator.proc,
      timeoutMs: 45_000,
    });
    const probesBefore = await Promise.all(checks.map(probes));

    const count = await reconcilesOver("healthcheck");

    const probesAfter = await Promise.all(checks.map(probes));
    expect(await Promise.all(checks.map(failures))).toEqual([0, 0]);
    expect(probesAfter).toEqual(probesBefore);
    expect(count).toBeLessThanOrEqual(5);
    for (const name of checks) {
      await waitFor(async () => (await get("healthcheck", name)).status?.state === "Healthy", {
        what: `${name} to be Healthy`,
        process: operator.proc,
        timeoutMs: 10_000,
      });
    }
  }, 90_000);

  it.each([
    { interval: LONGEST_DURATION, admitted: true },
    { interval: "999999h999999h562050h", admitted: false },
  ])(
    "When an interval of $interval is applied, then the API server admits it: $admitted",
    async ({ interval, admitted }) => {
      const file = join(env.runDir, `timers-longest-${Date.now()}-${Math.random()}.json`);
      const check = healthCheck("longest", { http: { url: `http://127.0.0.1:${httpPort}/ok` } });
      writeFileSync(file, JSON.stringify({ ...check, spec: { ...check.spec, interval } }));
      const result = await env.kubectl("apply", "--dry-run=server", "-n", ns, "-f", file);
      expect({ admitted: result.code === 0, stderr: result.stderr }).toMatchObject({ admitted });
    },
  );
});
