// verify.schedule on the real API server (and the real Job controller),
// the BackupPolicy reconcile (its kind definition through the kit's
// reconcileKind) driven by a FakeClock: a slot before any successful backup
// starts no Job and says why once; a slot with a backup starts one verify
// Job (named per slot) on the newest successful backup, never a second one
// for the same slot, also after a restart between creating the Job and
// writing status; an outage gives one catch-up. No pod runner: the Jobs'
// pods stay Pending (the run itself is in backuppolicy-e2e.test.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { backupPolicyDefinition } from "../../src/controllers/backuppolicy/module.ts";
import { buildVerifyJob, VERIFY_LABEL } from "../../src/controllers/backuppolicy/verification.ts";
import { verifyScheduleName } from "../../src/controllers/backuppolicy/verify-schedule.ts";
import { TASK_CONFIG_ENV } from "../../src/controllers/jobrun/index.ts";
import { reconcileKind } from "../../src/controllers/kit/index.ts";
import {
  BackupPolicySpec,
  backupPolicyDescriptor,
  type BackupPolicy,
  type BackupPolicyStatus,
} from "../../src/crds/backuppolicy.ts";
import { JobKind, PersistentVolumeClaimKind, SecretKind } from "../../src/lib/kinds.ts";
import { FakeClock } from "../../src/runtime/clock.ts";
import type { ReconcileResult } from "../../src/runtime/controller.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { updateStatus } from "../../src/runtime/status.ts";
import { scheduledJobName } from "../../src/schedule/index.ts";
import { createTestNamespace, installCrds, reconcileContext, useSharedEnv } from "../env/index.ts";
import { eventsWith } from "./support/events.ts";

const env = useSharedEnv();
let ns: string;
let client: KubeClient;
const IMAGE = "ghcr.io/pake/pake-operator:test";
const MINUTE = 60_000;
const definition = backupPolicyDefinition({ runnerImage: IMAGE });

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "bp-verify-schedule");
  client = new KubeClient(env.kubeConfig());
  // The references a policy needs before anything starts (never read beyond their names).
  await client.create(SecretKind, {
    metadata: { name: "pg", namespace: ns },
    stringData: { uri: "postgresql://pake@127.0.0.1:1/none" },
  });
  await client.create(PersistentVolumeClaimKind, {
    metadata: { name: "backups", namespace: ns },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  });
});

type Policy = BackupPolicy & KubeObject;

const specOf = (verifySchedule: string) => ({
  database: { connectionSecretRef: { name: "pg" } },
  schedule: "0 1 * * *",
  storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
  verify: { enabled: true, schedule: verifySchedule },
});

async function createPolicy(name: string): Promise<Policy> {
  return client.create<Policy>(backupPolicyDescriptor, {
    metadata: { name, namespace: ns },
    spec: specOf("* * * * *"),
  } as Policy);
}

const getPolicy = (name: string) =>
  client.get<Policy>(backupPolicyDescriptor, { namespace: ns, name });

async function reconcile(name: string, clock: FakeClock): Promise<ReconcileResult> {
  return reconcileKind(
    definition,
    await getPolicy(name),
    reconcileContext(client, clock, "backuppolicy"),
  );
}

/** Puts retained backups into status, as backup runs would have. */
async function seedBackups(name: string, ids: string[]): Promise<void> {
  await updateStatus<Policy, BackupPolicyStatus>(
    client,
    { kind: backupPolicyDescriptor, namespace: ns, name },
    (status) => {
      status.backups = ids.map((id) => ({ id, result: "Succeeded" as const }));
    },
  );
}

interface JobView extends KubeObject {
  spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } };
}

async function verifyJobsOf(name: string): Promise<JobView[]> {
  const list = await client.list<JobView>(JobKind, {
    namespace: ns,
    labelSelector: `${VERIFY_LABEL}=${name}`,
  });
  return list.items.filter((j) => !j.metadata.deletionTimestamp);
}

function backupIdOf(job: JobView): unknown {
  const env = job.spec?.template?.spec?.containers?.[0]?.env ?? [];
  const config = env.find((e) => e.name === TASK_CONFIG_ENV)?.value ?? "{}";
  return (JSON.parse(config) as { backupId?: unknown }).backupId;
}

const eventsOf = (name: string, reason: string) => eventsWith(env, ns, name, reason);

const creationOf = (p: Policy) => Date.parse(String(p.metadata.creationTimestamp));
const minuteFloor = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const slotJob = (policy: string, slotMs: number) =>
  scheduledJobName(verifyScheduleName(policy), new Date(slotMs));

describe("Given a policy verifying every minute that has no backup yet", () => {
  it("When a verify slot comes, then no Job starts, one NothingToVerify Warning says why, and reconciling again adds nothing", async () => {
    const policy = await createPolicy("early");
    // Five seconds into a minute: the clock advances below without reaching the next slot.
    const start = minuteFloor(creationOf(policy)) + 2 * MINUTE + 5_000;
    const clock = new FakeClock(start);
    const slot = minuteFloor(start);

    const result = await reconcile("early", clock);
    await reconcile("early", clock);
    await clock.advance(20_000);
    await reconcile("early", clock);

    expect(await verifyJobsOf("early")).toEqual([]);
    const status = (await getPolicy("early")).status!;
    expect(status.lastVerifyScheduleTime).toBe(iso(slot));
    expect(status.nextVerifyTime).toBe(iso(slot + MINUTE));
    expect(status.lastVerification).toBeUndefined();
    const events = await eventsOf("early", "NothingToVerify");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "Warning" });
    expect(events[0]!.count ?? 1).toBe(1);
    expect(events[0]!.message).toContain("no successful backup to verify yet");
    // The next look is the next slot, not a hot loop.
    expect(result.requeueAfter).toBe(slot + MINUTE - start);
  });
});

describe("Given a policy verifying every minute with two retained backups", () => {
  it("When the slot comes, then one verify Job (named for the slot) verifies the newest backup, and the same slot never starts a second", async () => {
    const policy = await createPolicy("slots");
    await seedBackups("slots", ["20260102T010000Z", "20260101T010000Z"]);
    // The first slot after creation, on time (not a catch-up).
    const clock = new FakeClock(minuteFloor(creationOf(policy)) + MINUTE + 5_000);
    const slot = minuteFloor(clock.now());

    await reconcile("slots", clock);
    await reconcile("slots", clock);

    const jobs = await verifyJobsOf("slots");
    expect(jobs.map((j) => j.metadata.name)).toEqual([slotJob("slots", slot)]);
    expect(backupIdOf(jobs[0]!)).toBe("20260102T010000Z");
    expect(jobs[0]!.metadata.annotations?.["pake.dev/trigger"]).toBe("Schedule");
    expect((await getPolicy("slots")).status?.lastVerifyScheduleTime).toBe(iso(slot));
    expect(await eventsOf("slots", "ScheduledRun")).toHaveLength(1);
  });

  it("When the next slot comes while that verification still runs, then it is skipped (never two at once)", async () => {
    const policy = await getPolicy("slots");
    const clock = new FakeClock(minuteFloor(creationOf(policy)) + 2 * MINUTE + 5_000);
    await reconcile("slots", clock);
    expect(await verifyJobsOf("slots")).toHaveLength(1);
    expect(await eventsOf("slots", "SkippedConcurrentRun")).toHaveLength(1);
  });
});

describe("Given an operator that crashed after creating a verify slot's Job and before writing status", () => {
  it("When the restarted operator reconciles, then no second Job starts and status catches up", async () => {
    const policy = await createPolicy("restart");
    await seedBackups("restart", ["20260101T010000Z"]);
    const clock = new FakeClock(creationOf(policy) + 2 * MINUTE + 10_000);
    const slot = minuteFloor(clock.now());
    const job = buildVerifyJob(
      {
        namespace: ns,
        name: "restart",
        uid: policy.metadata.uid!,
        spec: BackupPolicySpec.parse(specOf("* * * * *")),
      },
      "20260101T010000Z",
      IMAGE,
      { job: slotJob("restart", slot), trigger: "Schedule", slot: new Date(slot) },
    );
    await client.create(JobKind, job);
    expect((await getPolicy("restart")).status?.lastVerifyScheduleTime).toBeUndefined();

    await reconcile("restart", clock);

    expect((await verifyJobsOf("restart")).map((j) => j.metadata.name)).toEqual([
      job.metadata.name,
    ]);
    expect((await getPolicy("restart")).status?.lastVerifyScheduleTime).toBe(iso(slot));
  });
});

describe("Given a policy verifying every minute and an operator down for five slots", () => {
  it("When it reconciles, then exactly one verification catches up (the newest slot)", async () => {
    const policy = await createPolicy("outage");
    await seedBackups("outage", ["20260101T010000Z"]);
    const clock = new FakeClock(creationOf(policy) + 5 * MINUTE + 30_000);
    const slot = minuteFloor(clock.now());

    await reconcile("outage", clock);

    expect((await verifyJobsOf("outage")).map((j) => j.metadata.name)).toEqual([
      slotJob("outage", slot),
    ]);
    const catchingUp = await eventsOf("outage", "CatchingUp");
    expect(catchingUp).toHaveLength(1);
    expect(catchingUp[0]!.message).toContain(slotJob("outage", slot));
  });
});
