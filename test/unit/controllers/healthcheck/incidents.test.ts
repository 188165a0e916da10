import { describe, expect, it } from "vitest";
// A HealthCheck as an Incident source: what it tells the source API
// (reports.ts) and what the source API makes of it (incident/source.ts).
import {
  incidentRequest,
  incidentSource,
} from "../../../../src/controllers/healthcheck/reports.ts";
import type { HealthCheckObject } from "../../../../src/controllers/healthcheck/status.ts";
import {
  incidentName,
  initialStatus,
  newIncident,
  repeatStatus,
  resolvedStatus,
} from "../../../../src/controllers/incident/source.ts";
import { IncidentLabel } from "../../../../src/crds/incident.ts";

const T0 = Date.UTC(2026, 0, 1, 12);

const check: HealthCheckObject = {
  apiVersion: "pake.dev/v1alpha1",
  kind: "HealthCheck",
  metadata: { namespace: "prod", name: "db", uid: "11111111-2222-3333-4444-555555555555" },
  spec: {
    interval: "30s",
    timeout: "5s",
    failureThreshold: 3,
    successThreshold: 2,
    suspend: false,
    target: {
      postgres: { connectionSecretRef: { name: "db" }, query: "SELECT 1", collectStatements: true },
    },
  },
  status: { target: "postgres/db" },
};

type CriticalReport = Parameters<typeof incidentRequest>[1];

const input = (over: Partial<CriticalReport> = {}) =>
  incidentRequest(check, {
    severity: "high",
    message: "connect ECONNREFUSED 127.0.0.1:5432 (postgresql://app:pw@db/app)",
    since: "2026-01-01T11:59:00.000Z",
    now: T0,
    occurrence: true,
    ...over,
  });
const source = incidentSource(check);

describe("Given a check that turned Critical", () => {
  it("names the Incident deterministically per episode", () => {
    expect(incidentName(source, "2026-01-01T11:59:00.000Z")).toBe(
      incidentName(source, "2026-01-01T11:59:00.000Z"),
    );
    expect(incidentName(source, "2026-01-01T11:59:00.000Z")).not.toBe(
      incidentName(source, "2026-01-01T13:00:00.000Z"),
    );
    expect(incidentName(source, "x")).toMatch(/^db-[0-9a-f]{8}$/);
    expect(newIncident(input()).metadata.name).toBe(
      incidentName(source, "2026-01-01T11:59:00.000Z"),
    );
  });

  it("builds an Incident with severity, source, labels (no owner) and a redacted description", () => {
    const incident = newIncident(input());
    expect(incident.metadata.labels?.[IncidentLabel.SourceUid]).toBe(check.metadata.uid);
    expect(incident.metadata.ownerReferences).toBeUndefined();
    expect(incident.spec).toMatchObject({
      severity: "high",
      source: { kind: "HealthCheck", name: "db" },
      resolved: false,
      acknowledged: false,
    });
    expect(incident.spec.description).toContain("postgres/db: connect ECONNREFUSED");
    expect(incident.spec.description).not.toContain(":pw@");
    expect(incident.spec.title).toBe("HealthCheck db is Critical");
    expect(input().message).not.toContain(":pw@");
  });

  it("initialises the source's status fields once: one occurrence, first and last seen", () => {
    const status = initialStatus({}, input());
    expect(status).toMatchObject({
      occurrences: 1,
      firstSeen: "2026-01-01T12:00:00Z",
      lastSeen: "2026-01-01T12:00:00Z",
    });
    expect(status).not.toHaveProperty("phase");
    expect(initialStatus(status, input({ now: T0 + 5000 }))).toBe(status);
  });

  it("raises occurrences on a new occurrence and only lastSeen on a refresh", () => {
    const open = initialStatus({}, input());
    const refreshed = repeatStatus(open, input({ now: T0 + 60_000, occurrence: false }));
    expect(refreshed).toMatchObject({ occurrences: 1, lastSeen: "2026-01-01T12:01:00Z" });
    const again = repeatStatus(refreshed, input({ now: T0 + 120_000 }));
    expect(again).toMatchObject({ occurrences: 2, lastSeen: "2026-01-01T12:02:00Z" });
  });

  it("records the recovery message for the Incident controller's timeline", () => {
    const open = initialStatus({}, input());
    expect(resolvedStatus(open, { message: "Healthy again" })).toMatchObject({
      lastMessage: "Healthy again",
    });
  });
});
