// The reconcile wrapper against the real kube-apiserver (shared control
// plane), on a small test CRD with a status subresource:
// - a reconcile that changes nothing writes nothing (status diff skip);
// - 409 Conflicts from a second writer re-queue and converge, not counted as errors;
// - finalizers: added on first reconcile; on delete finalize() runs while the
//   object still exists, then the finalizer goes and the object is deleted;
// - errors back off, set Ready=False/ReconcileError and aggregate their
//   Warning Events into one Event with count > 1;
// - owned children enqueue their owner.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestNamespace, useSharedEnv } from "../env/index.ts";
import {
  ConditionReason,
  ConditionType,
  getCondition,
  markObserved,
  setCondition,
} from "../../src/runtime/conditions.ts";
import type { StatusWithConditions } from "../../src/runtime/conditions.ts";
import {
  createController,
  type Controller,
  type ControllerOptions,
} from "../../src/runtime/controller.ts";
import { isNotFound } from "../../src/runtime/errors.ts";
import { EventKind } from "../../src/lib/kinds.ts";
import { EventRecorder } from "../../src/runtime/events.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { updateStatus } from "../../src/runtime/status.ts";
import {
  ConfigMapKind,
  WidgetKind,
  installWidgetCrd,
  metricValue,
  type Widget,
} from "./runtime-support.ts";

const env = useSharedEnv();
const running: Array<Controller<Widget>> = [];

beforeAll(async () => {
  await installWidgetCrd(env.kubeConfig());
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop(5_000)));
});

async function startController(
  opts: Omit<ControllerOptions<Widget>, "kind" | "kubeConfig">,
): Promise<Controller<Widget>> {
  const controller = createController<Widget>({
    kind: WidgetKind,
    kubeConfig: env.kubeConfig(),
    ...opts,
  });
  running.push(controller);
  await controller.start();
  await controller.informer.waitForSync();
  return controller;
}

function widget(namespace: string, name: string, spec: Widget["spec"]): Widget {
  return { metadata: { namespace, name }, spec };
}

describe("Given a controller that mirrors spec.value into status", () => {
  it("When reconciled again with nothing to change, Then it writes nothing", async () => {
    const ns = await createTestNamespace(env, "rt-ctl");
    const client = new KubeClient(env.kubeConfig());
    const reconciles = new Map<string, number>();
    const controller = await startController({
      name: "rt-noop",
      namespaces: [ns],
      client,
      reconcile: async (obj, ctx) => {
        reconciles.set(ctx.key, (reconciles.get(ctx.key) ?? 0) + 1);
        await updateStatus<Widget, StatusWithConditions>(
          ctx.client,
          { kind: WidgetKind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? "" },
          (status, fresh) => {
            status.value = fresh.spec?.value;
            markObserved(status, fresh.metadata.generation);
            setCondition(
              status,
              {
                type: ConditionType.Ready,
                status: "True",
                reason: ConditionReason.ReconcileSucceeded,
                message: "",
              },
              fresh.metadata.generation,
              ctx.clock.now(),
            );
          },
        );
      },
    });
    const admin = new KubeClient(env.kubeConfig());
    await admin.create(WidgetKind, widget(ns, "w", { value: 1 }));
    const key = `${ns}/w`;
    await vi.waitFor(
      async () =>
        expect(
          (await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" })).status?.value,
        ).toBe(1),
      { timeout: 10_000 },
    );
    // Let the status write's own watch event be reconciled too.
    await vi.waitFor(() =>
      expect(controller.queue.len() + controller.queue.inFlight().length).toBe(0),
    );
    await new Promise((r) => setTimeout(r, 300));
    const writesBefore = client.writes;
    const rvBefore = (await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" })).metadata
      .resourceVersion;
    for (let i = 0; i < 5; i++) {
      const before = reconciles.get(key) ?? 0;
      controller.enqueue(key);
      await vi.waitFor(() => expect(reconciles.get(key)).toBeGreaterThan(before), {
        timeout: 5_000,
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(client.writes).toBe(writesBefore);
    const after = await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" });
    expect(after.metadata.resourceVersion).toBe(rvBefore);
    const ready = getCondition(after.status, "Ready");
    expect(ready).toMatchObject({
      status: "True",
      reason: "ReconcileSucceeded",
      observedGeneration: 1,
    });
    expect(after.status?.observedGeneration).toBe(1);

    // A spec change is a real change: exactly one status write follows.
    await admin.patch(WidgetKind, { namespace: ns, name: "w" }, { spec: { value: 2 } });
    await vi.waitFor(
      async () =>
        expect(
          (await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" })).status?.value,
        ).toBe(2),
      { timeout: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(client.writes).toBe(writesBefore + 1);
  });
});

describe("Given a controller racing a second writer", () => {
  it("When its writes hit 409 Conflict, Then it re-queues and converges without counting errors", async () => {
    const ns = await createTestNamespace(env, "rt-ctl");
    const client = new KubeClient(env.kubeConfig());
    let conflicts = 0;
    client.observe((r) => {
      if (r.statusCode === 409) conflicts++;
    });
    await startController({
      name: "rt-conflict",
      namespaces: [ns],
      client,
      conflictRequeueMs: 100,
      reconcile: async (obj, ctx) => {
        const want = String(obj.spec?.value ?? 0);
        if (obj.metadata.annotations?.mirror === want) return;
        await new Promise((r) => setTimeout(r, 30)); // widen the race window
        // Written from the cached copy, guarded by its resourceVersion.
        await ctx.client.patch(
          WidgetKind,
          { namespace: ns, name: obj.metadata.name ?? "" },
          {
            metadata: {
              resourceVersion: obj.metadata.resourceVersion,
              annotations: { mirror: want },
            },
          },
        );
      },
    });
    const admin = new KubeClient(env.kubeConfig());
    await admin.create(WidgetKind, widget(ns, "w", { value: 0 }));
    for (let i = 1; i <= 15; i++) {
      await admin.patch(WidgetKind, { namespace: ns, name: "w" }, { spec: { value: i } });
      await new Promise((r) => setTimeout(r, 20));
    }
    await vi.waitFor(
      async () =>
        expect(
          (await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" })).metadata.annotations
            ?.mirror,
        ).toBe("15"),
      { timeout: 20_000, interval: 200 },
    );
    expect(conflicts).toBeGreaterThan(0);
    expect(
      await metricValue("pake_controller_reconcile_total", {
        controller: "rt-conflict",
        result: "conflict",
      }),
    ).toBe(conflicts);
    expect(
      await metricValue("pake_controller_reconcile_errors_total", { controller: "rt-conflict" }),
    ).toBe(0);
  });
});

describe("Given a controller with a finalizer", () => {
  it("When the object is deleted, Then finalize runs while it exists and only then is it removed", async () => {
    const ns = await createTestNamespace(env, "rt-ctl");
    const finalizer = "runtime-test.pake.dev/cleanup";
    const admin = new KubeClient(env.kubeConfig());
    const finalized: Array<{ name: string; existed: boolean; deleting: boolean }> = [];
    await startController({
      name: "rt-finalizer",
      namespaces: [ns],
      finalizer,
      reconcile: () => Promise.resolve(),
      finalize: async (obj) => {
        const live = await admin.get<Widget>(WidgetKind, {
          namespace: ns,
          name: obj.metadata.name ?? "",
        });
        finalized.push({
          name: obj.metadata.name ?? "",
          existed: true,
          deleting: Boolean(live.metadata.deletionTimestamp),
        });
        await new Promise((r) => setTimeout(r, 200)); // cleanup takes a while
      },
    });
    await admin.create(WidgetKind, widget(ns, "w", { value: 1 }));
    await vi.waitFor(
      async () =>
        expect(
          (await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" })).metadata.finalizers,
        ).toEqual([finalizer]),
      { timeout: 10_000 },
    );
    await admin.delete(WidgetKind, { namespace: ns, name: "w" });
    // Still there (terminating) until finalize has run.
    const terminating = await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" });
    expect(terminating.metadata.deletionTimestamp).toBeTruthy();
    await vi.waitFor(
      async () => {
        const gone = await admin.get(WidgetKind, { namespace: ns, name: "w" }).then(
          () => false,
          (err: unknown) => isNotFound(err),
        );
        expect(gone).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(finalized).toEqual([{ name: "w", existed: true, deleting: true }]);
  });
});

describe("Given a controller whose reconcile fails", () => {
  it("When it keeps failing, Then it backs off, reports Ready=False and aggregates one Warning Event", async () => {
    const ns = await createTestNamespace(env, "rt-ctl");
    const admin = new KubeClient(env.kubeConfig());
    let attempts = 0;
    await startController({
      name: "rt-error",
      namespaces: [ns],
      reconcile: (obj) => {
        if (!obj.spec?.fail) return Promise.resolve();
        attempts++;
        return Promise.reject(new Error("target unreachable: connection refused"));
      },
    });
    await admin.create(WidgetKind, widget(ns, "w", { fail: true }));
    await vi.waitFor(
      async () => {
        const w = await admin.get<Widget>(WidgetKind, { namespace: ns, name: "w" });
        expect(getCondition(w.status as StatusWithConditions, "Ready")).toMatchObject({
          status: "False",
          reason: "ReconcileError",
          message: "target unreachable: connection refused",
          observedGeneration: 1,
        });
      },
      { timeout: 10_000 },
    );
    await vi.waitFor(
      async () => {
        const events = await admin.list<KubeObject & { count?: number; reason?: string }>(
          EventKind,
          {
            namespace: ns,
            fieldSelector: "involvedObject.name=w",
          },
        );
        const errors = events.items.filter((e) => e.reason === "ReconcileError");
        expect(errors).toHaveLength(1);
        expect(errors[0]?.count).toBeGreaterThan(2);
      },
      { timeout: 15_000, interval: 250 },
    );
    expect(attempts).toBeGreaterThan(2);
    expect(attempts).toBeLessThan(20); // back-off, not a hot loop (5 ms doubling)
  });
});

describe("Given an event recorder", () => {
  it("When the same event is recorded repeatedly, Then one Event carries the count, and a new message is a new Event", async () => {
    const ns = await createTestNamespace(env, "rt-ev");
    const admin = new KubeClient(env.kubeConfig());
    const cm = await admin.create(ConfigMapKind, {
      metadata: { namespace: ns, name: "subject" },
      data: {},
    });
    const recorder = new EventRecorder({ client: admin, component: "pake-operator-test" });
    await Promise.all([1, 2, 3, 4].map(() => recorder.normal(cm, "Probed", "probe succeeded")));
    await recorder.warning(cm, "ProbeFailed", "probe timed out after 5s");
    const events = await admin.list<
      KubeObject & { count?: number; reason?: string; lastTimestamp?: string }
    >(EventKind, { namespace: ns });
    const byReason: Record<string, number | undefined> = {};
    for (const e of events.items) byReason[e.reason ?? ""] = e.count;
    expect(byReason).toEqual({ Probed: 4, ProbeFailed: 1 });
    expect(events.items.every((e) => e.metadata.name?.startsWith("subject."))).toBe(true);
  });
});

describe("Given a controller that owns ConfigMaps", () => {
  it("When an owned child changes, Then its owner is reconciled", async () => {
    const ns = await createTestNamespace(env, "rt-own");
    const admin = new KubeClient(env.kubeConfig());
    const seen: string[] = [];
    await startController({
      name: "rt-owns",
      namespaces: [ns],
      owns: [ConfigMapKind],
      reconcile: (obj) => {
        seen.push(obj.metadata.name ?? "");
        return Promise.resolve();
      },
    });
    const owner = await admin.create(WidgetKind, widget(ns, "owner", { value: 1 }));
    await vi.waitFor(() => expect(seen).toContain("owner"), { timeout: 10_000 });
    const ownerRef = {
      apiVersion: "runtime-test.pake.dev/v1",
      kind: "Widget",
      name: "owner",
      uid: owner.metadata.uid ?? "",
      controller: true,
    };
    await admin.create(ConfigMapKind, {
      metadata: { namespace: ns, name: "child", ownerReferences: [ownerRef] },
      data: { v: "1" },
    });
    await admin.create(ConfigMapKind, {
      metadata: { namespace: ns, name: "stranger" },
      data: { v: "1" },
    });
    const before = seen.length;
    await admin.patch(ConfigMapKind, { namespace: ns, name: "child" }, { data: { v: "2" } });
    await vi.waitFor(() => expect(seen.length).toBeGreaterThan(before), { timeout: 10_000 });
    expect(new Set(seen)).toEqual(new Set(["owner"]));
  });
});

describe("Given concurrent status writers", () => {
  it("When they race on one object, Then 409s are retried on a fresh read and every change lands", async () => {
    const ns = await createTestNamespace(env, "rt-st");
    const client = new KubeClient(env.kubeConfig());
    let conflicts = 0;
    client.observe((r) => {
      if (r.statusCode === 409) conflicts++;
    });
    await client.create(WidgetKind, widget(ns, "w", { value: 1 }));
    const ref = { kind: WidgetKind, namespace: ns, name: "w" };
    const results = await Promise.all(
      ["a", "b", "c", "d"].map((k) =>
        updateStatus<Widget, Record<string, unknown>>(client, ref, (status) => {
          status[k] = true;
        }),
      ),
    );
    expect(results.every((r) => r.updated)).toBe(true);
    const w = await client.get<Widget>(WidgetKind, { namespace: ns, name: "w" });
    expect(w.status).toEqual({ a: true, b: true, c: true, d: true });
    expect(conflicts).toBeGreaterThan(0);
    // Every retry was caused by exactly one 409.
    expect(results.reduce((n, r) => n + r.attempts - 1, 0)).toBe(conflicts);
  });
});
