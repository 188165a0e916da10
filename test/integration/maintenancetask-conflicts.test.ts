// MaintenanceTask status writes no longer 409 on a spec edit. The real
// controller (the module on an OperatorContext) runs against an API server of
// this file's own, so that the server's request counters see no other test's
// writes (another file provokes 409s on purpose); the task is edited several times and each time the test waits for
// status.observedGeneration to catch up. The 409s are counted by the
// kube-apiserver itself (apiserver_request_total on /metrics, as admin) and
// by the controller's own client; both must stay at 0 while status writes
// do happen. (Before the kit, a spec edit wrote SpecValid with a fresh read
// and then the rest of status from the cached, now stale, object: one 409
// per edit.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOperatorContext, type Registrar } from "../../src/controllers/kit/index.ts";
import { maintenanceTaskModule } from "../../src/controllers/maintenancetask/index.ts";
import type { MaintenanceTask } from "../../src/controllers/maintenancetask/index.ts";
import { maintenanceTaskDescriptor } from "../../src/crds/maintenancetask.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import type { Runnable } from "../../src/runtime/runnable.ts";
import {
  createTestNamespace,
  installCrds,
  startControlPlane,
  waitFor,
  type ControlPlane,
} from "../env/index.ts";

let env: ControlPlane;
let ns: string;
let client: KubeClient;
const runnables: Runnable[] = [];
const operatorRequests: { method: string; path: string; statusCode: number }[] = [];

beforeAll(async () => {
  env = await startControlPlane({ controllerManager: false });
  await installCrds(env);
  ns = await createTestNamespace(env, "mt-conflicts");
  client = new KubeClient(env.kubeConfig());
  const ctx = createOperatorContext({
    kubeConfig: env.kubeConfig(),
    config: { namespaces: [ns], runnerImage: "ghcr.io/pake/pake-operator:test", env: {} },
    logger: createLogger({ level: "silent" }),
  });
  ctx.client.observe((req) => operatorRequests.push(req));
  const registrar: Registrar = { add: (r) => runnables.push(r), http: { mount: () => {} } };
  maintenanceTaskModule.register(ctx, registrar);
  for (const r of runnables) await r.start();
}, 180_000);

afterAll(async () => {
  for (const r of runnables) await r.stop(5_000);
  await env?.stop();
});

/** Sum of apiserver_request_total for maintenancetasks/status with this code and verb. */
async function apiserverRequests(code: string, verb: string): Promise<number> {
  const metrics = await env.kubectl("get", "--raw", "/metrics");
  expect(metrics.code).toBe(0);
  let total = 0;
  for (const line of metrics.stdout.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
    const wanted = [
      `code="${code}"`,
      `verb="${verb}"`,
      'resource="maintenancetasks"',
      'subresource="status"',
    ];
    if (wanted.every((w) => labels.split(",").includes(w)))
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

const operatorStatusWrites = (statusCode: number) =>
  operatorRequests.filter(
    (r) =>
      r.method === "PUT" &&
      r.statusCode === statusCode &&
      /\/maintenancetasks\/[^/]+\/status$/.test(r.path),
  ).length;

const getTask = (name: string) =>
  client.get<MaintenanceTask>(maintenanceTaskDescriptor, { namespace: ns, name });

async function settled(name: string): Promise<MaintenanceTask> {
  let task: MaintenanceTask | undefined;
  await waitFor(
    async () => {
      task = await getTask(name);
      const ready = task.status?.conditions?.find((c) => c.type === "Ready");
      return (
        task.status?.observedGeneration === task.metadata.generation &&
        ready?.observedGeneration === task.metadata.generation
      );
    },
    { what: `status of ${name} to catch up with its spec`, timeoutMs: 30_000 },
  );
  return task!;
}

const edits: Record<string, unknown>[] = [
  { successfulRunsHistoryLimit: 5 },
  { failedRunsHistoryLimit: 3 },
  { schedule: "0 4 * * 0" },
  { timeout: "2h" },
  { schedule: "30 4 * * 0", successfulRunsHistoryLimit: 2 },
];

describe("Given a running MaintenanceTask controller and a settled task", () => {
  it("When its spec is edited five times, then every edit is observed with no 409 on status", async () => {
    // A weekly schedule: no run is due, so only the task's own events reconcile it.
    await client.create<MaintenanceTask>(maintenanceTaskDescriptor, {
      metadata: { name: "edited", namespace: ns },
      spec: { schedule: "0 3 * * 0", task: { logCleanup: { claimName: "logs" } } },
    });
    await settled("edited");
    const conflictsBefore = await apiserverRequests("409", "PUT");
    const writesBefore = await apiserverRequests("200", "PUT");
    const operatorWritesBefore = operatorStatusWrites(200);

    for (const [i, spec] of edits.entries()) {
      await client.patch(maintenanceTaskDescriptor, { namespace: ns, name: "edited" }, { spec });
      const task = await settled("edited");
      expect(task.metadata.generation).toBe(i + 2);
    }
    // Let any reconcile triggered by the last status write finish.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const final = await getTask("edited");
    expect(final.status?.resolvedSchedule).toBe("30 4 * * 0");
    expect(final.status?.observedGeneration).toBe(edits.length + 1);
    // Status was written for each edit (the count is not vacuous) ...
    expect((await apiserverRequests("200", "PUT")) - writesBefore).toBeGreaterThanOrEqual(
      edits.length,
    );
    expect(operatorStatusWrites(200) - operatorWritesBefore).toBeGreaterThanOrEqual(edits.length);
    // ... and never conflicted.
    expect((await apiserverRequests("409", "PUT")) - conflictsBefore).toBe(0);
    expect(operatorStatusWrites(409)).toBe(0);
  });
});
