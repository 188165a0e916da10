// Notification receivers: the three payloads field by field (pure), and the
// sender against a real local HTTP server: what counts as delivered, the
// short errors that never carry the URL, the timeout, the headers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { incidentPolicyFrom, type IncidentPolicy } from "../../../../src/config/incident-policy.ts";
import {
  alertmanagerPayload,
  alertsEndpoint,
  createNotificationSender,
  failureMessage,
  slackPayload,
  webhookPayload,
  type NotificationInput,
} from "../../../../src/controllers/incident/receivers.ts";
import type { IncidentObject } from "../../../../src/controllers/incident/source.ts";
import type { NotificationDelivery } from "../../../../src/crds/incident.ts";
import type { KubeClient } from "../../../../src/runtime/kube.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { freePort } from "../../../env/ports.ts";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const OPENED = "2026-03-02T09:55:00Z";
const DEADLINE = "2026-03-02T10:10:00Z";
const RESOLVED = "2026-03-02T09:59:30Z";

function incident(
  overrides: { status?: IncidentObject["status"]; spec?: Partial<IncidentObject["spec"]> } = {},
) {
  return {
    apiVersion: "pake.dev/v1alpha1",
    kind: "Incident",
    metadata: {
      namespace: "prod",
      name: "pg-down-1a2b",
      uid: "uid-1",
      creationTimestamp: OPENED,
    },
    spec: {
      severity: "critical",
      title: "PostgreSQL is down",
      description: "connection refused on 5432",
      source: { kind: "HealthCheck", name: "pg" },
      acknowledged: false,
      resolved: false,
      ...overrides.spec,
    },
    status: {
      phase: "Open",
      openedAt: OPENED,
      responseDeadline: DEADLINE,
      escalationLevel: 0,
      escalationTarget: "on-call",
      occurrences: 3,
      ...overrides.status,
    },
  } as IncidentObject;
}

function delivery(
  event: NotificationDelivery["event"],
  level = 0,
  receiver = "hook",
): NotificationDelivery {
  return {
    key: `uid-1/1772445300/${event}-${level}/${receiver}`,
    receiver,
    event,
    level,
    attempts: 0,
    nextAttemptTime: OPENED,
  };
}

const input = (
  event: NotificationDelivery["event"],
  obj = incident(),
  level = 0,
): NotificationInput => ({
  incident: obj,
  delivery: delivery(event, level),
  target: "on-call",
  now: NOW,
});

describe("Given the generic webhook payload", () => {
  it("When an Incident opens, then every field is filled from the Incident and the delivery", () => {
    expect(webhookPayload(input("Opened"))).toEqual({
      idempotencyKey: "uid-1/1772445300/Opened-0/hook",
      event: "Opened",
      level: 0,
      target: "on-call",
      incident: {
        namespace: "prod",
        name: "pg-down-1a2b",
        uid: "uid-1",
        severity: "critical",
        title: "PostgreSQL is down",
        description: "connection refused on 5432",
        phase: "Open",
        source: { kind: "HealthCheck", name: "pg" },
        responseDeadline: DEADLINE,
        escalationLevel: 0,
        openedAt: OPENED,
        resolvedAt: null,
        occurrences: 3,
      },
    });
  });

  it("When a hand-made Incident without description or source resolves, then those are null and resolvedAt is set", () => {
    const obj = incident({
      spec: { description: undefined, source: undefined },
      status: { phase: "Resolved", resolvedAt: RESOLVED, occurrences: undefined },
    });
    const payload = webhookPayload(input("Resolved", obj));
    expect(payload.event).toBe("Resolved");
    expect(payload.incident).toMatchObject({
      description: null,
      source: null,
      phase: "Resolved",
      resolvedAt: RESOLVED,
      occurrences: 1,
    });
  });
});

describe("Given the Slack payload", () => {
  it.each([
    {
      event: "Opened" as const,
      level: 0,
      text: "[CRITICAL] Opened: PostgreSQL is down (prod/pg-down-1a2b) — on-call, respond by 2026-03-02T10:10:00Z",
    },
    {
      event: "Reopened" as const,
      level: 0,
      text: "[CRITICAL] Reopened: PostgreSQL is down (prod/pg-down-1a2b) — on-call, respond by 2026-03-02T10:10:00Z",
    },
    {
      event: "Escalated" as const,
      level: 1,
      text: "[CRITICAL] Escalated to level 1: PostgreSQL is down (prod/pg-down-1a2b) — on-call, deadline 2026-03-02T10:10:00Z passed",
    },
  ])("When the event is $event, then the text is one line naming it", ({ event, level, text }) => {
    expect(slackPayload(input(event, incident(), level))).toEqual({ text });
  });

  it("When the Incident resolves, then the text says when", () => {
    const obj = incident({ status: { phase: "Resolved", resolvedAt: RESOLVED } });
    expect(slackPayload(input("Resolved", obj)).text).toBe(
      "[CRITICAL] Resolved: PostgreSQL is down (prod/pg-down-1a2b) — resolved at 2026-03-02T09:59:30Z",
    );
  });

  it("When the title holds Slack's control characters and a line break, then they are escaped and folded", () => {
    const obj = incident({ spec: { title: "a < b &\nc > d" } });
    expect(slackPayload(input("Opened", obj)).text).toContain("a &lt; b &amp; c &gt; d (prod/");
  });
});

describe("Given the Alertmanager payload", () => {
  const labels = {
    alertname: "PakeIncident",
    namespace: "prod",
    incident: "pg-down-1a2b",
    severity: "critical",
    source_kind: "HealthCheck",
    source_name: "pg",
  };

  it.each(["Opened", "Escalated", "Reopened"] as const)(
    "When the event is %s, then one alert fires from openedAt until a day from now",
    (event) => {
      expect(alertmanagerPayload(input(event))).toEqual([
        {
          labels,
          annotations: {
            summary: "PostgreSQL is down",
            description: "connection refused on 5432",
            escalation_target: "on-call",
            response_deadline: DEADLINE,
          },
          startsAt: OPENED,
          endsAt: "2026-03-03T10:00:00Z",
        },
      ]);
    },
  );

  it("When the Incident resolves, then the same labels end at resolvedAt", () => {
    const obj = incident({ status: { phase: "Resolved", resolvedAt: RESOLVED } });
    const [alert] = alertmanagerPayload(input("Resolved", obj));
    expect(alert?.labels).toEqual(labels);
    expect(alert?.endsAt).toBe(RESOLVED);
  });

  it("When a resolution has no resolvedAt yet, then the alert ends now", () => {
    expect(alertmanagerPayload(input("Resolved"))[0]?.endsAt).toBe("2026-03-02T10:00:00Z");
  });

  it("When the Incident has no source or description, then those labels and annotations are left out", () => {
    const obj = incident({ spec: { description: undefined, source: undefined } });
    const [alert] = alertmanagerPayload(input("Opened", obj));
    expect(Object.keys(alert?.labels ?? {})).toEqual([
      "alertname",
      "namespace",
      "incident",
      "severity",
    ]);
    expect(alert?.annotations).not.toHaveProperty("description");
  });

  it.each([
    { base: "http://am:9093", endpoint: "http://am:9093/api/v2/alerts" },
    { base: "http://am:9093/", endpoint: "http://am:9093/api/v2/alerts" },
    { base: "https://gw/alertmanager/", endpoint: "https://gw/alertmanager/api/v2/alerts" },
    { base: "http://am:9093/api/v2/alerts", endpoint: "http://am:9093/api/v2/alerts" },
  ])("When the receiver's URL is $base, then alerts go to $endpoint", ({ base, endpoint }) => {
    expect(alertsEndpoint(new URL(base)).toString()).toBe(endpoint);
  });
});

describe("Given failures of a request", () => {
  const withCause = (code: string) =>
    Object.assign(new TypeError("fetch failed"), { cause: { code } });
  it.each([
    {
      case: "a timeout",
      err: new DOMException("signal timed out", "TimeoutError"),
      message: "timeout after 10s",
    },
    { case: "a refused connection", err: withCause("ECONNREFUSED"), message: "connection refused" },
    { case: "an unknown host", err: withCause("ENOTFOUND"), message: "host not found" },
    {
      case: "a bad certificate",
      err: withCause("DEPTH_ZERO_SELF_SIGNED_CERT"),
      message: "TLS error (DEPTH_ZERO_SELF_SIGNED_CERT)",
    },
    { case: "another code", err: withCause("EPROTO"), message: "request failed (EPROTO)" },
    {
      case: "an error naming the URL",
      err: new Error("bad https://hooks.slack.com/services/T/B/secret"),
      message: "request failed",
    },
  ])("When it is $case, then the message is '$message'", ({ err, message }) => {
    expect(failureMessage(err, "10s")).toBe(message);
  });
});

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A real HTTP receiver on a free port that answers with `respond`. */
async function receiver(respond: (res: ServerResponse, n: number) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
      });
      respond(res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/services/T000/B000/s3cr3t-token`, received };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

function policyWith(type: string, url: string, timeout = "2s"): IncidentPolicy {
  return incidentPolicyFrom({
    receivers: [{ name: "hook", type, url, timeout }],
    routes: [{ receivers: ["hook"] }],
  });
}

/** A logger whose lines are kept, to check that no URL is logged. */
function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { log: createLogger({ level: "debug" }, sink), lines };
}

// No Secret-sourced receiver here: the client is never called (the
// integration test covers urlSecretKeyRef against the real API server).
const noClient = {} as KubeClient;

async function sendOne(policy: IncidentPolicy, event: NotificationDelivery["event"] = "Opened") {
  const sender = createNotificationSender({ client: noClient, namespace: "pake-system", policy });
  const { log, lines } = capturedLog();
  const outcomes = await sender.send(incident(), [delivery(event)], { now: NOW, log });
  return { outcomes, lines };
}

describe("Given a sender and a real HTTP receiver", () => {
  it.each([
    { type: "webhook", build: webhookPayload },
    { type: "slack", build: slackPayload },
  ])(
    "When a $type receiver answers 2xx, then the delivery succeeds and the request carries the payload and the key",
    async ({ type, build }) => {
      const hook = await receiver((res) => res.writeHead(type === "slack" ? 200 : 204).end());
      const { outcomes } = await sendOne(policyWith(type, hook.url));
      expect(outcomes).toEqual([{ key: delivery("Opened").key, at: NOW }]);
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]?.path).toBe("/services/T000/B000/s3cr3t-token");
      expect(hook.received[0]?.headers["idempotency-key"]).toBe(delivery("Opened").key);
      expect(hook.received[0]?.headers["content-type"]).toBe("application/json");
      expect(hook.received[0]?.body).toEqual(build(input("Opened")));
    },
  );

  it("When an alertmanager receiver answers 200, then the alert went to /api/v2/alerts", async () => {
    const am = await receiver((res) => res.writeHead(200).end());
    const base = new URL(am.url).origin;
    const { outcomes } = await sendOne(policyWith("alertmanager", base));
    expect(outcomes[0]?.error).toBeUndefined();
    expect(am.received[0]?.path).toBe("/api/v2/alerts");
    expect(am.received[0]?.body).toEqual(alertmanagerPayload(input("Opened")));
  });

  it("When the receiver answers 503, then the outcome is 'HTTP 503' and neither it nor the log names the URL", async () => {
    const hook = await receiver((res) => res.writeHead(503).end("try later"));
    const { outcomes, lines } = await sendOne(policyWith("slack", hook.url));
    expect(outcomes).toEqual([{ key: delivery("Opened").key, at: NOW, error: "HTTP 503" }]);
    expect(lines.join("")).toContain("Failed to deliver notification");
    expect(lines.join("")).not.toContain("s3cr3t-token");
  });

  it("When the receiver does not answer within its timeout, then the outcome says so", async () => {
    const hook = await receiver(() => undefined);
    const started = Date.now();
    const { outcomes } = await sendOne(policyWith("webhook", hook.url, "300ms"));
    expect(outcomes[0]?.error).toBe("timeout after 300ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("When nothing listens on the receiver's port, then the outcome is 'connection refused'", async () => {
    const port = await freePort();
    const { outcomes, lines } = await sendOne(
      policyWith("webhook", `http://127.0.0.1:${port}/s3cr3t-token`),
    );
    expect(outcomes[0]?.error).toBe("connection refused");
    expect(lines.join("")).not.toContain("s3cr3t-token");
  });

  it("When the receiver redirects, then it is not followed and counts as a failure", async () => {
    const hook = await receiver((res) =>
      res.writeHead(302, { location: "http://127.0.0.1:1/" }).end(),
    );
    const { outcomes } = await sendOne(policyWith("webhook", hook.url));
    expect(outcomes[0]?.error).toBe("request failed");
  });

  it("When the delivery names a receiver the policy no longer has, then it fails without a request", async () => {
    const hook = await receiver((res) => res.writeHead(200).end());
    const sender = createNotificationSender({
      client: noClient,
      namespace: "pake-system",
      policy: policyWith("webhook", hook.url),
    });
    const outcomes = await sender.send(incident(), [delivery("Opened", 0, "gone")], {
      now: NOW,
      log: createLogger({ level: "silent" }),
    });
    expect(outcomes[0]?.error).toBe("receiver gone is not in the incident policy");
    expect(hook.received).toHaveLength(0);
  });

  it("When several deliveries are due, then each is tried once, in order, with its own outcome", async () => {
    const hook = await receiver((res, n) => res.writeHead(n === 1 ? 500 : 200).end());
    const sender = createNotificationSender({
      client: noClient,
      namespace: "pake-system",
      policy: policyWith("webhook", hook.url),
    });
    const due = [delivery("Opened"), delivery("Escalated", 1)];
    const outcomes = await sender.send(incident(), due, {
      now: NOW,
      log: createLogger({ level: "silent" }),
    });
    expect(outcomes.map((o) => o.error)).toEqual(["HTTP 500", undefined]);
    expect(hook.received.map((r) => r.headers["idempotency-key"])).toEqual(due.map((d) => d.key));
  });
});
