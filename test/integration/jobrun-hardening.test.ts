// Issue 11 defects 8 and 11 in jobrun.
// Defect 8: a pruned newest slot (or run-now token) must never run
// twice. The reconcile gets its owner from the informer cache; when that copy
// predates the status write that recorded the slot, and the slot's Job has
// since been pruned, nothing but a fresh read of the owner tells the
// reconcile that the run already happened. Driven by a FakeClock against the
// real API server; the "stale cache" is a copy of the task read before the
// first reconcile, handed to reconcileKind the way a lagging informer would.
// Defect 11: a crash between the watchdog's deletion of an overdue Job and the
// status write must still record the run TimedOut (WatchdogTimeout).
import { beforeAll, describe, expect, it } from "vitest";
import { reconcileKind } from "../../src/controllers/kit/index.ts";
import {
  JobKind,
  maintenanceTaskDefinition,
  TASK_LABEL,
  type MaintenanceTask,
} from "../../src/controllers/maintenancetask/index.ts";
import { RUN_NOW_ANNOTATION } from "../../src/crds/common.ts";
import { incidentDescriptor } from "../../src/crds/incident.ts";
import { maintenanceTaskDescriptor } from "../../src/crds/maintenancetask.ts";
import { FakeClock } from "../../src/runtime/clock.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import {
  createTestNamespace,
  installCrds,
  reconcileContext,
  useSharedEnv,
  waitFor,
} from "../env/index.ts";

const env = useSharedEnv();
let ns: string;
let client: KubeClient;
const MINUTE = 60_000;
const definition = maintenanceTaskDefinition({ runnerImage: "ghcr.io/pake/pake-operator:test" });

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "jobrun-stale");
  client = new KubeClient(env.kubeConfig());
  // Wait out the fresh CRDs' "storage is (re)initializing" (a vanished run opens an Incident).
  for (const kind of [maintenanceTaskDescriptor, incidentDescriptor])
    await waitFor(() => client.list(kind, { namespace: ns }).then(() => true), {
      what: `the ${kind.kind} API`,
      timeoutMs: 30_000,
    });
});

const getTask = (name: string) =>
  client.get<MaintenanceTask>(maintenanceTaskDescriptor, { namespace: ns, name });

async function jobNamesOf(name: string): Promise<string[]> {
  const list = await client.list<KubeObject>(JobKind, {
    namespace: ns,
    labelSelector: `${TASK_LABEL}=${name}`,
  });
  return list.items.filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name!);
}

/** Deletes the task's Jobs the way pruning does, and waits until they are gone. */
async function pruneAll(name: string): Promise<void> {
  for (const job of await jobNamesOf(name))
    await client.delete(JobKind, { namespace: ns, name: job }, { propagationPolicy: "Background" });
  await waitFor(async () => (await jobNamesOf(name)).length === 0, {
    what: `the Jobs of ${name} to be deleted`,
    timeoutMs: 30_000,
  });
}

describe("Given a task whose newest run's Job was pruned and a cached copy of the task from before that run was recorded", () => {
  it.each([
    { trigger: "a schedule slot", name: "pruned-slot", spec: { schedule: "* * * * *" } },
    {
      trigger: "a run-now token",
      name: "pruned-token",
      spec: { schedule: "0 0 1 1 *" },
      annotations: { [RUN_NOW_ANNOTATION]: "t1" },
    },
  ])(
    "When the stale copy of $trigger is reconciled again, then no second Job is created",
    async ({ name, spec, annotations }) => {
      const created = await client.create<MaintenanceTask>(maintenanceTaskDescriptor, {
        metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
        spec: { task: { logCleanup: { claimName: "logs" } }, ...spec },
      });
      const clock = new FakeClock(
        Date.parse(String(created.metadata.creationTimestamp)) + 2 * MINUTE + 10_000,
      );
      const ctx = reconcileContext(client, clock, "maintenancetask");
      const stale = await getTask(name);
      await reconcileKind(definition, stale, ctx);
      expect(await jobNamesOf(name)).toHaveLength(1);
      await pruneAll(name);

      await reconcileKind(definition, stale, ctx);

      expect(await jobNamesOf(name)).toEqual([]);
      // The fresh reconcile agrees: the run is recorded as done, nothing to start.
      await reconcileKind(definition, await getTask(name), ctx);
      expect(await jobNamesOf(name)).toEqual([]);
    },
  );
});

describe("Given an operator that deleted an overdue Job (watchdog) and crashed before writing status", () => {
  it("When the restarted operator reconciles, then the run is recorded TimedOut by the watchdog, not as a vanished Job", async () => {
    const created = await client.create<MaintenanceTask>(maintenanceTaskDescriptor, {
      metadata: { name: "overdue", namespace: ns, annotations: { [RUN_NOW_ANNOTATION]: "late" } },
      spec: { task: { logCleanup: { claimName: "logs" } }, schedule: "0 0 1 1 *", timeout: "1m" },
    });
    const clock = new FakeClock(Date.parse(String(created.metadata.creationTimestamp)) + 1_000);
    const ctx = reconcileContext(client, clock, "maintenancetask");
    await reconcileKind(definition, await getTask("overdue"), ctx);
    const [job] = await jobNamesOf("overdue");
    expect((await getTask("overdue")).status?.active?.map((a) => a.job)).toEqual([job]);
    // Past timeout + the default 60 s grace: what the watchdog deleted before the crash.
    await clock.advance(2 * MINUTE + 10_000);
    await pruneAll("overdue");

    await reconcileKind(definition, await getTask("overdue"), ctx);

    const status = (await getTask("overdue")).status!;
    expect(status.active).toBeUndefined();
    expect(status.lastRun).toMatchObject({
      job,
      result: "TimedOut",
      details: { reason: "WatchdogTimeout" },
    });
  });
});
