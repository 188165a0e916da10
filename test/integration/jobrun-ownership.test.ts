// Job names are deterministic (<task>-once, <task>-<minutes>…), so a task
// deleted and recreated under the same name asks for a Job whose name may
// still be taken by a Job of the former task: orphaned on delete
// (propagationPolicy Orphan), or not yet collected by the garbage collector.
// Such a Job is not the new task's run: AlreadyExists counts as "already
// started" only when the Job's controller is the task (same uid). The real
// MaintenanceTask controller runs against the shared API server (with its
// controller-manager, so the garbage collector orphans and collects).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOperatorContext, type Registrar } from "../../src/controllers/kit/index.ts";
import {
  buildJob,
  JobKind,
  maintenanceTaskModule,
  type MaintenanceTask,
} from "../../src/controllers/maintenancetask/index.ts";
import { CommonConditionType, CommonReason } from "../../src/crds/conditions.ts";
import { MaintenanceTaskSpec, maintenanceTaskDescriptor } from "../../src/crds/maintenancetask.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import type { Runnable } from "../../src/runtime/runnable.ts";
import { onceJobName } from "../../src/schedule/index.ts";
import { createTestNamespace, installCrds, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
const IMAGE = "ghcr.io/pake/pake-operator:test";
const FORMER_UID = "00000000-0000-4000-8000-00000000dead";
const HOLD = "test.pake.dev/hold";
let ns: string;
let client: KubeClient;
const runnables: Runnable[] = [];

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "jobrun-owner");
  client = new KubeClient(env.kubeConfig());
  const ctx = createOperatorContext({
    kubeConfig: env.kubeConfig(),
    config: { namespaces: [ns], runnerImage: IMAGE, env: {} },
    logger: createLogger({ level: "silent" }),
  });
  const registrar: Registrar = { add: (r) => runnables.push(r), http: { mount: () => {} } };
  maintenanceTaskModule.register(ctx, registrar);
  for (const r of runnables) await r.start();
}, 180_000);

afterAll(async () => {
  for (const r of [...runnables].reverse()) await r.stop(5_000);
});

const SPEC = { task: { logCleanup: { claimName: "logs" } } };

const createTask = (name: string) =>
  client.create<MaintenanceTask>(maintenanceTaskDescriptor, {
    metadata: { name, namespace: ns },
    spec: SPEC,
  });

const getTask = (name: string) =>
  client.get<MaintenanceTask>(maintenanceTaskDescriptor, { namespace: ns, name });

const getJob = (name: string) => client.get<KubeObject>(JobKind, { namespace: ns, name });

const controllerUid = (obj: KubeObject): string | undefined =>
  obj.metadata.ownerReferences?.find((r) => r.controller === true)?.uid;

/** Waits until the task's run-once Job exists and is controlled by the task. */
async function waitForOwnRun(task: MaintenanceTask): Promise<KubeObject> {
  const jobName = onceJobName(task.metadata.name!);
  let job: KubeObject | undefined;
  await waitFor(
    async () => {
      job = await getJob(jobName).catch(() => undefined);
      return job !== undefined && controllerUid(job) === task.metadata.uid;
    },
    { what: `Job ${jobName} owned by uid ${task.metadata.uid}`, timeoutMs: 30_000 },
  );
  return job!;
}

async function deleteTask(name: string, propagationPolicy: string): Promise<void> {
  await client.delete(maintenanceTaskDescriptor, { namespace: ns, name }, { propagationPolicy });
  await waitFor(
    () =>
      getTask(name).then(
        () => false,
        () => true,
      ),
    {
      what: `task ${name} gone`,
      timeoutMs: 30_000,
    },
  );
}

describe("Given a task deleted with propagationPolicy Orphan, its run-once Job kept", () => {
  it("When a task of the same name is created, then its own run still starts", async () => {
    const former = await createTask("reborn");
    const formerJob = await waitForOwnRun(former);
    await deleteTask("reborn", "Orphan");
    // The garbage collector orphaned the Job: it stays, without the former owner.
    await waitFor(async () => controllerUid(await getJob(formerJob.metadata.name!)) === undefined, {
      what: "the former Job orphaned",
      timeoutMs: 30_000,
    });

    const task = await createTask("reborn");

    const job = await waitForOwnRun(task);
    expect(job.metadata.uid).not.toBe(formerJob.metadata.uid);
    await waitFor(async () => (await getTask("reborn")).status?.active?.length === 1, {
      what: "the new run active in status",
      timeoutMs: 30_000,
    });
    expect((await getTask("reborn")).status?.active?.[0]?.job).toBe(onceJobName("reborn"));
  });
});

describe("Given a Job still controlled by a former task of the same name (not collected yet)", () => {
  it("When the task is created, then its run starts once that Job is gone", async () => {
    // A finalizer holds the Job with its former owner's uid, as a slow garbage collector would.
    const manifest = buildJob(
      { name: "late-gc", namespace: ns, uid: FORMER_UID, spec: MaintenanceTaskSpec.parse(SPEC) },
      { job: onceJobName("late-gc"), trigger: "Once" },
      IMAGE,
    );
    const stale = await client.create<KubeObject>(JobKind, {
      ...manifest,
      metadata: { ...manifest.metadata, finalizers: [HOLD] },
    });

    const task = await createTask("late-gc");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await client.patch(
      JobKind,
      { namespace: ns, name: onceJobName("late-gc") },
      { metadata: { finalizers: null } },
    );

    const job = await waitForOwnRun(task);
    expect(job.metadata.uid).not.toBe(stale.metadata.uid);
    await waitFor(async () => (await getTask("late-gc")).status?.active?.length === 1, {
      what: "the new run active in status",
      timeoutMs: 30_000,
    });
    expect((await getTask("late-gc")).status?.lastRun?.result).toBe("Running");
  });
});

describe("Given a Job of the same name that is no run of a task of this name", () => {
  it("When the task is created, then the Job is left alone and Ready=False says why", async () => {
    const foreign = await client.create<KubeObject>(JobKind, {
      metadata: { name: onceJobName("squatted"), namespace: ns, labels: { app: "someone-else" } },
      spec: {
        template: {
          spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
        },
      },
    });

    await createTask("squatted");

    await waitFor(
      async () => {
        const ready = (await getTask("squatted")).status?.conditions?.find(
          (c) => c.type === CommonConditionType.Ready,
        );
        return ready?.reason === CommonReason.ReconcileError;
      },
      { what: "Ready=False/ReconcileError on the task", timeoutMs: 30_000 },
    );
    const ready = (await getTask("squatted")).status?.conditions?.find(
      (c) => c.type === CommonConditionType.Ready,
    );
    expect(ready?.message).toContain(
      `Job ${onceJobName("squatted")} exists and is not a run of squatted`,
    );
    expect((await getJob(onceJobName("squatted"))).metadata.uid).toBe(foreign.metadata.uid);
  });
});
