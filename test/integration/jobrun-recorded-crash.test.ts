// Issue 11: a crash between a MaintenanceTask's status write and the pruning
// of its old Jobs must not record an older run a second time once a newer run
// moved it out of status history (a second RunSucceeded Event, a second
// history entry or Incident occurrence). The mark jobrun sets on a Job once
// status holds its outcome (pake.dev/recorded, jobrun/recorded.ts) says so.
// Real control plane, real PostgreSQL (databaseVacuum) and the operator
// process with the pod runner; the operator SIGKILLs itself at the crash
// point (PAKE_CRASH_AT) and is restarted without it.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobRunCrashPoint } from "../../src/controllers/jobrun/crash-points.ts";
import { TASK_LABEL } from "../../src/controllers/maintenancetask/index.ts";
import { JobKind } from "../../src/lib/kinds.ts";
import { CRASH_AT_ENV } from "../../src/runtime/crash-points.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import {
  createTestNamespace,
  createUriSecret,
  databaseUri,
  installCrds,
  sqlOn,
  startOperatorWithJobs,
  useSharedEnv,
  waitFor,
  type OperatorWithJobs,
} from "../env/index.ts";
import { eventsWith } from "./support/events.ts";

const env = useSharedEnv();
let ns: string;
let database: string;
let client: KubeClient;
let jobs: OperatorWithJobs;

interface Task {
  status?: {
    lastRunNowToken?: string;
    lastRun?: { job: string; result: string };
    history?: { job: string; result: string }[];
  };
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "jobrun-crash");
  database = `recorded_${ns.replace(/-/g, "_")}`;
  await sqlOn(env, env.postgres.database, `CREATE DATABASE ${database}`);
  client = new KubeClient(env.kubeConfig());
  await createUriSecret(client, { namespace: ns, name: "pg" }, databaseUri(env, database));
  jobs = await startOperatorWithJobs(env, {
    name: "operator-jobrun-crash",
    namespace: ns,
    volumes: {},
  });
}, 120_000);

afterAll(async () => {
  await jobs?.stop();
});

async function applyTask(token: string): Promise<void> {
  const file = join(env.runDir, `jobrun-crash-${token}-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "pake.dev/v1alpha1",
      kind: "MaintenanceTask",
      metadata: { name: "vacuum", annotations: { "pake.dev/run-now": token } },
      spec: {
        schedule: "0 0 1 1 *",
        successfulRunsHistoryLimit: 1,
        task: { databaseVacuum: { connectionSecretRef: { name: "pg" }, databases: [database] } },
      },
    }),
  );
  const r = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(r.stderr).toBe("");
}

async function task(): Promise<Task> {
  const r = await env.kubectl("get", "maintenancetask", "vacuum", "-n", ns, "-o", "json");
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Task;
}

async function jobNames(): Promise<string[]> {
  const list = await client.list<KubeObject>(JobKind, {
    namespace: ns,
    labelSelector: `${TASK_LABEL}=vacuum`,
  });
  return list.items.filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name!);
}

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  await waitFor(ok, { what, process: jobs.operator.proc, timeoutMs: 90_000, intervalMs: 250 });
}

const succeeded = (token: string) => async () => {
  const t = await task();
  return t.status?.lastRunNowToken === token && t.status.lastRun?.result === "Succeeded";
};

/** How many times a RunSucceeded Event was recorded for `job` (aggregated Events count). */
async function successEvents(job: string): Promise<number> {
  const events = await eventsWith(env, ns, "vacuum", "RunSucceeded");
  return events
    .filter((e) => e.message?.startsWith(`${job}:`))
    .reduce((sum, e) => sum + (e.count ?? 1), 0);
}

describe("Given a task keeping one successful run, and an operator killed after the status write that moved the older run out of history and before pruning its Job", () => {
  it("When the restarted operator reconciles, then the older run is not recorded again and its Job is pruned", async () => {
    await applyTask("first");
    await until("the first run to succeed", succeeded("first"));
    const first = (await task()).status!.lastRun!.job;
    expect(await successEvents(first)).toBe(1);

    await jobs.restartOperator({ [CRASH_AT_ENV]: JobRunCrashPoint.BeforePrune });
    await applyTask("second");
    const crashing = jobs.operator;
    await waitFor(() => Promise.resolve(!crashing.proc.running), {
      what: "the operator to crash before pruning",
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    const recorded = await task();
    expect(recorded.status?.lastRun?.result).toBe("Succeeded");
    const second = recorded.status!.lastRun!.job;
    expect(recorded.status?.history?.map((h) => h.job)).toEqual([second]);
    expect(await jobNames()).toContain(first);

    await jobs.restartOperator();
    await until(
      "the first run's Job to be pruned",
      async () => !(await jobNames()).includes(first),
    );

    expect(await successEvents(first)).toBe(1);
    expect(await successEvents(second)).toBe(1);
    expect((await task()).status?.history?.map((h) => h.job)).toEqual([second]);
  }, 300_000);
});
