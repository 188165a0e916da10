// Incident notifications end to end: the real operator process (with an
// --incident-policy file) against the shared control plane, notifying real
// HTTP receivers (node:http servers standing in for a Slack incoming webhook
// and a generic webhook) and a real Alertmanager. Each case has its own
// namespace, its own operator and its own policy. Also the sender alone
// against the real API server for receiver URLs read from Secrets.
import { CoreV1Api } from "@kubernetes/client-node";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { incidentPolicyFrom } from "../../src/config/incident-policy.ts";
import { createNotificationSender } from "../../src/controllers/incident/receivers.ts";
import type { IncidentObject } from "../../src/controllers/incident/source.ts";
import { incidentDescriptor, type NotificationDelivery } from "../../src/crds/incident.ts";
import { SecretKind } from "../../src/lib/kinds.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import {
  createTestNamespace,
  freePort,
  installCrds,
  killOperators,
  startAlertmanager,
  startOperator,
  useSharedEnv,
  waitFor,
  type Alertmanager,
  type OperatorProcess,
} from "../env/index.ts";

const env = useSharedEnv();
let client: KubeClient;
let alertmanager: Alertmanager;
const MINUTE = 60_000;
const SECRET_PATH = "/services/T0001/B0001/s3cr3t-slack-token";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A real HTTP receiver; `answer` decides each response's status (after the body arrived). */
class TestReceiver {
  readonly requests: Received[] = [];
  port = 0;
  private server?: Server;
  private readonly answer: (n: number) => number | Promise<number>;
  constructor(answer: (n: number) => number | Promise<number> = () => 200) {
    this.answer = answer;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${SECRET_PATH}`;
  }

  async listen(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
        this.requests.push({ path: req.url ?? "", headers: req.headers, body });
        void Promise.resolve(this.answer(this.requests.length)).then((code) => {
          if (!res.destroyed) res.writeHead(code).end();
        });
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    const address = server.address();
    this.port = typeof address === "object" && address ? address.port : port;
    receivers.push(this);
    return this;
  }

  keys(): unknown[] {
    return this.requests.map((r) => r.headers["idempotency-key"]);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
const receivers: TestReceiver[] = [];

beforeAll(async () => {
  await installCrds(env);
  client = new KubeClient(env.kubeConfig());
  alertmanager = await startAlertmanager();
}, 120_000);

afterEach(async () => {
  await killOperators();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await alertmanager?.destroy();
});

/** The operator for namespace `ns`, with `policy` as its --incident-policy file. */
async function operatorWith(ns: string, policy: object, name = "op"): Promise<OperatorProcess> {
  const file = join(env.runDir, `incident-policy-${ns}.yaml`);
  writeFileSync(file, JSON.stringify(policy));
  const op = startOperator({
    name: `${name}-${ns}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    args: ["--leader-elect=false", "--namespaces", ns, "--incident-policy", file],
    // The receivers' Secrets are in the operator's namespace: here, the test's.
    env: { POD_NAMESPACE: ns },
  });
  await op.ready();
  return op;
}

/** Fast back-off so retries happen within seconds. */
const FAST_DELIVERY = { maxAttempts: 20, initialBackoff: "1s", maxBackoff: "2s" };

async function createIncident(ns: string, name: string, spec: Record<string, unknown>) {
  return client.create<IncidentObject>(incidentDescriptor, {
    metadata: { name, namespace: ns },
    spec: { severity: "critical", title: "PostgreSQL is down", ...spec },
  } as IncidentObject);
}

const getIncident = (ns: string, name: string) =>
  client.get<IncidentObject>(incidentDescriptor, { namespace: ns, name });

async function createSecret(ns: string, name: string, data: Record<string, string>) {
  await client.create(SecretKind, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    stringData: data,
  });
}

/** Waits until the Incident's delivery of `event` to `receiver` satisfies `check`; returns it. */
async function deliveryOf(
  ns: string,
  name: string,
  find: { receiver: string; event: NotificationDelivery["event"] },
  check: (d: NotificationDelivery) => boolean,
): Promise<NotificationDelivery> {
  let found: NotificationDelivery | undefined;
  await waitFor(
    async () => {
      const inc = await getIncident(ns, name);
      found = inc.status?.notifications?.find(
        (n) => n.receiver === find.receiver && n.event === find.event,
      );
      return found !== undefined && check(found);
    },
    { what: `${find.event} to ${find.receiver} of ${name}`, timeoutMs: 30_000 },
  );
  return found!;
}

const delivered = (d: NotificationDelivery) => d.deliveredAt !== undefined;

async function eventMessages(ns: string): Promise<string> {
  const list = await env
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace: ns });
  return JSON.stringify(list.items.map((e) => e.message));
}

describe("Given an operator with a Slack receiver (URL in a Secret) and a generic webhook", () => {
  it("When an Incident is opened, then both get the Opened notification, checked field by field, and status records it", async () => {
    const ns = await createTestNamespace(env, "inc-notify");
    const slack = await new TestReceiver().listen();
    const hook = await new TestReceiver(() => 204).listen();
    await createSecret(ns, "incident-receivers", { "slack-url": `${slack.url}\n` });
    await operatorWith(ns, {
      receivers: [
        {
          name: "slack",
          type: "slack",
          urlSecretKeyRef: { name: "incident-receivers", key: "slack-url" },
        },
        { name: "hook", type: "webhook", url: `http://127.0.0.1:${hook.port}/pake` },
      ],
      routes: [{ receivers: ["slack", "hook"] }],
    });
    const created = await createIncident(ns, "pg-down", {
      description: "connection refused on 127.0.0.1:5432",
      source: { kind: "External", name: "pager-bridge" },
    });
    await deliveryOf(ns, "pg-down", { receiver: "slack", event: "Opened" }, delivered);
    await deliveryOf(ns, "pg-down", { receiver: "hook", event: "Opened" }, delivered);
    const inc = await getIncident(ns, "pg-down");
    const status = inc.status!;
    const uid = created.metadata.uid!;
    const episode = Math.floor(Date.parse(status.openedAt!) / 1000);

    // The deadline is the creation time plus critical's 15 minutes.
    expect(Date.parse(status.openedAt!)).toBe(Date.parse(created.metadata.creationTimestamp!));
    expect(Date.parse(status.responseDeadline!)).toBe(Date.parse(status.openedAt!) + 15 * MINUTE);

    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0]!.path).toBe("/pake");
    expect(hook.requests[0]!.headers["idempotency-key"]).toBe(`${uid}/${episode}/Opened-0/hook`);
    expect(hook.requests[0]!.body).toEqual({
      idempotencyKey: `${uid}/${episode}/Opened-0/hook`,
      event: "Opened",
      level: 0,
      target: "on-call",
      incident: {
        namespace: ns,
        name: "pg-down",
        uid,
        severity: "critical",
        title: "PostgreSQL is down",
        description: "connection refused on 127.0.0.1:5432",
        phase: "Open",
        source: { kind: "External", name: "pager-bridge" },
        responseDeadline: status.responseDeadline,
        escalationLevel: 0,
        openedAt: status.openedAt,
        resolvedAt: null,
        occurrences: 1,
      },
    });

    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]!.path).toBe(SECRET_PATH);
    expect(slack.requests[0]!.headers["idempotency-key"]).toBe(`${uid}/${episode}/Opened-0/slack`);
    expect(slack.requests[0]!.body).toEqual({
      text: `[CRITICAL] Opened: PostgreSQL is down (${ns}/pg-down) — on-call, respond by ${status.responseDeadline}`,
    });

    for (const n of status.notifications!) {
      expect(n).toMatchObject({ attempts: 1, event: "Opened", level: 0 });
      expect(n.lastError).toBeUndefined();
    }
    expect(status.timeline?.filter((t) => t.type === "Notified")).toHaveLength(2);
    // The Slack URL is a secret: not in status, not in Events.
    expect(JSON.stringify(inc)).not.toContain("s3cr3t");
    expect(await eventMessages(ns)).not.toContain("s3cr3t");
  }, 90_000);
});

describe("Given an operator whose routes send level 0 to a webhook and level 1 to Slack", () => {
  it("When the Incident escalates and is then resolved, then Slack hears the escalation and both hear the resolution", async () => {
    const ns = await createTestNamespace(env, "inc-levels");
    const slack = await new TestReceiver().listen();
    const hook = await new TestReceiver().listen();
    await operatorWith(ns, {
      severities: { critical: { acknowledgeWithin: "2s", escalation: ["on-call", "team lead"] } },
      receivers: [
        { name: "slack", type: "slack", url: slack.url },
        { name: "hook", type: "webhook", url: hook.url },
      ],
      routes: [
        { receivers: ["hook"], levels: [0] },
        { receivers: ["slack"], severities: ["critical"], levels: [1] },
      ],
    });
    await createIncident(ns, "replica-lag", { title: "Replica lag" });
    await deliveryOf(ns, "replica-lag", { receiver: "slack", event: "Escalated" }, delivered);
    const escalated = (await getIncident(ns, "replica-lag")).status!;
    expect(escalated).toMatchObject({
      escalationLevel: 1,
      breached: true,
      escalationTarget: "team lead",
    });
    expect(slack.requests.map((r) => r.body)).toEqual([
      {
        text: `[CRITICAL] Escalated to level 1: Replica lag (${ns}/replica-lag) — team lead, deadline ${escalated.responseDeadline} passed`,
      },
    ]);
    expect(hook.requests.map((r) => (r.body as { event: string }).event)).toEqual(["Opened"]);

    await client.patch(
      incidentDescriptor,
      { namespace: ns, name: "replica-lag" },
      { spec: { resolved: true } },
    );
    await deliveryOf(ns, "replica-lag", { receiver: "slack", event: "Resolved" }, delivered);
    await deliveryOf(ns, "replica-lag", { receiver: "hook", event: "Resolved" }, delivered);
    const resolved = (await getIncident(ns, "replica-lag")).status!;
    expect(slack.requests[1]!.body).toEqual({
      text: `[CRITICAL] Resolved: Replica lag (${ns}/replica-lag) — resolved at ${resolved.resolvedAt}`,
    });
    expect(hook.requests[1]!.body).toMatchObject({
      event: "Resolved",
      level: 1,
      target: "team lead",
      incident: { phase: "Resolved", resolvedAt: resolved.resolvedAt, escalationLevel: 1 },
    });
  }, 90_000);
});

describe("Given an operator with a real Alertmanager as receiver", () => {
  it("When an Incident opens and is then resolved, then its alert fires in Alertmanager and then ends", async () => {
    const ns = await createTestNamespace(env, "inc-am");
    await operatorWith(ns, {
      receivers: [{ name: "am", type: "alertmanager", url: alertmanager.url }],
      routes: [{ receivers: ["am"] }],
    });
    await createIncident(ns, "backup-failed", {
      severity: "high",
      title: "Nightly backup failed",
      source: { kind: "External", name: "cron" },
    });
    await deliveryOf(ns, "backup-failed", { receiver: "am", event: "Opened" }, delivered);
    const alerts = await alertmanager.alerts({ namespace: ns, incident: "backup-failed" });
    const status = (await getIncident(ns, "backup-failed")).status!;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.status.state).toBe("active");
    expect(alerts[0]!.labels).toEqual({
      alertname: "PakeIncident",
      namespace: ns,
      incident: "backup-failed",
      severity: "high",
      source_kind: "External",
      source_name: "cron",
    });
    expect(alerts[0]!.annotations).toEqual({
      summary: "Nightly backup failed",
      escalation_target: "team lead",
      response_deadline: status.responseDeadline,
    });
    expect(Date.parse(alerts[0]!.startsAt)).toBe(Date.parse(status.openedAt!));
    expect(Date.parse(alerts[0]!.endsAt)).toBeGreaterThan(Date.now() + 23 * 60 * MINUTE);

    await client.patch(
      incidentDescriptor,
      { namespace: ns, name: "backup-failed" },
      { spec: { resolved: true } },
    );
    await deliveryOf(ns, "backup-failed", { receiver: "am", event: "Resolved" }, delivered);
    // An ended alert (endsAt = resolvedAt, in the past) is no longer listed.
    await waitFor(
      async () =>
        (await alertmanager.alerts({ namespace: ns, incident: "backup-failed" })).length === 0,
      { what: "the alert to end", timeoutMs: 10_000 },
    );
  }, 90_000);
});

describe("Given receivers that fail", () => {
  it("When a receiver fails the first three attempts, then it gets the notification on the fourth and status says attempts 4", async () => {
    const ns = await createTestNamespace(env, "inc-retry");
    const flaky = await new TestReceiver((n) => (n <= 3 ? 503 : 200)).listen();
    await operatorWith(ns, {
      receivers: [{ name: "flaky", type: "webhook", url: flaky.url }],
      routes: [{ receivers: ["flaky"] }],
      delivery: FAST_DELIVERY,
    });
    await createIncident(ns, "disk-full", { severity: "high", title: "Disk full" });
    const seen = await deliveryOf(
      ns,
      "disk-full",
      { receiver: "flaky", event: "Opened" },
      (d) => d.attempts >= 1,
    );
    expect(seen.attempts === 1 ? seen.lastError : "HTTP 503").toBe("HTTP 503");
    const done = await deliveryOf(
      ns,
      "disk-full",
      { receiver: "flaky", event: "Opened" },
      delivered,
    );
    expect(done.attempts).toBe(4);
    expect(flaky.requests).toHaveLength(4);
    expect(new Set(flaky.keys())).toEqual(new Set([done.key]));
  }, 90_000);

  it("When a receiver is down across an operator restart, then the new operator delivers it", async () => {
    const ns = await createTestNamespace(env, "inc-down");
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const policy = {
      receivers: [{ name: "later", type: "webhook", url }],
      routes: [{ receivers: ["later"] }],
      delivery: FAST_DELIVERY,
    };
    await operatorWith(ns, policy, "first");
    await createIncident(ns, "queue-stuck", { severity: "medium", title: "Queue stuck" });
    const failed = await deliveryOf(
      ns,
      "queue-stuck",
      { receiver: "later", event: "Opened" },
      (d) => d.attempts >= 1,
    );
    expect(failed.lastError).toBe("connection refused");
    expect(failed.deliveredAt).toBeUndefined();
    await killOperators();

    const later = await new TestReceiver().listen(port);
    await operatorWith(ns, policy, "second");
    const done = await deliveryOf(
      ns,
      "queue-stuck",
      { receiver: "later", event: "Opened" },
      delivered,
    );
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect(later.keys()).toEqual([done.key]);
  }, 90_000);

  it("When the operator is killed after sending and before recording, then the next one sends one duplicate with the same key", async () => {
    const ns = await createTestNamespace(env, "inc-crash");
    const first: { op?: OperatorProcess } = {};
    // The first request kills the operator before it can hear the answer.
    const hook = await new TestReceiver(async (n) => {
      if (n === 1 && first.op) {
        first.op.proc.signal("SIGKILL");
        await first.op.proc.exited;
      }
      return 200;
    }).listen();
    const policy = {
      receivers: [{ name: "hook", type: "webhook", url: hook.url }],
      routes: [{ receivers: ["hook"] }],
      delivery: FAST_DELIVERY,
    };
    first.op = await operatorWith(ns, policy, "first");
    await createIncident(ns, "cert-expiring", { severity: "high", title: "Certificate expires" });
    await waitFor(() => Promise.resolve(first.op?.proc.running === false), {
      what: "the first operator to be killed by the receiver",
      timeoutMs: 30_000,
    });
    // Sending comes before the status write that records it: nothing says delivered.
    const recorded = (await getIncident(ns, "cert-expiring")).status?.notifications ?? [];
    expect(recorded.filter(delivered)).toEqual([]);
    expect(hook.requests).toHaveLength(1);

    await operatorWith(ns, policy, "second");
    const done = await deliveryOf(
      ns,
      "cert-expiring",
      { receiver: "hook", event: "Opened" },
      delivered,
    );
    expect(done.attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(hook.keys()).toEqual([done.key, done.key]);
  }, 90_000);
});

describe("Given the sender and receiver URLs in Secrets of the operator's namespace", () => {
  let ns: string;
  beforeAll(async () => {
    ns = await createTestNamespace(env, "inc-secret");
    await createSecret(ns, "hooks", { present: "" });
  });

  async function sendWith(ref: { name: string; key: string }, receiver: TestReceiver) {
    const policy = incidentPolicyFrom({
      receivers: [{ name: "hook", type: "webhook", urlSecretKeyRef: ref }],
      routes: [{ receivers: ["hook"] }],
    });
    const sender = createNotificationSender({ client, namespace: ns, policy });
    const incident = await createIncident(
      ns,
      `direct-${receiver.port}-${ref.key}`.toLowerCase(),
      {},
    );
    const due: NotificationDelivery = {
      key: `${incident.metadata.uid}/0/Opened-0/hook`,
      receiver: "hook",
      event: "Opened",
      level: 0,
      attempts: 0,
    };
    return sender.send(incident, [due], {
      now: Date.now(),
      log: createLogger({ level: "silent" }),
    });
  }

  it("When the Secret holds the URL (with a trailing newline), then it is decoded and used", async () => {
    const hook = await new TestReceiver().listen();
    await createSecret(ns, "hook-url", { url: `${hook.url}\n` });
    const [outcome] = await sendWith({ name: "hook-url", key: "url" }, hook);
    expect(outcome?.error).toBeUndefined();
    expect(hook.requests.map((r) => r.path)).toEqual([SECRET_PATH]);
  });

  it.each([
    {
      case: "the Secret is missing",
      ref: { name: "absent", key: "url" },
      error: "Secret absent key url not found",
    },
    {
      case: "the key is missing",
      ref: { name: "hooks", key: "url" },
      error: "Secret hooks key url not found",
    },
    {
      case: "the value is not a URL",
      ref: { name: "hooks", key: "present" },
      error: "Secret hooks key present does not hold a valid URL",
    },
  ])("When $case, then the outcome says so without a request", async ({ ref, error }) => {
    const hook = await new TestReceiver().listen();
    const [outcome] = await sendWith(ref, hook);
    expect(outcome?.error).toBe(error);
    expect(hook.requests).toHaveLength(0);
  });
});
