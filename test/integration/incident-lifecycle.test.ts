// The Incident controller on the real control plane, with a policy of short
// times: hand-made Incidents get a phase and a deadline from their creation,
// an unacknowledged one breaches and escalates (also across a controller
// restart), acknowledgement stops escalation, resolution sets MTTA/MTTR,
// reopening works, closed Incidents are deleted after the retention,
// Incidents outlive the HealthCheck that opened them, and `kubectl get inc`
// shows every column.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { incidentPolicyFrom } from "../../src/config/incident-policy.ts";
import { createKindController, createOperatorContext } from "../../src/controllers/kit/index.ts";
import { countIncidentsFrom } from "../../src/controllers/incident/metrics.ts";
import { incidentDefinition } from "../../src/controllers/incident/module.ts";
import { IncidentSourceApi, type IncidentObject } from "../../src/controllers/incident/source.ts";
import { healthCheckDescriptor } from "../../src/crds/healthcheck.ts";
import { incidentDescriptor, type IncidentSpecInput } from "../../src/crds/incident.ts";
import { EventKind } from "../../src/lib/kinds.ts";
import type { Controller } from "../../src/runtime/controller.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { registry } from "../../src/runtime/metrics.ts";
import { createTestNamespace, installCrds, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
let ns: string;
let client: KubeClient;
let controller: Controller<IncidentObject> | undefined;

// Seconds instead of hours: the same rules, measurable in a test.
const policy = incidentPolicyFrom({
  closeAfter: "4s",
  deleteAfter: "8s",
  severities: {
    critical: {
      acknowledgeWithin: "3s",
      escalateEvery: "3s",
      escalation: ["on-call", "team lead", "manager"],
    },
    high: { acknowledgeWithin: "20s", escalation: ["team lead", "manager"] },
    medium: { acknowledgeWithin: "40s", escalation: ["regular team"] },
    low: { acknowledgeWithin: "60s", escalation: ["regular team"] },
  },
});

function startController(): Promise<void> {
  const ctx = createOperatorContext({
    kubeConfig: env.kubeConfig(),
    logger: createLogger({ level: "silent" }),
    config: { namespaces: [ns], runnerImage: "unused", env: {} },
  });
  controller = createKindController(
    ctx,
    incidentDefinition({ policy, sender: { send: () => Promise.resolve([]) } }),
  );
  return controller.start();
}

async function stopController(): Promise<void> {
  await controller?.stop(2_000);
  controller = undefined;
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "inc");
  client = new KubeClient(env.kubeConfig());
  await startController();
});

afterAll(stopController);

const ref = (name: string) => ({ namespace: ns, name });
const get = (name: string) => client.get<IncidentObject>(incidentDescriptor, ref(name));

async function create(name: string, spec: IncidentSpecInput): Promise<IncidentObject> {
  return client.create<IncidentObject>(incidentDescriptor, {
    apiVersion: "pake.dev/v1alpha1",
    kind: "Incident",
    metadata: { name, namespace: ns },
    spec: spec as IncidentObject["spec"],
  });
}

async function until(
  name: string,
  what: string,
  ok: (i: IncidentObject) => boolean,
  timeoutMs = 30_000,
) {
  let last: IncidentObject | undefined;
  await waitFor(
    async () => {
      last = await get(name);
      return ok(last);
    },
    { what: `${name}: ${what}`, timeoutMs },
  );
  return last!;
}

async function eventReasons(name: string): Promise<string[]> {
  const list = await client.list<KubeObject & { reason?: string }>(EventKind, {
    namespace: ns,
    fieldSelector: `involvedObject.name=${name},involvedObject.kind=Incident`,
  });
  return list.items.map((e) => e.reason ?? "");
}

const ms = (t: string | Date | undefined) => new Date(t ?? 0).getTime();

describe("Given Incidents a person creates with kubectl apply", () => {
  it.each([
    ["critical", 3_000],
    ["high", 20_000],
    ["medium", 40_000],
    ["low", 60_000],
  ] as const)(
    "When a %s Incident is created, then it is Open with a deadline %d ms after its creation",
    async (severity, after) => {
      const name = `hand-${severity}`;
      await create(name, { severity, title: `${severity} by hand` });
      const inc = await until(name, "Open", (i) => i.status?.phase !== undefined);
      expect(inc.status?.phase).toMatch(/Open|Acknowledged/);
      const deadline = ms(inc.status?.responseDeadline) - ms(inc.metadata.creationTimestamp);
      expect(Math.abs(deadline - after)).toBeLessThan(1000);
      expect(inc.status?.timeline?.[0]).toMatchObject({ type: "Opened" });
    },
  );
});

describe("Given a critical Incident nobody acknowledges", () => {
  // One Incident through its life; each step builds on the one before.
  it("Then it breaches at level 1 with a Breached condition and a Warning Event", async () => {
    await create("db-down", { severity: "critical", title: "Database down" });
    const breached = await until("db-down", "breached", (i) => i.status?.breached === true);
    expect(breached.status).toMatchObject({ escalationLevel: 1, escalationTarget: "team lead" });
    const condition = breached.status?.conditions?.find((c) => c.type === "Breached");
    expect(condition?.status).toBe("True");
    expect(await eventReasons("db-down")).toEqual(expect.arrayContaining(["Opened", "Escalated"]));
  });

  it("When level 2 falls due while the controller is down, then the next controller escalates from status", async () => {
    await stopController();
    await new Promise((r) => setTimeout(r, 3_500));
    await startController();
    const level2 = await until("db-down", "level 2", (i) => i.status?.escalationLevel === 2);
    expect(level2.status?.escalationTarget).toBe("manager");
  });

  it("When acknowledged, then escalation stops; when resolved, MTTA and MTTR are set", async () => {
    await client.patch(incidentDescriptor, ref("db-down"), { spec: { acknowledged: true } });
    const acked = await until("db-down", "Acknowledged", (i) => i.status?.phase === "Acknowledged");
    const tta = acked.status?.timeToAcknowledgeSeconds ?? -1;
    expect(tta).toBeGreaterThanOrEqual(6);
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await get("db-down")).status?.escalationLevel).toBe(2);

    await client.patch(incidentDescriptor, ref("db-down"), { spec: { resolved: true } });
    const resolved = await until("db-down", "Resolved", (i) => i.status?.phase === "Resolved");
    expect(resolved.status?.timeToResolveSeconds).toBeGreaterThanOrEqual(tta);
    expect(resolved.status?.timeline?.map((t) => t.type)).toEqual([
      "Opened",
      "Escalated",
      "Escalated",
      "Acknowledged",
      "Resolved",
    ]);
  });
});

describe("Given the Incidents above", () => {
  it("Then /metrics counts them by severity and phase, and has MTTA, MTTR and escalations per severity", async () => {
    countIncidentsFrom(() => controller?.informer.list() ?? []);
    // The informer's cache may be a moment behind the last status write.
    let text = "";
    await waitFor(
      async () => {
        text = await registry.metrics();
        return text.includes('phase="Resolved"');
      },
      { what: "the Resolved Incident in /metrics", timeoutMs: 10_000 },
    );
    // One sample: the metric's name and every given label (the registry adds app=…).
    const value = (name: string, labels: Record<string, string>) => {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      const line = text
        .split("\n")
        .find((l) => l.startsWith(`${name}{`) && pairs.every((p) => l.includes(p)));
      return Number(line?.split(" ").at(-1) ?? NaN);
    };
    const critical = { severity: "critical" };
    expect(value("pake_incidents", { namespace: ns, ...critical, phase: "Resolved" })).toBe(1);
    expect(value("pake_incidents", { namespace: ns, severity: "low", phase: "Open" })).toBe(1);
    expect(value("pake_incident_escalations_total", critical)).toBeGreaterThanOrEqual(2);
    expect(value("pake_incident_time_to_acknowledge_seconds_count", critical)).toBe(1);
    expect(value("pake_incident_time_to_resolve_seconds_count", critical)).toBe(1);
  });
});

describe("Given a resolved Incident", () => {
  it("When resolved is set back to false, then it is reopened with a fresh deadline; resolved again, it is Closed after closeAfter and deleted after deleteAfter", async () => {
    await create("flaky", { severity: "high", title: "Flaky" });
    await until("flaky", "Open", (i) => i.status?.phase === "Open");
    await client.patch(incidentDescriptor, ref("flaky"), { spec: { resolved: true } });
    await until("flaky", "Resolved", (i) => i.status?.phase === "Resolved");
    await client.patch(incidentDescriptor, ref("flaky"), { spec: { resolved: false } });
    const reopened = await until("flaky", "reopened", (i) => i.status?.phase === "Open");
    expect(reopened.status?.timeline?.at(-1)?.type).toBe("Reopened");
    expect(reopened.status?.resolvedAt).toBeUndefined();
    expect(ms(reopened.status?.responseDeadline)).toBeGreaterThan(
      ms(reopened.metadata.creationTimestamp) + 20_000,
    );
    await client.patch(incidentDescriptor, ref("flaky"), { spec: { resolved: true } });
    await until("flaky", "Closed", (i) => i.status?.phase === "Closed", 20_000);
    await waitFor(
      async () => {
        try {
          await get("flaky");
          return false;
        } catch {
          return true;
        }
      },
      { what: "flaky deleted after deleteAfter", timeoutMs: 20_000 },
    );
  });
});

async function createHealthCheck(name: string) {
  const check = await client.create<KubeObject>(healthCheckDescriptor, {
    apiVersion: "pake.dev/v1alpha1",
    kind: "HealthCheck",
    metadata: { name, namespace: ns },
    spec: { target: { tcp: { host: "127.0.0.1", port: 1 } } },
  });
  return { kind: "HealthCheck" as const, namespace: ns, name, uid: check.metadata.uid ?? "" };
}

describe("Given Incidents opened by a HealthCheck", () => {
  it("When the HealthCheck is deleted, then its Incidents stay, including one an older version made its dependent", async () => {
    const source = await createHealthCheck("db");
    const api = new IncidentSourceApi({
      client,
      events: { normal: async () => {}, warning: async () => {} } as never,
      log: createLogger({ level: "silent" }),
    });
    const opened = await api.open({
      source,
      severity: "high",
      title: "HealthCheck db is Critical",
      description: "connection refused",
      message: "connection refused",
      episode: "2026-12-01T00:00:00Z",
      now: Date.now(),
      occurrence: true,
    });
    expect((await get(opened)).metadata.ownerReferences).toBeUndefined();
    // An Incident as the previous version made it: owned by its HealthCheck.
    await create("legacy", {
      severity: "low",
      title: "old",
      source: { kind: "HealthCheck", name: "db" },
    });
    await client.patch(incidentDescriptor, ref("legacy"), {
      metadata: {
        ownerReferences: [
          {
            apiVersion: "pake.dev/v1alpha1",
            kind: "HealthCheck",
            name: "db",
            uid: source.uid,
            controller: true,
          },
        ],
      },
    });
    await until(
      "legacy",
      "released from its owner",
      (i) => (i.metadata.ownerReferences ?? []).length === 0,
    );

    await client.delete(healthCheckDescriptor, ref("db"));
    // The garbage collector (kube-controller-manager) would act within seconds.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await get(opened)).status?.phase).toBe("Open");
    expect((await get("legacy")).metadata.name).toBe("legacy");
  });
});

describe("Given Incidents of every kind", () => {
  it("When listed with kubectl get inc, then SEVERITY, PHASE, SOURCE, AGE and DEADLINE are filled for every row", async () => {
    await create("external", {
      severity: "medium",
      title: "From elsewhere",
      source: { kind: "External", name: "pagerduty" },
    });
    await until("external", "Open", (i) => i.status?.phase !== undefined);
    const out = await env.kubectl(
      "get",
      "inc",
      "-n",
      ns,
      "--no-headers",
      "-o",
      "custom-columns=SEVERITY:.spec.severity,PHASE:.status.phase,SOURCE:.status.source,DEADLINE:.status.responseDeadline",
    );
    expect(out.code).toBe(0);
    const rows = out.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.every((cell) => cell !== "<none>")).toBe(true);
    const table = await env.kubectl("get", "inc", "external", "-n", ns);
    expect(table.stdout.split("\n")[0]).toMatch(
      /NAME\s+SEVERITY\s+PHASE\s+SOURCE\s+AGE\s+DEADLINE/,
    );
    expect(table.stdout.split("\n")[1]).toMatch(
      /external\s+medium\s+Open\s+External\/pagerduty\s+\S+\s+\d{4}-/,
    );
    const manual = await env.kubectl("get", "inc", "hand-low", "-n", ns, "--no-headers");
    expect(manual.stdout).toMatch(/hand-low\s+low\s+Open\s+manual \(\S+\)\s+\S+\s+\d{4}-/);
  });
});
