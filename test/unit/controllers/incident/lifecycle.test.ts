// The Incident's response lifecycle as a pure function of spec, metadata,
// status, policy and time: no clock, no API server.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_INCIDENT_POLICY,
  incidentPolicyFrom,
  type IncidentPolicy,
} from "../../../../src/config/incident-policy.ts";
import {
  computeLifecycle,
  nextDue,
  type LifecycleIncident,
} from "../../../../src/controllers/incident/lifecycle.ts";
import {
  MAX_TIMELINE,
  type IncidentSeverity,
  type IncidentSpec,
  type IncidentStatus,
} from "../../../../src/crds/incident.ts";

const T0 = Date.UTC(2026, 11, 1, 10); // Tuesday 10:00 UTC
const MIN = 60_000;
const HOUR = 60 * MIN;

function incident(
  spec: Partial<IncidentSpec> = {},
  metadata: Partial<LifecycleIncident["metadata"]> = {},
): LifecycleIncident {
  return {
    metadata: {
      creationTimestamp: new Date(T0).toISOString(),
      generation: 1,
      uid: "u1",
      ...metadata,
    },
    spec: { severity: "high", title: "Disk full", acknowledged: false, resolved: false, ...spec },
  };
}

/** Runs the lifecycle as successive reconciles would, carrying status forward. */
function run(
  steps: {
    at: number;
    spec?: Partial<IncidentSpec>;
    metadata?: Partial<LifecycleIncident["metadata"]>;
  }[],
  policy: IncidentPolicy = DEFAULT_INCIDENT_POLICY,
  from: IncidentStatus = {},
) {
  let status = from;
  const events: string[] = [];
  let expired = false;
  for (const step of steps) {
    const out = computeLifecycle({
      incident: incident(step.spec, step.metadata),
      status,
      policy,
      now: step.at,
    });
    status = out.status;
    events.push(...out.events.map((e) => e.reason));
    expired = out.expired;
  }
  return { status, events, expired };
}

const types = (s: IncidentStatus) => (s.timeline ?? []).map((t) => t.type);

describe("Given an Incident a person creates by hand", () => {
  it.each<[IncidentSeverity, number, string]>([
    ["critical", 15 * MIN, "on-call"],
    ["high", HOUR, "team lead"],
    ["medium", 4 * HOUR, "regular team"],
    ["low", 24 * HOUR, "regular team (next business day)"],
  ])(
    "When a %s Incident is first reconciled, then it is Open with a deadline %d ms after creation and %s responds",
    (severity, ms, target) => {
      const { status, events } = run([{ at: T0 + 400, spec: { severity } }]);
      expect(status).toMatchObject({
        phase: "Open",
        openedAt: new Date(T0).toISOString().replace(".000", ""),
        responseDeadline: new Date(T0 + ms).toISOString().replace(".000", ""),
        escalationLevel: 0,
        escalationTarget: target,
        breached: false,
      });
      expect(types(status)).toEqual(["Opened"]);
      expect(events).toEqual(["Opened"]);
    },
  );

  it("When it is reconciled again with nothing new, then status and Events do not change", () => {
    const first = run([{ at: T0 }]);
    const again = computeLifecycle({
      incident: incident(),
      status: first.status,
      policy: DEFAULT_INCIDENT_POLICY,
      now: T0 + MIN,
    });
    expect(again.status).toEqual(first.status);
    expect(again.events).toEqual([]);
  });
});

describe("Given an Open Incident whose deadline passes", () => {
  it("When nobody acknowledged, then it is breached at level 1 with a Warning, and escalates each interval up to the last level", () => {
    const { status, events } = run([{ at: T0 }, { at: T0 + HOUR - 1 }, { at: T0 + HOUR }]);
    expect(status).toMatchObject({
      breached: true,
      escalationLevel: 1,
      escalationTarget: "engineering manager",
    });
    expect(events).toEqual(["Opened", "Escalated"]);
    // high has two targets: level 1 is the last; no more escalation.
    expect(status.nextEscalationTime).toBeUndefined();
    const spec = { severity: "critical" as const };
    const critical = run([
      { at: T0, spec },
      { at: T0 + 15 * MIN, spec },
      { at: T0 + 30 * MIN, spec },
      { at: T0 + 5 * HOUR, spec },
    ]);
    expect(critical.status.escalationLevel).toBe(2);
    expect(critical.events.filter((e) => e === "Escalated")).toHaveLength(2);
  });

  it("When the operator was down across several intervals, then each level passed is recorded once", () => {
    const { status } = run([
      { at: T0, spec: { severity: "critical" } },
      { at: T0 + 3 * HOUR, spec: { severity: "critical" } },
    ]);
    expect(types(status)).toEqual(["Opened", "Escalated", "Escalated"]);
    expect(status.escalationLevel).toBe(2);
  });

  it("When it was acknowledged in time, then it never escalates and the time to acknowledge is set", () => {
    const { status, events } = run([
      { at: T0 },
      { at: T0 + 20 * MIN, spec: { acknowledged: true } },
      { at: T0 + 3 * HOUR, spec: { acknowledged: true } },
    ]);
    expect(status).toMatchObject({
      phase: "Acknowledged",
      breached: false,
      escalationLevel: 0,
      timeToAcknowledgeSeconds: 1200,
    });
    expect(events).toEqual(["Opened", "Acknowledged"]);
    expect(nextDue(status, DEFAULT_INCIDENT_POLICY)).toBeUndefined();
  });
});

describe("Given people acknowledging, resolving and reopening", () => {
  it("When resolved, then MTTR is set; when acknowledged and resolved at once, resolution wins", () => {
    const both = run([
      { at: T0 },
      { at: T0 + 10 * MIN, spec: { acknowledged: true, resolved: true } },
    ]);
    expect(both.status).toMatchObject({ phase: "Resolved", timeToResolveSeconds: 600 });
    expect(types(both.status)).toEqual(["Opened", "Resolved"]);
  });

  it("When resolved is set back to false, then it is reopened with a fresh deadline and a timeline entry", () => {
    const { status, events } = run([
      { at: T0 },
      { at: T0 + MIN, spec: { resolved: true } },
      { at: T0 + 2 * HOUR, spec: { resolved: false } },
    ]);
    expect(status).toMatchObject({
      phase: "Open",
      escalationLevel: 0,
      breached: false,
      responseDeadline: new Date(T0 + 3 * HOUR).toISOString().replace(".000", ""),
    });
    expect(status.resolvedAt).toBeUndefined();
    expect(types(status)).toEqual(["Opened", "Resolved", "Reopened"]);
    expect(events).toEqual(["Opened", "Resolved", "Reopened"]);
  });

  it("When a field manager sets the change with the actor annotation, then the annotation names the actor; otherwise the manager does", () => {
    const managed = (annotated: boolean) => [
      {
        manager: "kubectl-pake",
        operation: "Update",
        fieldsV1: {
          "f:spec": { "f:acknowledged": {} },
          ...(annotated ? { "f:metadata": { "f:annotations": { "f:pake.dev/actor": {} } } } : {}),
        },
      },
    ];
    const annotations = { "pake.dev/actor": "alice@example.com" };
    const withAnnotation = run([
      { at: T0 },
      {
        at: T0 + MIN,
        spec: { acknowledged: true },
        metadata: { managedFields: managed(true), annotations },
      },
    ]);
    expect(withAnnotation.status.timeline?.at(-1)?.actor).toBe("alice@example.com");
    const stale = run([
      { at: T0 },
      {
        at: T0 + MIN,
        spec: { acknowledged: true },
        metadata: { managedFields: managed(false), annotations },
      },
    ]);
    expect(stale.status.timeline?.at(-1)?.actor).toBe("kubectl-pake");
  });
});

describe("Given a resolved Incident and the policy's closeAfter and deleteAfter", () => {
  const policy = incidentPolicyFrom({ closeAfter: "1h", deleteAfter: "2h" });

  it.each([
    { after: 59 * MIN, phase: "Resolved", expired: false },
    { after: HOUR, phase: "Closed", expired: false },
    { after: 2 * HOUR, phase: "Closed", expired: true },
  ])(
    "When $after ms have passed since resolution, then it is $phase (expired: $expired)",
    ({ after, phase, expired }) => {
      const resolved = run([{ at: T0 }, { at: T0 + MIN, spec: { resolved: true } }], policy);
      const out = run(
        [{ at: T0 + MIN + after, spec: { resolved: true } }],
        policy,
        resolved.status,
      );
      expect(out.status.phase).toBe(phase);
      expect(out.expired).toBe(expired);
    },
  );
});

describe("Given a source that reports again", () => {
  it("When occurrences rose, then one Occurred entry per reconcile records the latest message, once", () => {
    const opened = run([{ at: T0, spec: { source: { kind: "HealthCheck", name: "db" } } }]);
    const repeated = { ...opened.status, occurrences: 3, lastMessage: "connection refused" };
    const out = run(
      [
        { at: T0 + MIN, spec: { source: { kind: "HealthCheck", name: "db" } } },
        { at: T0 + 2 * MIN, spec: { source: { kind: "HealthCheck", name: "db" } } },
      ],
      DEFAULT_INCIDENT_POLICY,
      repeated,
    );
    expect(types(out.status)).toEqual(["Opened", "Occurred"]);
    expect(out.status.timeline?.at(-1)).toMatchObject({
      actor: "HealthCheck/db",
      message: "occurrence 3: connection refused",
    });
  });

  it("keeps the timeline bounded", () => {
    let status = run([{ at: T0 }]).status;
    for (let i = 2; i < MAX_TIMELINE + 10; i++) {
      status = run([{ at: T0 + i * MIN }], DEFAULT_INCIDENT_POLICY, {
        ...status,
        occurrences: i,
      }).status;
    }
    expect(status.timeline).toHaveLength(MAX_TIMELINE);
  });
});

describe("Given receivers routed by severity and level", () => {
  const policy = incidentPolicyFrom({
    receivers: [
      { name: "pager", type: "webhook", url: "http://127.0.0.1:9/pager" },
      { name: "chat", type: "slack", url: "http://127.0.0.1:9/chat" },
    ],
    routes: [
      { receivers: ["chat"] },
      { receivers: ["pager"], severities: ["critical", "high"], levels: [1] },
    ],
  });

  it("When a high Incident opens, breaches and resolves, then chat hears everything and the pager only the escalation and the resolution", () => {
    const { status } = run(
      [{ at: T0 }, { at: T0 + HOUR }, { at: T0 + HOUR + MIN, spec: { resolved: true } }],
      policy,
    );
    const queued = (status.notifications ?? []).map((n) => `${n.event}-${n.level}/${n.receiver}`);
    expect(queued).toEqual([
      "Opened-0/chat",
      "Escalated-1/pager",
      "Escalated-1/chat",
      "Resolved-1/chat",
      "Resolved-1/pager",
    ]);
    expect(new Set(status.notifications?.map((n) => n.key)).size).toBe(5);
  });

  it("When a low Incident opens on a Saturday, then its notification waits for Monday 09:00 in the policy's zone", () => {
    const berlin = incidentPolicyFrom({
      timeZone: "Europe/Berlin",
      receivers: [{ name: "chat", type: "slack", url: "http://127.0.0.1:9/c" }],
      routes: [{ receivers: ["chat"] }],
    });
    const saturday = Date.UTC(2026, 11, 5, 12);
    const { status } = run(
      [
        {
          at: saturday,
          spec: { severity: "low" },
          metadata: { creationTimestamp: new Date(saturday).toISOString() },
        },
      ],
      berlin,
    );
    expect(status.notifications?.[0]?.nextAttemptTime).toBe("2026-12-07T08:00:00Z");
  });
});
