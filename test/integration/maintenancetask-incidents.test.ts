// MaintenanceTasks and Incidents, end to end with the real operator process,
// the pod runner (plays the kubelet for the operator's Jobs) and a private
// PostgreSQL the test stops:
//   - maintenance-aware suppression: while a run of a task with
//     suppressIncidentsFor: [postgres] is active, the Critical `postgres`
//     HealthCheck opens no Incident, its status and one Event name the run;
//     once the run ends, the still-failing check opens its Incident;
//   - a run that fails (here: times out) opens one Incident for the task, the
//     next successful run resolves it;
//   - a run that succeeds with a critical finding (capacityCheck over its
//     critical disk threshold) opens one too.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IncidentLabel } from "../../src/crds/incident.ts";
import {
  createTestNamespace,
  installCrds,
  startOperatorWithJobs,
  startPostgres,
  useSharedEnv,
  waitFor,
  type OperatorWithJobs,
  type Postgres,
} from "../env/index.ts";
import { eventsWith } from "./support/events.ts";
import { startSilentServer, type SilentServer } from "./support/silent-server.ts";

const env = useSharedEnv();
let ns: string;
let jobs: OperatorWithJobs;
let privatePg: Postgres;
let silent: SilentServer;

interface Obj {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & {
    resolved?: boolean;
    severity?: string;
    title?: string;
    source?: { kind: string; name: string };
  };
  status?: Record<string, unknown> & {
    state?: string;
    suppressedBy?: string;
    incidentRef?: { name: string };
    occurrences?: number;
    active?: { job: string }[];
    lastRun?: { job: string; result: string };
    lastRunNowToken?: string;
  };
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "mt-inc");
  privatePg = await startPostgres();
  // A Redis that accepts connections and never answers: a cacheCleanup run
  // against it stays active until its timeout.
  silent = await startSilentServer();
  await apply(secret("pg-private", { uri: privatePg.uri }));
  await apply(secret("silent-redis", { url: `redis://127.0.0.1:${silent.port}` }));
  await apply(secret("redis", { url: env.redis.url }));
  jobs = await startOperatorWithJobs(env, {
    name: "operator-mt-inc",
    namespace: ns,
    volumes: { capacity: mkdtempSync(join(env.runDir, "mt-inc-capacity-")) },
    operatorEnv: { PAKE_HEALTHCHECK_STATUS_INTERVAL: "2s" },
  });
}, 120_000);

afterAll(async () => {
  await jobs?.stop();
  await privatePg?.destroy();
  silent?.close();
});

function secret(name: string, data: Record<string, string>) {
  return { apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: data };
}

async function apply(object: object): Promise<void> {
  const file = join(env.runDir, `mt-inc-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(object));
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

const task = (name: string, spec: Record<string, unknown>, token: string) => ({
  apiVersion: "pake.dev/v1alpha1",
  kind: "MaintenanceTask",
  metadata: { name, annotations: { "pake.dev/run-now": token } },
  spec: { schedule: "0 0 1 1 *", ...spec },
});

async function get(resource: string, name: string): Promise<Obj> {
  const r = await env.kubectl("get", resource, name, "-n", ns, "-o", "json");
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Obj;
}

/** The Incidents a source opened (by the source API's labels). */
async function incidentsOf(kind: string, name: string): Promise<Obj[]> {
  const r = await env.kubectl("get", "incidents", "-n", ns, "-o", "json");
  return (JSON.parse(r.stdout) as { items: Obj[] }).items.filter(
    (i) =>
      i.metadata.labels?.[IncidentLabel.SourceKind] === kind &&
      i.metadata.labels?.[IncidentLabel.SourceName] === name,
  );
}

const eventsOf = (name: string, reason: string) => eventsWith(env, ns, name, reason);

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  let value: T | undefined;
  await waitFor(
    async () => {
      value = await read();
      return ok(value);
    },
    { what, process: jobs.operator.proc, timeoutMs },
  );
  return value!;
}

/** The final result of the task's run with this run-now token. */
async function finishedRun(name: string, token: string, timeoutMs: number): Promise<Obj> {
  return until(
    `${name}'s run ${token} to finish`,
    () => get("maintenancetask", name),
    (t) =>
      t.status?.lastRunNowToken === token &&
      !!t.status.lastRun &&
      t.status.lastRun.result !== "Running",
    timeoutMs,
  );
}

describe("Given a HealthCheck of a private PostgreSQL and a MaintenanceTask that suppresses its Incidents", () => {
  let job = "";

  it("When PostgreSQL stops during the task's run, then the check is Critical but opens no Incident, and status and one Event name the run", async () => {
    await apply({
      apiVersion: "pake.dev/v1alpha1",
      kind: "HealthCheck",
      metadata: { name: "postgres" },
      spec: {
        interval: "1s",
        timeout: "800ms",
        failureThreshold: 2,
        successThreshold: 1,
        target: { postgres: { connectionSecretRef: { name: "pg-private" } } },
        incident: { enabled: true, severity: "critical", autoResolve: true },
      },
    });
    await until(
      "postgres to be Healthy",
      () => get("healthcheck", "postgres"),
      (h) => h.status?.state === "Healthy",
    );
    await apply(
      task(
        "upgrade",
        {
          timeout: "25s",
          suppressIncidentsFor: ["postgres"],
          task: {
            cacheCleanup: { urlSecretRef: { name: "silent-redis", key: "url" }, pattern: "*" },
          },
        },
        "u1",
      ),
    );
    const running = await until(
      "the upgrade run to be active",
      () => get("maintenancetask", "upgrade"),
      (t) => (t.status?.active ?? []).length > 0,
    );
    job = running.status!.active![0]!.job;

    await privatePg.stop();
    const suppressed = await until(
      "postgres to be Critical and suppressed",
      () => get("healthcheck", "postgres"),
      (h) => h.status?.state === "Critical" && h.status.suppressedBy !== undefined,
    );
    expect(suppressed.status?.suppressedBy).toBe(`MaintenanceTask upgrade (Job ${job})`);
    expect(suppressed.status?.incidentRef).toBeUndefined();

    // Several probes and status refreshes later: still no Incident, one Event.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await get("maintenancetask", "upgrade")).status?.active?.[0]?.job).toBe(job);
    expect(await incidentsOf("HealthCheck", "postgres")).toEqual([]);
    const events = await eventsOf("postgres", "IncidentSuppressed");
    expect(events).toHaveLength(1);
    expect(events[0]!.count ?? 1).toBe(1);
    expect(events[0]!.message).toContain(`MaintenanceTask upgrade (Job ${job})`);
    expect(events[0]!.message).not.toContain(privatePg.password);
  }, 90_000);

  it("When the run ends (timed out) while PostgreSQL is still down, then the check opens its Incident and the task opens one for its failed run", async () => {
    const ended = await finishedRun("upgrade", "u1", 60_000);
    expect(ended.status?.lastRun).toMatchObject({ job, result: "TimedOut" });

    const [opened] = await until(
      "the postgres Incident",
      () => incidentsOf("HealthCheck", "postgres"),
      (list) => list.length > 0,
      20_000,
    );
    expect(opened!.spec).toMatchObject({ severity: "critical", resolved: false });
    const check = await until(
      "postgres to name its Incident and drop suppressedBy",
      () => get("healthcheck", "postgres"),
      (h) =>
        h.status?.incidentRef?.name === opened!.metadata.name &&
        h.status.suppressedBy === undefined,
      20_000,
    );
    expect(check.status?.state).toBe("Critical");
    expect(await incidentsOf("HealthCheck", "postgres")).toHaveLength(1);

    const [failure, ...more] = await until(
      "the upgrade task's Incident",
      () => incidentsOf("MaintenanceTask", "upgrade"),
      (list) => list.length > 0,
      20_000,
    );
    expect(more).toEqual([]);
    expect(failure!.spec).toMatchObject({
      severity: "high",
      resolved: false,
      source: { kind: "MaintenanceTask", name: "upgrade" },
    });
    expect(failure!.spec.title).toBe(`MaintenanceTask upgrade: run ${job} timed out`);
    expect(failure!.metadata.labels?.[IncidentLabel.SourceUid]).toBe(
      (await get("maintenancetask", "upgrade")).metadata.uid,
    );
  }, 90_000);

  it("When the task's next run succeeds, then its Incident is resolved and no other opens", async () => {
    await apply(
      task(
        "upgrade",
        {
          timeout: "25s",
          suppressIncidentsFor: ["postgres"],
          task: {
            cacheCleanup: { urlSecretRef: { name: "redis", key: "url" }, pattern: "mt-inc-none:*" },
          },
        },
        "u2",
      ),
    );
    const done = await finishedRun("upgrade", "u2", 60_000);
    expect(done.status?.lastRun?.result).toBe("Succeeded");
    const list = await until(
      "the upgrade task's Incident resolved",
      () => incidentsOf("MaintenanceTask", "upgrade"),
      (l) => l.every((i) => i.spec.resolved === true),
      20_000,
    );
    expect(list).toHaveLength(1);
    // The HealthCheck's Incident is not the task's to resolve.
    expect((await incidentsOf("HealthCheck", "postgres"))[0]?.spec.resolved).toBe(false);
  }, 90_000);
});

describe("Given a capacityCheck whose disk threshold the volume is over", () => {
  it("When its run succeeds with a critical finding, then the task opens an Incident of its configured severity", async () => {
    await apply(
      task(
        "capacity",
        {
          incident: { severity: "medium" },
          task: {
            capacityCheck: {
              persistentVolumeClaims: ["capacity"],
              nodes: false,
              thresholds: [{ metric: "diskPercent", warning: 0, critical: 0.01 }],
            },
          },
        },
        "c1",
      ),
    );
    const done = await finishedRun("capacity", "c1", 60_000);
    expect(done.status?.lastRun).toMatchObject({ result: "Succeeded" });
    const [incident, ...more] = await until(
      "the capacity task's Incident",
      () => incidentsOf("MaintenanceTask", "capacity"),
      (l) => l.length > 0,
      20_000,
    );
    expect(more).toEqual([]);
    expect(incident!.spec).toMatchObject({ severity: "medium", resolved: false });
    expect(incident!.spec.title).toBe(
      `MaintenanceTask capacity: run ${done.status!.lastRun!.job} reported a critical finding`,
    );
    expect(String(incident!.spec.description)).toContain("capacity critical");
  }, 90_000);

  it("When a task's incident policy is disabled, then its failed run opens none", async () => {
    await apply(
      task(
        "quiet",
        {
          timeout: "10s",
          incident: { enabled: false },
          task: {
            cacheCleanup: { urlSecretRef: { name: "silent-redis", key: "url" }, pattern: "*" },
          },
        },
        "q1",
      ),
    );
    const done = await finishedRun("quiet", "q1", 60_000);
    expect(done.status?.lastRun?.result).toBe("TimedOut");
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await incidentsOf("MaintenanceTask", "quiet")).toEqual([]);
  }, 90_000);
});
