// The controller kit against the real API server: the per-kind wrapper writes
// status once per reconcile (and not at all when nothing changed), reports an
// invalid spec with one status write and one Warning Event, re-reads only on
// a 409, and the informer factory gives two controllers of one kind a single
// watch.
import { beforeAll, describe, expect, it } from "vitest";
import {
  createKindController,
  createOperatorContext,
  reconcileKind,
  type KindDefinition,
} from "../../src/controllers/kit/index.ts";
import {
  backupPolicyDescriptor,
  BackupPolicySpec,
  type BackupPolicy,
} from "../../src/crds/backuppolicy.ts";
import { EventKind } from "../../src/lib/kinds.ts";
import { FakeClock } from "../../src/runtime/clock.ts";
import { getCondition, type StatusWithConditions } from "../../src/runtime/conditions.ts";
import type { ReconcileContext } from "../../src/runtime/controller.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { validateBackupPolicy } from "../../src/controllers/backuppolicy/validate.ts";
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

interface Status extends StatusWithConditions {
  resolvedSchedule?: string;
}
type Policy = KubeObject & { spec?: unknown; status?: Status };

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "kit");
  client = new KubeClient(env.kubeConfig());
});

/** A definition whose reconcile copies spec.schedule into status.resolvedSchedule. */
function copyScheduleDefinition(calls: {
  n: number;
}): KindDefinition<Policy, BackupPolicySpec, Status> {
  return {
    name: "kit-test",
    kind: backupPolicyDescriptor,
    schema: BackupPolicySpec,
    validate: (policy) => validateBackupPolicy(policy as unknown as BackupPolicy),
    reconcile: (_obj, spec) => {
      calls.n++;
      return Promise.resolve({
        status: (status) => {
          status.resolvedSchedule = spec.schedule;
        },
        events: [{ type: "Normal", reason: "Copied", message: `copied ${spec.schedule}` }],
        requeueAfter: 5_000,
      });
    },
  };
}

const context = (clock = new FakeClock(Date.parse("2026-03-01T00:00:00Z"))): ReconcileContext =>
  reconcileContext(client, clock, "kit-test");

async function createPolicy(name: string, schedule: string): Promise<Policy> {
  return client.create<Policy>(backupPolicyDescriptor, {
    apiVersion: "pake.dev/v1alpha1",
    kind: "BackupPolicy",
    metadata: { name, namespace: ns },
    spec: {
      database: { connectionSecretRef: { name: "pg" } },
      schedule,
      storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/backups" },
    },
  });
}

const getPolicy = (name: string) =>
  client.get<Policy>(backupPolicyDescriptor, { namespace: ns, name });

async function warningsAbout(name: string): Promise<KubeObject[]> {
  const list = await client.list<KubeObject & { type?: string; reason?: string }>(EventKind, {
    namespace: ns,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items.filter((e) => e.type === "Warning" && e.reason === "InvalidSpec");
}

describe("Given the kit's kind wrapper and a valid object", () => {
  it("writes SpecValid and the kind's status in one write, then nothing while nothing changes", async () => {
    await createPolicy("valid", "0 1 * * *");
    const calls = { n: 0 };
    const def = copyScheduleDefinition(calls);
    const before = client.writes;
    const result = await reconcileKind(def, await getPolicy("valid"), context());
    // One status write and one Event.
    expect(client.writes - before).toBe(2);
    expect(result).toEqual({ requeueAfter: 5_000 });
    const written = await getPolicy("valid");
    expect(written.status?.resolvedSchedule).toBe("0 1 * * *");
    expect(getCondition(written.status, "SpecValid")).toMatchObject({
      status: "True",
      reason: "Valid",
    });
    expect(written.status?.observedGeneration).toBe(written.metadata.generation);

    await reconcileKind(def, written, context());
    // No status write: any write would have moved the resourceVersion.
    const statusAfter = await getPolicy("valid");
    expect(statusAfter.metadata.resourceVersion).toBe(written.metadata.resourceVersion);
    expect(calls.n).toBe(2);
  });

  it("re-reads and re-applies on a 409 when the cached object is stale", async () => {
    const created = await createPolicy("stale", "0 2 * * *");
    const calls = { n: 0 };
    const def = copyScheduleDefinition(calls);
    // Someone writes after our cache saw the object: our resourceVersion is stale.
    await client.patch(
      backupPolicyDescriptor,
      { namespace: ns, name: "stale" },
      {
        metadata: { labels: { touched: "yes" } },
      },
    );
    await reconcileKind(def, created, context());
    const written = await getPolicy("stale");
    expect(written.metadata.labels?.touched).toBe("yes");
    expect(written.status?.resolvedSchedule).toBe("0 2 * * *");
    expect(getCondition(written.status, "SpecValid")?.status).toBe("True");
  });
});

describe("Given an object whose spec passes the CRD schema but not the semantic checks", () => {
  it("reports SpecValid=False and Ready=False naming the field, with one Warning Event, and never calls reconcile", async () => {
    await createPolicy("invalid", "61 * * * *");
    const calls = { n: 0 };
    const def = copyScheduleDefinition(calls);
    const result = await reconcileKind(def, await getPolicy("invalid"), context());
    expect(result).toEqual({});
    expect(calls.n).toBe(0);
    const written = await getPolicy("invalid");
    for (const type of ["SpecValid", "Ready"]) {
      const c = getCondition(written.status, type);
      expect(c).toMatchObject({ status: "False", reason: "InvalidSpec" });
      expect(c?.message).toContain("spec.schedule");
    }
    expect(await warningsAbout("invalid")).toHaveLength(1);

    // The same bad spec again: no status write, no second Event.
    await reconcileKind(def, written, context());
    expect((await getPolicy("invalid")).metadata.resourceVersion).toBe(
      written.metadata.resourceVersion,
    );
    const events = await warningsAbout("invalid");
    expect(events).toHaveLength(1);
    expect((events[0] as { count?: number }).count ?? 1).toBe(1);
  });

  it("clears Ready=False/InvalidSpec once the spec is fixed", async () => {
    const calls = { n: 0 };
    const def = copyScheduleDefinition(calls);
    await createPolicy("fixed", "0 25 * * *");
    await reconcileKind(def, await getPolicy("fixed"), context());
    expect(getCondition((await getPolicy("fixed")).status, "Ready")?.reason).toBe("InvalidSpec");
    await client.patch(
      backupPolicyDescriptor,
      { namespace: ns, name: "fixed" },
      {
        spec: { schedule: "0 3 * * *" },
      },
    );
    await reconcileKind(def, await getPolicy("fixed"), context());
    const written = await getPolicy("fixed");
    expect(getCondition(written.status, "SpecValid")?.status).toBe("True");
    expect(getCondition(written.status, "Ready")).toMatchObject({
      status: "Unknown",
      reason: "Pending",
    });
    expect(written.status?.resolvedSchedule).toBe("0 3 * * *");
  });
});

describe("Given two controllers of one kind on one operator context", () => {
  it("they share one informer, and both reconcile from it", async () => {
    const ctx = createOperatorContext({
      kubeConfig: env.kubeConfig(),
      logger: createLogger({ level: "silent" }),
      config: { namespaces: [ns], runnerImage: "unused", env: {} },
    });
    const seen = [{ n: 0 }, { n: 0 }];
    const controllers = seen.map((calls, i) =>
      createKindController(ctx, { ...copyScheduleDefinition(calls), name: `kit-shared-${i}` }),
    );
    expect(ctx.informers.size()).toBe(1);
    expect(controllers[0]!.informer).toBe(controllers[1]!.informer);
    await Promise.all(controllers.map((c) => c.start()));
    try {
      await createPolicy("shared", "0 4 * * *");
      await waitFor(() => Promise.resolve(seen.every((c) => c.n > 0)), {
        what: "both controllers reconciled",
        timeoutMs: 20_000,
      });
      // Stopping one leaves the shared watch running for the other.
      await controllers[0]!.stop(1_000);
      await client.patch(
        backupPolicyDescriptor,
        { namespace: ns, name: "shared" },
        {
          spec: { schedule: "0 5 * * *" },
        },
      );
      await waitFor(
        async () => (await getPolicy("shared")).status?.resolvedSchedule === "0 5 * * *",
        { what: "the second controller reconciled the edit", timeoutMs: 20_000 },
      );
    } finally {
      await Promise.all(controllers.map((c) => c.stop(1_000)));
    }
  });
});
