// Incident sources converge after a crash, on the real control plane, the
// real PostgreSQL (databaseVacuum, pg_dump) and the operator process with
// the pod runner. The operator SIGKILLs itself at a crash point
// (PAKE_CRASH_AT, runtime/crash-points.ts) and is restarted without it:
//   - MaintenanceTask: after the status write that records a failed run and
//     before the source API call → after the restart exactly one Incident is
//     open and status.incidentRef names it; after the write that records the
//     recovery and before the resolve → after the restart it is resolved and
//     incidentRef cleared; after the open and before incidentRef is written →
//     the same Incident is named, its occurrence counted once;
//   - a person resolves the Incident while the task still fails: the safety
//     net of a restarted operator does not re-open it; the next failed run
//     opens a new one;
//   - a capacityCheck's critical finding, kept in the run record
//     (details.severity), opens its Incident after the same crash;
//   - BackupPolicy: the same two crashes around a failed and a successful
//     backup (crash point backup-recorded).
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CrashPoint as PolicyCrashPoint } from "../../src/controllers/backuppolicy/crash-points.ts";
import { CrashPoint as TaskCrashPoint } from "../../src/controllers/maintenancetask/crash-points.ts";
import { IncidentLabel } from "../../src/crds/incident.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import { CRASH_AT_ENV } from "../../src/runtime/crash-points.ts";
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

const env = useSharedEnv();
let ns: string;
let database: string;
let jobs: OperatorWithJobs;

interface Incident {
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { resolved?: boolean; title?: string; severity?: string };
  status?: { occurrences?: number };
}

interface Source {
  metadata: { name: string };
  status?: {
    incidentRef?: { name: string };
    lastRunNowToken?: string;
    lastRun?: { job: string; result: string };
    active?: unknown[];
    lastBackup?: { job?: string; result: string };
  };
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "inc-crash");
  database = `crash_${ns.replace(/-/g, "_")}`;
  await sqlOn(env, env.postgres.database, `CREATE DATABASE ${database}`);
  await sqlOn(env, database, "CREATE TABLE notes (id int PRIMARY KEY, body text)");
  const client = new KubeClient(env.kubeConfig());
  await createUriSecret(client, { namespace: ns, name: "pg" }, databaseUri(env, database));
  const volume = mkdtempSync(join(env.runDir, "inc-crash-volume-"));
  jobs = await startOperatorWithJobs(env, {
    name: "operator-inc-crash",
    namespace: ns,
    volumes: { backups: volume, capacity: mkdtempSync(join(env.runDir, "inc-crash-capacity-")) },
  });
}, 120_000);

afterAll(async () => {
  await jobs?.stop();
});

async function apply(object: object): Promise<void> {
  const file = join(env.runDir, `inc-crash-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(object));
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

async function get<T>(resource: string, name: string): Promise<T> {
  const r = await env.kubectl("get", resource, name, "-n", ns, "-o", "json");
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** Every Incident a source opened (by the source API's labels), oldest first. */
async function incidentsOf(kind: string, name: string): Promise<Incident[]> {
  const r = await env.kubectl("get", "incidents", "-n", ns, "-o", "json");
  return (
    JSON.parse(r.stdout) as { items: (Incident & { metadata: { creationTimestamp: string } })[] }
  ).items
    .filter(
      (i) =>
        i.metadata.labels?.[IncidentLabel.SourceKind] === kind &&
        i.metadata.labels?.[IncidentLabel.SourceName] === name,
    )
    .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
}

const open = (list: Incident[]): Incident[] => list.filter((i) => i.spec.resolved !== true);

/** Restarts the operator so that it kills itself at `point`. */
async function crashingAt(point: string): Promise<void> {
  await jobs.restartOperator({ [CRASH_AT_ENV]: point });
}

async function crashed(what: string): Promise<void> {
  const crashing = jobs.operator;
  await waitFor(() => Promise.resolve(!crashing.proc.running), {
    what: `the operator to crash ${what}`,
    timeoutMs: 90_000,
    intervalMs: 250,
  });
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let value: T | undefined;
  await waitFor(
    async () => {
      value = await read();
      return ok(value);
    },
    { what, process: jobs.operator.proc, timeoutMs: 60_000, intervalMs: 250 },
  );
  return value!;
}

/** The operator's reconciles of one controller since it started. */
async function reconciles(controller: string): Promise<number> {
  const text = await jobs.operator.text("/metrics");
  return text
    .split("\n")
    .filter((l) => l.startsWith(`pake_controller_reconcile_total{controller="${controller}"`))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

describe("Given a MaintenanceTask whose run fails, and an operator killed between its steps", () => {
  const task = (token: string, databases: string[]) => ({
    apiVersion: "pake.dev/v1alpha1",
    kind: "MaintenanceTask",
    metadata: { name: "vacuum", annotations: { "pake.dev/run-now": token } },
    spec: {
      schedule: "0 0 1 1 *",
      task: { databaseVacuum: { connectionSecretRef: { name: "pg" }, databases } },
    },
  });
  const failing = (token: string) => task(token, ["no_such_db"]);
  const healthy = (token: string) => task(token, [database]);
  const statusOf = () => get<Source>("maintenancetask", "vacuum");
  const finished = (token: string) => (t: Source) =>
    t.status?.lastRunNowToken === token &&
    t.status.lastRun !== undefined &&
    t.status.lastRun.result !== "Running";

  it("When it dies after the status write that records the failed run and before the source API call, then after a restart exactly one Incident is open and status names it", async () => {
    await crashingAt(TaskCrashPoint.RunRecorded);
    await apply(failing("f1"));
    await crashed("after recording the failed run");
    const recorded = await statusOf();
    expect(recorded.status?.lastRun?.result).toBe("Failed");
    expect(recorded.status?.incidentRef).toBeUndefined();
    expect(await incidentsOf("MaintenanceTask", "vacuum")).toEqual([]);

    await jobs.restartOperator();
    const named = await until("incidentRef", statusOf, (t) => !!t.status?.incidentRef);
    const list = await incidentsOf("MaintenanceTask", "vacuum");
    expect(list).toHaveLength(1);
    expect(list[0]!.metadata.name).toBe(named.status!.incidentRef!.name);
    expect(list[0]!.spec).toMatchObject({
      resolved: false,
      severity: "high",
      title: `MaintenanceTask vacuum: run ${recorded.status!.lastRun!.job} failed`,
    });
    expect(list[0]!.status?.occurrences).toBe(1);
  }, 180_000);

  it("When it dies after the status write that records the recovery and before the resolve, then after a restart the Incident is resolved and incidentRef cleared", async () => {
    const [incident] = await incidentsOf("MaintenanceTask", "vacuum");
    await crashingAt(TaskCrashPoint.RunRecorded);
    await apply(healthy("s1"));
    await crashed("after recording the successful run");
    const recorded = await statusOf();
    expect(finished("s1")(recorded)).toBe(true);
    expect(recorded.status?.lastRun?.result).toBe("Succeeded");
    expect(recorded.status?.incidentRef?.name).toBe(incident!.metadata.name);
    expect(open(await incidentsOf("MaintenanceTask", "vacuum"))).toHaveLength(1);

    await jobs.restartOperator();
    await until("incidentRef to be cleared", statusOf, (t) => t.status?.incidentRef === undefined);
    const list = await incidentsOf("MaintenanceTask", "vacuum");
    expect(list).toHaveLength(1);
    expect(list[0]!.spec.resolved).toBe(true);
    expect(list[0]!.metadata.annotations?.["pake.dev/actor"]).toBe("MaintenanceTask/vacuum");
  }, 180_000);

  it("When it dies after opening the Incident and before writing incidentRef, then after a restart status names that Incident and its occurrence is counted once", async () => {
    await crashingAt(TaskCrashPoint.IncidentChanged);
    await apply(failing("f2"));
    await crashed("after opening the Incident");
    expect((await statusOf()).status?.incidentRef).toBeUndefined();
    const [opened, ...more] = open(await incidentsOf("MaintenanceTask", "vacuum"));
    expect(more).toEqual([]);
    expect(opened!.status?.occurrences).toBe(1);

    await jobs.restartOperator();
    await until(
      "incidentRef",
      statusOf,
      (t) => t.status?.incidentRef?.name === opened!.metadata.name,
    );
    const now = open(await incidentsOf("MaintenanceTask", "vacuum"));
    expect(now.map((i) => i.metadata.name)).toEqual([opened!.metadata.name]);
    expect(now[0]!.status?.occurrences).toBe(1);
    expect(await incidentsOf("MaintenanceTask", "vacuum")).toHaveLength(2);
  }, 180_000);

  it("When a person resolves the Incident while the task still fails, then a restarted operator does not re-open it, and the next failed run opens a new one", async () => {
    const { name } = (await statusOf()).status!.incidentRef!;
    const patched = await env.kubectl(
      "patch",
      "incident",
      name,
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"resolved":true}}',
    );
    expect(patched.code).toBe(0);

    await jobs.restartOperator();
    await until(
      "the task to be reconciled",
      () => reconciles("maintenancetask"),
      (n) => n > 0,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect(open(await incidentsOf("MaintenanceTask", "vacuum"))).toEqual([]);
    expect(await incidentsOf("MaintenanceTask", "vacuum")).toHaveLength(2);
    expect((await statusOf()).status?.incidentRef?.name).toBe(name);

    await apply(failing("f3"));
    const next = await until(
      "a new Incident named in status",
      statusOf,
      (t) => finished("f3")(t) && !!t.status?.incidentRef && t.status.incidentRef.name !== name,
    );
    const reopened = open(await incidentsOf("MaintenanceTask", "vacuum"));
    expect(reopened.map((i) => i.metadata.name)).toEqual([next.status!.incidentRef!.name]);
    expect(await incidentsOf("MaintenanceTask", "vacuum")).toHaveLength(3);
  }, 180_000);
});

describe("Given a capacityCheck over its critical threshold, and an operator killed after recording its run", () => {
  it("When it restarts, then the critical finding kept in the run record opens the Incident", async () => {
    await crashingAt(TaskCrashPoint.RunRecorded);
    await apply({
      apiVersion: "pake.dev/v1alpha1",
      kind: "MaintenanceTask",
      metadata: { name: "capacity", annotations: { "pake.dev/run-now": "c1" } },
      spec: {
        schedule: "0 0 1 1 *",
        task: {
          capacityCheck: {
            persistentVolumeClaims: ["capacity"],
            nodes: false,
            thresholds: [{ metric: "diskPercent", warning: 0, critical: 0.01 }],
          },
        },
      },
    });
    await crashed("after recording the capacity run");
    const recorded = await get<
      Source & { status: { lastRun: { details?: Record<string, string> } } }
    >("maintenancetask", "capacity");
    expect(recorded.status.lastRun).toMatchObject({
      result: "Succeeded",
      details: { severity: "critical" },
    });
    expect(await incidentsOf("MaintenanceTask", "capacity")).toEqual([]);

    await jobs.restartOperator();
    await until(
      "incidentRef",
      () => get<Source>("maintenancetask", "capacity"),
      (t) => !!t.status?.incidentRef,
    );
    const [incident, ...more] = await incidentsOf("MaintenanceTask", "capacity");
    expect(more).toEqual([]);
    expect(incident!.spec).toMatchObject({
      resolved: false,
      title: `MaintenanceTask capacity: run ${recorded.status.lastRun.job} reported a critical finding`,
    });
  }, 180_000);
});

describe("Given a BackupPolicy whose backup fails, and an operator killed between its steps", () => {
  const policy = (token: string, databases: string[]) => ({
    apiVersion: "pake.dev/v1alpha1",
    kind: "BackupPolicy",
    metadata: { name: "nightly", annotations: { "pake.dev/backup-now": token } },
    spec: {
      database: { connectionSecretRef: { name: "pg" }, databases },
      schedule: "0 1 * * *",
      storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
      retention: { keepLast: 3 },
      verify: { enabled: false },
    },
  });
  const statusOf = () => get<Source>("backuppolicy", "nightly");

  it("When it dies after the status write that records the failed backup and before the source API call, then after a restart exactly one Incident is open and status names it", async () => {
    await crashingAt(PolicyCrashPoint.BackupRecorded);
    await apply(policy("b1", [database, "no_such_db"]));
    await crashed("after recording the failed backup");
    const recorded = await statusOf();
    expect(recorded.status?.lastBackup?.result).toBe("Failed");
    expect(await incidentsOf("BackupPolicy", "nightly")).toEqual([]);

    await jobs.restartOperator();
    const named = await until("incidentRef", statusOf, (p) => !!p.status?.incidentRef);
    const list = await incidentsOf("BackupPolicy", "nightly");
    expect(list).toHaveLength(1);
    expect(list[0]!.metadata.name).toBe(named.status!.incidentRef!.name);
    expect(list[0]!.spec).toMatchObject({
      resolved: false,
      title: `BackupPolicy nightly: backup ${recorded.status!.lastBackup!.job} failed`,
    });
  }, 180_000);

  it("When it dies after the status write that records the successful backup and before the resolve, then after a restart the Incident is resolved and incidentRef cleared", async () => {
    await crashingAt(PolicyCrashPoint.BackupRecorded);
    await apply(policy("b2", [database]));
    await crashed("after recording the successful backup");
    const recorded = await statusOf();
    expect(recorded.status?.lastBackup?.result).toBe("Succeeded");
    expect(recorded.status?.incidentRef).toBeDefined();
    expect(open(await incidentsOf("BackupPolicy", "nightly"))).toHaveLength(1);

    await jobs.restartOperator();
    await until("incidentRef to be cleared", statusOf, (p) => p.status?.incidentRef === undefined);
    const list = await incidentsOf("BackupPolicy", "nightly");
    expect(list).toHaveLength(1);
    expect(list[0]!.spec.resolved).toBe(true);
    expect(list[0]!.metadata.annotations?.["pake.dev/actor"]).toBe("BackupPolicy/nightly");
  }, 180_000);
});
