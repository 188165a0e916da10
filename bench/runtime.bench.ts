// Runtime benchmark (issue 3): 5,000 MaintenanceTasks on a private local
// control plane, reconciled by the real controller runtime running the kit's
// kind reconcile with validation only (one status write per object, from the
// cached object).
// Measures: time from controller start to all objects reconciled, no-op
// reconciles per second (every key re-queued, nothing to write), resident
// memory of this process (the control plane runs in other processes).
// Run: make bench (or node bench/runtime.bench.ts [count]).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MaintenanceTaskSpec,
  maintenanceTaskDescriptor,
  type MaintenanceTask,
} from "../src/crds/index.ts";
import { reconcileKind, type KindDefinition } from "../src/controllers/kit/kind-controller.ts";
import { validateMaintenanceTask } from "../src/controllers/maintenancetask/validate.ts";
import type { StatusWithConditions } from "../src/runtime/conditions.ts";
import { createController } from "../src/runtime/controller.ts";
import { NamespaceKind } from "../src/lib/kinds.ts";
import { KubeClient, type KubeObject } from "../src/runtime/kube.ts";
import { createLogger } from "../src/runtime/log.ts";

const count = Number(process.argv[2] ?? 5000);
const workers = 4;
process.env.PAKE_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), "pake-bench-"));
const { installCrds, startControlPlane, waitFor } = await import("../test/env/index.ts");

const cp = await startControlPlane({ controllerManager: false });
try {
  await installCrds(cp);
  const kc = cp.kubeConfig();
  const client = new KubeClient(kc);
  await client.create(NamespaceKind, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "bench" },
  });

  let t = Date.now();
  let next = 0;
  const create = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await client.create(maintenanceTaskDescriptor, {
        apiVersion: "pake.dev/v1alpha1",
        kind: "MaintenanceTask",
        metadata: { name: `task-${i}`, namespace: "bench" },
        spec: {
          schedule: `${i % 60} 2 * * *`,
          task: { logCleanup: { claimName: "logs", maxAge: "7d" } },
        },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, create));
  const createSeconds = (Date.now() - t) / 1000;

  let reconciles = 0;
  const validateOnly: KindDefinition<KubeObject, MaintenanceTaskSpec, StatusWithConditions> = {
    name: "bench",
    kind: maintenanceTaskDescriptor,
    schema: MaintenanceTaskSpec,
    validate: (obj) => validateMaintenanceTask(obj as MaintenanceTask),
    reconcile: () => Promise.resolve({}),
  };
  const controller = createController<KubeObject>({
    name: "bench",
    kind: maintenanceTaskDescriptor,
    kubeConfig: kc,
    namespaces: ["bench"],
    workers,
    client,
    logger: createLogger({ level: "warn" }),
    needsLeaderElection: false,
    reconcile: async (obj, ctx) => {
      reconciles++;
      await reconcileKind(validateOnly, obj, ctx);
    },
  });
  const reconciled = (): number =>
    controller.informer
      .list()
      .filter((o) =>
        ((o as MaintenanceTask).status?.conditions ?? []).some(
          (c) => c.type === "SpecValid" && c.status === "True",
        ),
      ).length;

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBeforeStart = process.memoryUsage().rss;
  const writesBefore = client.writes;
  t = Date.now();
  await controller.start();
  await waitFor(() => Promise.resolve(reconciled() === count), {
    what: `${count} objects reconciled`,
    timeoutMs: 600_000,
    intervalMs: 100,
  });
  const allReconciledSeconds = (Date.now() - t) / 1000;
  // Resident memory once reconciled, after a full GC when allowed (--expose-gc).
  gc?.();
  const rssAfterSync = process.memoryUsage().rss;
  // Let the watch events of our own status writes arrive and be reconciled (no-ops).
  await waitFor(
    () => Promise.resolve(controller.queue.len() === 0 && controller.queue.inFlight().length === 0),
    {
      what: "queue to drain",
      timeoutMs: 120_000,
    },
  );

  const before = reconciles;
  t = Date.now();
  for (const key of controller.informer.keys()) controller.enqueue(key);
  await waitFor(
    () =>
      Promise.resolve(
        reconciles - before >= count &&
          controller.queue.len() === 0 &&
          controller.queue.inFlight().length === 0,
      ),
    {
      what: "no-op reconciles",
      timeoutMs: 120_000,
      intervalMs: 5,
    },
  );
  const noopSeconds = (Date.now() - t) / 1000;
  await controller.stop(5_000);

  const results = {
    objects: count,
    workers,
    createSeconds,
    allReconciledSeconds,
    reconcilesPerSecondFirstPass: Math.round(count / allReconciledSeconds),
    noopReconcilesPerSecond: Math.round((reconciles - before) / noopSeconds),
    statusWritesPerObject: Number(((client.writes - writesBefore) / count).toFixed(2)),
    // This process also hosts the harness and the creating client: the
    // controller's own share is the growth from start to all reconciled.
    rssMiB: Math.round(rssAfterSync / 2 ** 20),
    rssGrowthMiB: Math.round((rssAfterSync - rssBeforeStart) / 2 ** 20),
    heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    externalMiB: Math.round(process.memoryUsage().external / 2 ** 20),
    arrayBuffersMiB: Math.round(process.memoryUsage().arrayBuffers / 2 ** 20),
    node: process.version,
    kubernetes: cp.version,
  };
  console.table(results);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/runtime.json", `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await cp.stop();
}
