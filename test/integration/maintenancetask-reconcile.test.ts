// The MaintenanceTask reconcile (its kind definition run through the kit's
// reconcileKind) driven by a FakeClock against the real API server (and the
// real Job controller): time-dependent behaviour — an outage
// across several slots, a restart between creating a Job and writing status,
// the concurrency policies, the watchdog — without waiting for wall-clock
// minutes. No pod runner here: the Jobs' pods stay Pending, so runs stay active.
import { beforeAll, describe, expect, it } from "vitest";
import { reconcileKind } from "../../src/controllers/kit/index.ts";
import {
  buildJob,
  JobKind,
  maintenanceTaskDefinition,
  TASK_LABEL,
  type MaintenanceTask,
} from "../../src/controllers/maintenancetask/index.ts";
import { MaintenanceTaskSpec, maintenanceTaskDescriptor } from "../../src/crds/maintenancetask.ts";
import { FakeClock } from "../../src/runtime/clock.ts";
import type { ReconcileContext, ReconcileResult } from "../../src/runtime/controller.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { scheduledJobName, runNowJobName, onceJobName } from "../../src/schedule/index.ts";
import { IncidentLabel, incidentDescriptor, type Incident } from "../../src/crds/incident.ts";
import {
  createTestNamespace,
  installCrds,
  reconcileContext,
  useSharedEnv,
  waitFor,
} from "../env/index.ts";
import { eventsWith } from "./support/events.ts";

const env = useSharedEnv();
let ns: string;
let client: KubeClient;
const IMAGE = "ghcr.io/pake/pake-operator:test";
const MINUTE = 60_000;
const definition = maintenanceTaskDefinition({ runnerImage: IMAGE });

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "mt-reconcile");
  client = new KubeClient(env.kubeConfig());
  // A failed run opens an Incident: wait out the fresh CRD's "storage is
  // (re)initializing" so a reconcile run by hand does not fail on it.
  await waitFor(() => client.list(incidentDescriptor, { namespace: ns }).then(() => true), {
    what: "the Incident API",
    timeoutMs: 30_000,
  });
});

interface Job extends KubeObject {
  status?: { active?: number };
}

async function createTask(
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): Promise<MaintenanceTask> {
  return client.create<MaintenanceTask>(maintenanceTaskDescriptor, {
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec: { task: { logCleanup: { claimName: "logs" } }, ...spec },
  });
}

const getTask = (name: string) =>
  client.get<MaintenanceTask>(maintenanceTaskDescriptor, { namespace: ns, name });

async function jobsOf(name: string): Promise<Job[]> {
  const list = await client.list<Job>(JobKind, {
    namespace: ns,
    labelSelector: `${TASK_LABEL}=${name}`,
  });
  return list.items.filter((j) => !j.metadata.deletionTimestamp);
}

const context = (clock: FakeClock): ReconcileContext =>
  reconcileContext(client, clock, "maintenancetask");

/** One reconcile of the object as the API server has it now. */
async function reconcile(name: string, clock: FakeClock): Promise<ReconcileResult> {
  return reconcileKind(definition, await getTask(name), context(clock));
}

const creationOf = (t: MaintenanceTask) => Date.parse(String(t.metadata.creationTimestamp));
const minuteFloor = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

const eventsOf = (name: string, reason: string) => eventsWith(env, ns, name, reason);

describe("Given a task on * * * * * and an operator that was down for five slots", () => {
  it("When it reconciles, then exactly one run starts (the newest slot) and the re-queue is the next minute", async () => {
    const task = await createTask("outage", { schedule: "* * * * *" });
    const clock = new FakeClock(creationOf(task) + 5 * MINUTE + 30_000);
    const slot = minuteFloor(clock.now());

    const result = await reconcile("outage", clock);

    const jobs = await jobsOf("outage");
    expect(jobs.map((j) => j.metadata.name)).toEqual([scheduledJobName("outage", new Date(slot))]);
    const status = (await getTask("outage")).status!;
    expect(status.lastScheduleTime).toBe(new Date(slot).toISOString().replace(".000Z", "Z"));
    expect(status.active).toHaveLength(1);
    expect(status.lastRun).toMatchObject({ result: "Running", trigger: "Schedule" });
    expect(result.requeueAfter).toBe(slot + MINUTE - clock.now());
    const catchingUp = await eventsOf("outage", "CatchingUp");
    expect(catchingUp[0]?.message).toMatch(/earlier missed run\(s\) skipped/);

    await reconcile("outage", clock);
    expect(await jobsOf("outage")).toHaveLength(1);
  });
});

describe("Given an operator that crashed after creating a Job and before writing status", () => {
  it("When the restarted operator reconciles, then no second Job is created and status catches up", async () => {
    const task = await createTask("restart", { schedule: "* * * * *" });
    const clock = new FakeClock(creationOf(task) + 2 * MINUTE + 10_000);
    const slot = new Date(minuteFloor(clock.now()));
    const job = buildJob(
      {
        name: "restart",
        namespace: ns,
        uid: task.metadata.uid!,
        spec: MaintenanceTaskSpec.parse(task.spec),
      },
      { job: scheduledJobName("restart", slot), trigger: "Schedule", slot },
      IMAGE,
    );
    await client.create(JobKind, job);
    expect((await getTask("restart")).status?.lastScheduleTime).toBeUndefined();

    await reconcile("restart", clock);

    expect((await jobsOf("restart")).map((j) => j.metadata.name)).toEqual([job.metadata.name]);
    const status = (await getTask("restart")).status!;
    expect(status.active?.map((a) => a.job)).toEqual([job.metadata.name]);
    expect(Date.parse(status.lastScheduleTime!)).toBe(slot.getTime());
  });

  it("When two operators reconcile the same slot at once, then the second create's AlreadyExists counts as success", async () => {
    const task = await createTask("twins", { schedule: "* * * * *" });
    const clock = new FakeClock(creationOf(task) + 2 * MINUTE + 10_000);
    const stale = await getTask("twins");
    await Promise.all([
      reconcileKind(definition, structuredClone(stale), context(clock)),
      reconcileKind(definition, structuredClone(stale), context(clock)),
    ]);
    expect(await jobsOf("twins")).toHaveLength(1);
  });
});

describe("Given a run that is still active when the next slot comes", () => {
  async function twoSlots(name: string, policy: string) {
    const task = await createTask(name, { schedule: "* * * * *", concurrencyPolicy: policy });
    const clock = new FakeClock(creationOf(task) + MINUTE + 5_000);
    await reconcile(name, clock);
    const first = (await jobsOf(name)).map((j) => j.metadata.name!);
    expect(first).toHaveLength(1);
    await clock.advance(MINUTE);
    await reconcile(name, clock);
    return { first: first[0]!, clock };
  }

  it("When concurrencyPolicy is Forbid, then the new slot is skipped with a Warning", async () => {
    const { first } = await twoSlots("forbid", "Forbid");
    expect((await jobsOf("forbid")).map((j) => j.metadata.name)).toEqual([first]);
    const skipped = await eventsOf("forbid", "SkippedConcurrentRun");
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.type).toBe("Warning");
  });

  it("When concurrencyPolicy is Allow, then both runs are active", async () => {
    await twoSlots("allow", "Allow");
    expect(await jobsOf("allow")).toHaveLength(2);
    expect((await getTask("allow")).status?.active).toHaveLength(2);
  });

  it("When concurrencyPolicy is Replace, then the old Job is deleted, recorded Cancelled, and the new one runs", async () => {
    const { first } = await twoSlots("replace", "Replace");
    const jobs = (await jobsOf("replace")).map((j) => j.metadata.name);
    expect(jobs).toHaveLength(1);
    expect(jobs).not.toContain(first);
    const status = (await getTask("replace")).status!;
    expect(status.history?.[0]).toMatchObject({ job: first, result: "Cancelled" });
    expect(status.active?.map((a) => a.job)).toEqual(jobs);
  });
});

describe("Given a task with an invalid time zone", () => {
  it("When it reconciles, then SpecValid=False names spec.timeZone, one Warning Event, no Job, no re-queue", async () => {
    const task = await createTask("bad-zone", { schedule: "* * * * *", timeZone: "Mars/Olympus" });
    const clock = new FakeClock(creationOf(task) + 3 * MINUTE);
    expect(await reconcile("bad-zone", clock)).toEqual({});
    await reconcile("bad-zone", clock);
    const status = (await getTask("bad-zone")).status!;
    expect(status.conditions?.find((c) => c.type === "SpecValid")).toMatchObject({
      status: "False",
      reason: "InvalidSpec",
    });
    expect(status.conditions?.find((c) => c.type === "SpecValid")?.message).toContain(
      "spec.timeZone",
    );
    expect(await jobsOf("bad-zone")).toHaveLength(0);
    expect(await eventsOf("bad-zone", "InvalidSpec")).toHaveLength(1);
  });
});

describe("Given the watchdog", () => {
  it("When an active run's Job is deleted, then the run is recorded Failed with JobVanished", async () => {
    const task = await createTask("vanish", { schedule: "* * * * *" });
    const clock = new FakeClock(creationOf(task) + MINUTE + 5_000);
    await reconcile("vanish", clock);
    const [job] = await jobsOf("vanish");
    await client.delete(
      JobKind,
      { namespace: ns, name: job!.metadata.name! },
      { propagationPolicy: "Background" },
    );
    await clock.advance(1_000);
    await reconcile("vanish", clock);
    const status = (await getTask("vanish")).status!;
    expect(status.active).toBeUndefined();
    expect(status.lastRun).toMatchObject({
      job: job!.metadata.name,
      result: "Failed",
      details: { reason: "JobVanished" },
    });
    expect(status.conditions?.find((c) => c.type === "LastRunSucceeded")).toMatchObject({
      status: "False",
      reason: "JobVanished",
    });
  });

  it("When a vanished run is recorded, then the task opens one Incident for it, and later reconciles add no occurrence", async () => {
    const task = await createTask(
      "vanish-inc",
      { schedule: "0 0 1 1 *" },
      { "pake.dev/run-now": "go" },
    );
    const clock = new FakeClock(creationOf(task) + 1_000);
    await reconcile("vanish-inc", clock);
    const [job] = await jobsOf("vanish-inc");
    await client.delete(
      JobKind,
      { namespace: ns, name: job!.metadata.name! },
      { propagationPolicy: "Background" },
    );
    await clock.advance(1_000);
    await reconcile("vanish-inc", clock);
    await reconcile("vanish-inc", clock);
    const incidents = await client.list<Incident & KubeObject>(incidentDescriptor, {
      namespace: ns,
      labelSelector: `${IncidentLabel.SourceUid}=${task.metadata.uid}`,
    });
    expect(incidents.items).toHaveLength(1);
    expect(incidents.items[0]!.spec).toMatchObject({
      severity: "high",
      title: `MaintenanceTask vanish-inc: run ${job!.metadata.name} failed`,
      source: { kind: "MaintenanceTask", name: "vanish-inc" },
      resolved: false,
    });
    expect(incidents.items[0]!.spec.description).toContain("JobVanished");
    expect(incidents.items[0]!.status?.occurrences).toBe(1);
  });

  it("When a Job never finishes, then after timeout plus grace it is deleted and recorded TimedOut", async () => {
    const task = await createTask(
      "stuck",
      { schedule: "0 0 1 1 *", timeout: "10s" },
      { "pake.dev/run-now": "go" },
    );
    const clock = new FakeClock(creationOf(task) + 1_000);
    const first = await reconcile("stuck", clock);
    const [job] = await jobsOf("stuck");
    expect(job).toBeDefined();
    expect(first.requeueAfter).toBeLessThanOrEqual(70_000);
    await clock.advance(75_000);
    await reconcile("stuck", clock);
    expect(await jobsOf("stuck")).toHaveLength(0);
    expect((await getTask("stuck")).status?.lastRun).toMatchObject({
      job: job!.metadata.name,
      result: "TimedOut",
      details: { reason: "WatchdogTimeout" },
    });
  });
});

describe("Given run-now annotations and a task without a schedule", () => {
  it("When a token is set, then exactly one Job per distinct token runs, and status records the token", async () => {
    await createTask("manual", { schedule: "0 3 * * 0" }, { "pake.dev/run-now": "t1" });
    const clock = new FakeClock(Date.now());
    await reconcile("manual", clock);
    await reconcile("manual", clock);
    expect((await jobsOf("manual")).map((j) => j.metadata.name)).toEqual([
      runNowJobName("manual", "t1"),
    ]);
    expect((await getTask("manual")).status?.lastRunNowToken).toBe("t1");
    await client.patch(
      maintenanceTaskDescriptor,
      { namespace: ns, name: "manual" },
      {
        metadata: { annotations: { "pake.dev/run-now": "t2" } },
      },
    );
    await reconcile("manual", clock);
    await reconcile("manual", clock);
    expect(await jobsOf("manual")).toHaveLength(2);
    expect((await getTask("manual")).status?.lastRunNowToken).toBe("t2");
  });

  it("When a task has no schedule, then it runs once and never again", async () => {
    await createTask("once", {});
    const clock = new FakeClock(Date.now());
    expect(await reconcile("once", clock)).toMatchObject({
      requeueAfter: expect.any(Number) as number,
    });
    await clock.advance(10 * MINUTE);
    await reconcile("once", clock);
    expect((await jobsOf("once")).map((j) => j.metadata.name)).toEqual([onceJobName("once")]);
  });
});

describe("Given suspend and startingDeadlineSeconds", () => {
  it("When a task is suspended, then no run starts, Ready says Suspended and no next time is shown", async () => {
    const task = await createTask("paused", { schedule: "* * * * *", suspend: true });
    const clock = new FakeClock(creationOf(task) + 3 * MINUTE);
    await reconcile("paused", clock);
    expect(await jobsOf("paused")).toHaveLength(0);
    const status = (await getTask("paused")).status!;
    expect(status.nextScheduleTime).toBeUndefined();
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Suspended",
    });
    expect(status.conditions?.find((c) => c.type === "Suspended")?.status).toBe("True");
  });

  it("When the newest slot is older than startingDeadlineSeconds, then it is recorded as missed, with a Warning, and not run", async () => {
    const task = await createTask("late", { schedule: "*/5 * * * *", startingDeadlineSeconds: 30 });
    // 45 s past a whole minute: the newest slot is always more than 30 s old (on a
    // 5-minute boundary itself it would still be within the deadline, and due).
    const clock = new FakeClock(minuteFloor(creationOf(task)) + 12 * MINUTE + 45_000);
    const slot = Math.floor(clock.now() / (5 * MINUTE)) * 5 * MINUTE;
    await reconcile("late", clock);
    expect(await jobsOf("late")).toHaveLength(0);
    expect(Date.parse((await getTask("late")).status!.lastScheduleTime!)).toBe(slot);
    expect(await eventsOf("late", "MissedSchedule")).toHaveLength(1);
    await reconcile("late", clock);
    expect(await eventsOf("late", "MissedSchedule")).toHaveLength(1);
  });
});
