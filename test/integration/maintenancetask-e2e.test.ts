// End to end with the real operator process: schedule → Job (real Job
// controller) → pod runner (plays the kubelet: runs `pake-operator run <task>`
// locally) → runner against real PostgreSQL, Redis and files → termination
// message → status. Also: a run past its timeout ends with DeadlineExceeded
// and its process is killed; run-now runs once per token, across a restart;
// a capacityCheck's sample is carried to the next run, which forecasts.
import { SecretKind } from "../../src/lib/kinds.ts";
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  utimesSync,
  writeFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { Redis as RedisClient } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  JobKind,
  TASK_CONFIG_ENV,
  TASK_LABEL,
  type Job,
} from "../../src/controllers/maintenancetask/index.ts";
import type { MaintenanceTaskStatus } from "../../src/crds/maintenancetask.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import {
  createTestNamespace,
  installCrds,
  startOperatorWithJobs,
  useSharedEnv,
  waitFor,
  type OperatorWithJobs,
} from "../env/index.ts";
import { startSilentServer, type SilentServer } from "./support/silent-server.ts";

const env = useSharedEnv();
let ns: string;
let jobs: OperatorWithJobs;
let client: KubeClient;
let logsDir: string;
let capacityDir: string;
let silent: SilentServer;

function secretCreate(name: string, data: Record<string, string>) {
  return client.create(SecretKind, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    stringData: data,
  });
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "mt-e2e");
  client = new KubeClient(env.kubeConfig());
  logsDir = mkdtempSync(join(env.runDir, "mt-logs-"));
  capacityDir = mkdtempSync(join(env.runDir, "mt-capacity-"));
  silent = await startSilentServer();
  const secret = secretCreate;
  await secret("pg", { uri: env.postgres.uri });
  await secret("redis", { url: env.redis.url });
  await secret("silent-redis", { url: `redis://127.0.0.1:${silent.port}` });
  jobs = await startOperatorWithJobs(env, {
    name: "operator-mt-e2e",
    namespace: ns,
    volumes: { logs: logsDir, capacity: capacityDir },
  });
});

afterAll(async () => {
  await jobs?.stop();
  silent?.close();
});

async function apply(
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
) {
  const file = join(env.runDir, `mt-${ns}-${name}-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "pake.dev/v1alpha1",
      kind: "MaintenanceTask",
      metadata: { name, ...(annotations ? { annotations } : {}) },
      spec,
    }),
  );
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

async function statusOf(name: string): Promise<MaintenanceTaskStatus> {
  const r = await env.kubectl("get", "maintenancetask", name, "-n", ns, "-o", "json");
  return (JSON.parse(r.stdout) as { status?: MaintenanceTaskStatus }).status ?? {};
}

async function waitForResult(
  name: string,
  timeoutMs: number,
  job?: string,
): Promise<MaintenanceTaskStatus> {
  let status: MaintenanceTaskStatus = {};
  await waitFor(
    async () => {
      status = await statusOf(name);
      const last = status.lastRun;
      return (
        last !== undefined && last.result !== "Running" && (job === undefined || last.job === job)
      );
    },
    { what: `a final result of ${name}`, process: jobs.operator.proc, timeoutMs },
  );
  return status;
}

/** Writes `mib` MiB to a new file, synced, so the filesystem's usage grows. */
function growBy(file: string, mib: number): void {
  const fd = openSync(file, "w");
  for (let i = 0; i < mib; i++) writeSync(fd, Buffer.alloc(1_048_576, i + 1));
  fsyncSync(fd);
  closeSync(fd);
}

/** The task config (PAKE_TASK_CONFIG) a Job gave its runner. */
async function taskConfigOf(job: string): Promise<unknown> {
  const j = await client.get<Job>(JobKind, { namespace: ns, name: job });
  const value = j.spec.template.spec.containers[0]?.env.find((e) => e.name === TASK_CONFIG_ENV);
  return JSON.parse(value?.value ?? "{}");
}

async function jobsOf(name: string): Promise<string[]> {
  const list = await client.list(JobKind, {
    namespace: ns,
    labelSelector: `${TASK_LABEL}=${name}`,
  });
  return list.items.map((j) => j.metadata.name!).sort();
}

describe("Given the operator, the pod runner, PostgreSQL, Redis and a log volume", () => {
  it("When logCleanup, cacheCleanup and databaseVacuum are due on * * * * *, then each runs as a Job and its result lands in status", async () => {
    const old = Date.now() / 1000 - 10 * 86400;
    for (const f of ["a.log", "b.log.1", "keep.txt"]) {
      writeFileSync(join(logsDir, f), "x".repeat(1000));
      utimesSync(join(logsDir, f), old, old);
    }
    writeFileSync(join(logsDir, "fresh.log"), "new");
    const redis = new RedisClient(env.redis.url);
    for (let i = 0; i < 25; i++) await redis.set(`mte2e:${i}`, "v");
    await redis.set("other:1", "v");
    const db = new pg.Client({ connectionString: env.postgres.uri });
    await db.connect();
    await db.query("CREATE TABLE IF NOT EXISTS mt_e2e (id int)");
    await db.query("INSERT INTO mt_e2e SELECT generate_series(1, 1000)");
    await db.end();

    await apply("logs", {
      schedule: "* * * * *",
      task: { logCleanup: { claimName: "logs", maxAge: "7d" } },
    });
    await apply("cache", {
      schedule: "* * * * *",
      task: { cacheCleanup: { urlSecretRef: { name: "redis", key: "url" }, pattern: "mte2e:*" } },
    });
    await apply("vacuum", {
      schedule: "* * * * *",
      task: { databaseVacuum: { connectionSecretRef: { name: "pg" }, tables: ["mt_e2e"] } },
    });

    const [logs, cache, vacuum] = await Promise.all([
      waitForResult("logs", 110_000),
      waitForResult("cache", 110_000),
      waitForResult("vacuum", 110_000),
    ]);

    expect(logs.lastRun).toMatchObject({ result: "Succeeded", trigger: "Schedule" });
    expect(logs.lastRun?.details).toMatchObject({ filesDeleted: "2" });
    expect(readdirSync(logsDir).sort()).toEqual(["fresh.log", "keep.txt"]);
    expect(cache.lastRun).toMatchObject({ result: "Succeeded" });
    expect(await redis.keys("mte2e:*")).toEqual([]);
    expect(await redis.get("other:1")).toBe("v");
    await redis.quit();
    expect(vacuum.lastRun).toMatchObject({ result: "Succeeded" });
    expect(vacuum.lastRun?.summary).toMatch(/mt_e2e|1 table/);
    for (const s of [logs, cache, vacuum]) {
      expect(s.lastScheduleTime).toBeDefined();
      expect(Date.parse(s.nextScheduleTime!)).toBeGreaterThan(Date.parse(s.lastScheduleTime!));
      expect(s.lastSuccessfulTime).toBeDefined();
      expect(s.history?.[0]?.job).toBe(s.lastRun?.job);
      expect(s.resolvedSchedule).toBe("* * * * *");
    }
    const wait = await env.kubectl(
      "wait",
      "-n",
      ns,
      "--for=condition=LastRunSucceeded",
      "--timeout=5s",
      "maintenancetask/logs",
      "maintenancetask/cache",
      "maintenancetask/vacuum",
    );
    expect(wait.code).toBe(0);
    // No secret value reaches status.
    expect(JSON.stringify(vacuum)).not.toContain(env.postgres.password);
  }, 150_000);

  it("When a run exceeds its timeout, then the Job fails with DeadlineExceeded, the run is TimedOut and its process is killed", async () => {
    await apply(
      "hangs",
      {
        schedule: "0 0 1 1 *",
        timeout: "10s",
        task: {
          cacheCleanup: { urlSecretRef: { name: "silent-redis", key: "url" }, pattern: "*" },
        },
      },
      { "pake.dev/run-now": "1" },
    );
    const status = await waitForResult("hangs", 45_000);
    expect(status.lastRun).toMatchObject({
      result: "TimedOut",
      details: { reason: "DeadlineExceeded" },
    });
    expect(status.lastRun?.summary).toContain("DeadlineExceeded");
    expect(status.conditions?.find((c) => c.type === "LastRunSucceeded")).toMatchObject({
      status: "False",
      reason: "DeadlineExceeded",
    });
    const run = jobs.runner.runs.find((r) => r.pod.startsWith(status.lastRun!.job));
    expect(run).toBeDefined();
    await waitFor(() => Promise.resolve(!run!.process.running), {
      what: "the runner process to be killed",
      timeoutMs: 10_000,
    });
  }, 60_000);

  it("When run-now tokens are set, then each distinct token runs once, also across an operator restart", async () => {
    await apply(
      "manual",
      { schedule: "0 3 * * 0", task: { logCleanup: { claimName: "logs", maxAge: "30d" } } },
      { "pake.dev/run-now": "first" },
    );
    const first = await waitForResult("manual", 30_000);
    expect(first.lastRun).toMatchObject({ result: "Succeeded", trigger: "RunNow" });
    expect(first.lastRunNowToken).toBe("first");
    expect(await jobsOf("manual")).toHaveLength(1);

    await jobs.restartOperator();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await jobsOf("manual")).toHaveLength(1);

    await env.kubectl(
      "annotate",
      "-n",
      ns,
      "--overwrite",
      "maintenancetask/manual",
      "pake.dev/run-now=second",
    );
    await waitFor(async () => (await statusOf("manual")).lastRunNowToken === "second", {
      what: "token second",
      process: jobs.operator.proc,
      timeoutMs: 20_000,
    });
    const second = await waitForResult("manual", 30_000, (await statusOf("manual")).lastRun?.job);
    expect(second.lastRun).toMatchObject({ result: "Succeeded", trigger: "RunNow" });
    expect(second.lastRun?.job).not.toBe(first.lastRun?.job);
    expect(await jobsOf("manual")).toHaveLength(2);
    expect(jobs.runner.runs.filter((r) => r.pod.startsWith("manual-"))).toHaveLength(2);
  }, 90_000);

  it("When runs fail and succeed beyond the history limits, then failures carry BackoffLimitExceeded and the runner's error, and old Jobs are pruned", async () => {
    await secretCreate("broken-pg", { uri: "postgresql://nobody:wrong@127.0.0.1:1/none" });
    await apply(
      "limits",
      {
        schedule: "0 3 * * 0",
        successfulRunsHistoryLimit: 1,
        failedRunsHistoryLimit: 1,
        task: { databaseVacuum: { connectionSecretRef: { name: "broken-pg" } } },
      },
      { "pake.dev/run-now": "fail-1" },
    );
    const failed = await waitForResult("limits", 40_000);
    expect(failed.lastRun).toMatchObject({
      result: "Failed",
      details: { reason: "BackoffLimitExceeded" },
    });
    expect(failed.lastRun?.summary).toMatch(/BackoffLimitExceeded.*;/);
    expect(JSON.stringify(failed)).not.toContain("wrong@");

    for (const token of ["ok-1", "ok-2"]) {
      await apply(
        "limits",
        {
          schedule: "0 3 * * 0",
          successfulRunsHistoryLimit: 1,
          failedRunsHistoryLimit: 1,
          task: { logCleanup: { claimName: "logs", maxAge: "30d" } },
        },
        { "pake.dev/run-now": token },
      );
      await waitFor(async () => (await statusOf("limits")).lastRunNowToken === token, {
        what: `token ${token}`,
        process: jobs.operator.proc,
        timeoutMs: 20_000,
      });
      await waitForResult("limits", 40_000, (await statusOf("limits")).lastRun?.job);
    }
    await waitFor(async () => (await jobsOf("limits")).length === 2, {
      what: "pruning to one successful and one failed Job",
      process: jobs.operator.proc,
      timeoutMs: 20_000,
    });
    const status = await statusOf("limits");
    expect(status.history?.map((h) => h.result)).toEqual(["Succeeded", "Failed"]);
    expect((await jobsOf("limits")).sort()).toEqual(
      [status.history![0]!.job, status.history![1]!.job].sort(),
    );
  }, 120_000);

  it("When capacityCheck runs twice while its volume grows, then the second run gets the first's sample and forecasts days until full", async () => {
    const spec = {
      schedule: "0 3 * * 0",
      task: { capacityCheck: { persistentVolumeClaims: ["capacity"], nodes: false } },
    };
    await apply("capacity", spec, { "pake.dev/run-now": "c1" });
    const first = await waitForResult("capacity", 40_000);
    expect(first.lastRun).toMatchObject({ result: "Succeeded", trigger: "RunNow" });
    expect(first.capacitySamples).toHaveLength(1);
    const firstSample = first.capacitySamples![0]!;
    expect(firstSample.volumes?.capacity).toBeGreaterThan(0);
    expect(first.lastRun?.details?.fullestVolumeDaysUntilFull).toBeUndefined();

    // The volume is a directory on the test machine's filesystem, whose usage
    // other test files change too (data directories come and go): grow it by
    // far more than they free at once.
    growBy(join(capacityDir, "growth.bin"), 512);

    await apply("capacity", spec, { "pake.dev/run-now": "c2" });
    await waitFor(async () => (await statusOf("capacity")).lastRunNowToken === "c2", {
      what: "token c2",
      process: jobs.operator.proc,
      timeoutMs: 20_000,
    });
    const second = await waitForResult(
      "capacity",
      40_000,
      (await statusOf("capacity")).lastRun?.job,
    );
    expect(second.lastRun).toMatchObject({ result: "Succeeded", trigger: "RunNow" });
    expect(second.lastRun?.job).not.toBe(first.lastRun?.job);

    // The second Job's config carried the first run's sample.
    const config = (await taskConfigOf(second.lastRun!.job)) as { previousSamples?: unknown[] };
    expect(config.previousSamples).toEqual([firstSample]);

    // Status holds both samples, oldest first; the second measured more.
    expect(second.capacitySamples).toHaveLength(2);
    expect(second.capacitySamples![0]).toEqual(firstSample);
    const secondSample = second.capacitySamples![1]!;
    expect(Date.parse(secondSample.time)).toBeGreaterThan(Date.parse(firstSample.time));
    expect(secondSample.volumes!.capacity!).toBeGreaterThan(firstSample.volumes!.capacity!);

    // Growth from the two samples → a days-until-full forecast in the run's result.
    const days = Number(second.lastRun?.details?.fullestVolumeDaysUntilFull);
    expect(Number.isFinite(days)).toBe(true);
    expect(days).toBeGreaterThanOrEqual(0);
    expect(second.lastRun?.details).toMatchObject({ fullestVolume: "capacity" });
    rmSync(join(capacityDir, "growth.bin"));
  }, 120_000);
});
