// A spec that passes the CRD schema but is still wrong (a cron expression that
// never fires, an unknown time zone, a regex that does not compile) becomes a
// SpecValid=False condition whose message names the field, plus one Warning
// Event; the operator keeps running and does not loop on it.
import { CoreV1Api } from "@kubernetes/client-node";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestNamespace,
  installCrds,
  killOperators,
  startOperator,
  useSharedEnv,
  waitFor,
  type OperatorProcess,
} from "../env/index.ts";

const env = useSharedEnv();
let ns: string;
let operator: OperatorProcess;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "validation");
  operator = startOperator({
    name: `operator-validation-${ns}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    args: ["--leader-elect=false", "--namespaces", ns],
  });
  await operator.ready();
});

afterAll(killOperators);

async function apply(object: object): Promise<void> {
  const file = join(env.runDir, `obj-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(object));
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

async function conditionOf(
  resource: string,
  name: string,
  type: string,
): Promise<Condition | undefined> {
  const result = await env.kubectl("get", resource, name, "-n", ns, "-o", "json");
  const obj = JSON.parse(result.stdout) as { status?: { conditions?: Condition[] } };
  return obj.status?.conditions?.find((c) => c.type === type);
}

const mt = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "pake.dev/v1alpha1",
  kind: "MaintenanceTask",
  metadata: { name },
  spec: { task: { logCleanup: { claimName: "logs", maxAge: "7d" } }, ...spec },
});

describe("Given the operator and objects that pass the CRD schema but are semantically wrong", () => {
  it.each([
    {
      name: "never-fires",
      object: mt("never-fires", { schedule: "0 0 31 2 *" }),
      resource: "maintenancetask",
      field: "spec.schedule",
    },
    {
      name: "mars-time",
      object: mt("mars-time", { schedule: "0 2 * * *", timeZone: "Mars/Olympus_Mons" }),
      resource: "maintenancetask",
      field: "spec.timeZone",
    },
    {
      name: "bad-regex",
      object: {
        apiVersion: "pake.dev/v1alpha1",
        kind: "HealthCheck",
        metadata: { name: "bad-regex" },
        spec: { target: { http: { url: "http://127.0.0.1:1/", bodyMatch: { regex: "([a-z" } } } },
      },
      resource: "healthcheck",
      field: "spec.target.http.bodyMatch.regex",
    },
  ])(
    "When $name is applied, then SpecValid=False names $field",
    async ({ name, object, resource, field }) => {
      await apply(object);
      let condition: Condition | undefined;
      await waitFor(
        async () => {
          condition = await conditionOf(resource, name, "SpecValid");
          return condition !== undefined;
        },
        { what: `SpecValid on ${resource}/${name}`, process: operator.proc, timeoutMs: 20_000 },
      );
      expect(condition).toMatchObject({
        status: "False",
        reason: "InvalidSpec",
        observedGeneration: 1,
      });
      expect(condition!.message).toContain(`${field}:`);
      expect(await conditionOf(resource, name, "Ready")).toMatchObject({
        status: "False",
        reason: "InvalidSpec",
      });
    },
  );

  it("When an invalid object sits there, then the operator neither crashes nor loops, and warns once", async () => {
    const before = await env.kubectl(
      "get",
      "maintenancetask",
      "mars-time",
      "-n",
      ns,
      "-o",
      "jsonpath={.metadata.resourceVersion}",
    );
    const reconciles = async () =>
      operator.metric(
        'pake_controller_reconcile_total{controller="maintenancetask",result="success"',
      );
    const first = await reconciles();
    // The counter must exist and have counted this object's reconciles, or the
    // comparison below would prove nothing.
    expect(first).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await reconciles()).toBe(first);
    const after = await env.kubectl(
      "get",
      "maintenancetask",
      "mars-time",
      "-n",
      ns,
      "-o",
      "jsonpath={.metadata.resourceVersion}",
    );
    expect(after.stdout).toBe(before.stdout);
    expect(operator.proc.running).toBe(true);

    const events = await env.kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace: ns,
      fieldSelector: "involvedObject.name=mars-time,reason=InvalidSpec",
    });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]!.type).toBe("Warning");
    expect(events.items[0]!.message).toContain("spec.timeZone");
  });

  it("When the spec is fixed, then SpecValid turns True for the new generation", async () => {
    await apply(mt("mars-time", { schedule: "0 2 * * *", timeZone: "Europe/Berlin" }));
    await waitFor(
      async () =>
        (await conditionOf("maintenancetask", "mars-time", "SpecValid"))?.status === "True",
      {
        what: "SpecValid=True",
        process: operator.proc,
        timeoutMs: 20_000,
      },
    );
    expect(await conditionOf("maintenancetask", "mars-time", "SpecValid")).toMatchObject({
      observedGeneration: 2,
    });
    // The MaintenanceTask controller reports a valid, scheduled task as Ready.
    expect(await conditionOf("maintenancetask", "mars-time", "Ready")).toMatchObject({
      status: "True",
      reason: "Scheduled",
    });
  });
});
