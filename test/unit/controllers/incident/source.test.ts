// The pure part of the Incident source API: names, the Incident a source
// creates, and what opening, repeating and resolving change in status.
import { describe, expect, it } from "vitest";
import {
  incidentName,
  initialStatus,
  newIncident,
  repeatStatus,
  resolvedStatus,
  sourceSelector,
  type IncidentSourceRef,
  type OpenIncidentRequest,
} from "../../../../src/controllers/incident/source.ts";
import { IncidentLabel, type IncidentStatus } from "../../../../src/crds/incident.ts";

const T0 = Date.UTC(2026, 0, 1, 12);
const UID = "11111111-2222-3333-4444-555555555555";

const sourceOf = (over: Partial<IncidentSourceRef> = {}): IncidentSourceRef => ({
  kind: "MaintenanceTask",
  namespace: "prod",
  name: "vacuum",
  uid: UID,
  ...over,
});

const request = (over: Partial<OpenIncidentRequest> = {}): OpenIncidentRequest => ({
  source: sourceOf(),
  severity: "high",
  title: "MaintenanceTask vacuum failed",
  description: "vacuum: exit code 1",
  message: "exit code 1",
  episode: "2026-01-01T11:59:00.000Z",
  now: T0,
  occurrence: true,
  ...over,
});

/** Top-level status fields whose value differs. */
function changedFields(before: IncidentStatus, after: IncidentStatus): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys]
    .filter(
      (k) =>
        JSON.stringify(before[k as keyof IncidentStatus]) !==
        JSON.stringify(after[k as keyof IncidentStatus]),
    )
    .sort();
}

describe("Given a source of each kind", () => {
  it.each(["HealthCheck", "MaintenanceTask", "BackupPolicy"] as const)(
    "a %s opens an Incident labelled and described as its source, not owned by it",
    (kind) => {
      const incident = newIncident(request({ source: sourceOf({ kind, name: "app" }) }));
      expect(incident).toMatchObject({ apiVersion: "pake.dev/v1alpha1", kind: "Incident" });
      expect(incident.metadata.namespace).toBe("prod");
      expect(incident.metadata.labels).toEqual({
        [IncidentLabel.SourceKind]: kind,
        [IncidentLabel.SourceUid]: UID,
        [IncidentLabel.SourceName]: "app",
      });
      // Records outlive their source: no owner reference, so no garbage collection.
      expect(incident.metadata.ownerReferences).toBeUndefined();
      expect(incident.spec).toEqual({
        severity: "high",
        title: "MaintenanceTask vacuum failed",
        description: "vacuum: exit code 1",
        source: { kind, name: "app" },
        acknowledged: false,
        resolved: false,
      });
      expect(sourceSelector(sourceOf({ kind }))).toBe(`pake.dev/source-uid=${UID}`);
    },
  );
});

describe("Given source names and episodes", () => {
  it.each([
    { case: "a short name", name: "vacuum", pattern: /^vacuum-[0-9a-f]{8}$/, label: true },
    {
      case: "a name too long for a label value",
      name: `n${"a".repeat(70)}`,
      pattern: /^na+-[0-9a-f]{8}$/,
      label: false,
    },
    {
      case: "a name at the 253-character limit",
      name: "a".repeat(253),
      pattern: /^a{244}-[0-9a-f]{8}$/,
      label: false,
    },
  ])("$case gives a valid deterministic name", ({ name, pattern, label }) => {
    const source = sourceOf({ name });
    const derived = incidentName(source, "e1");
    expect(derived).toMatch(pattern);
    expect(derived.length).toBeLessThanOrEqual(253);
    expect(incidentName(source, "e1")).toBe(derived);
    const labels = newIncident(request({ source, episode: "e1" })).metadata.labels ?? {};
    expect(labels[IncidentLabel.SourceName] !== undefined).toBe(label);
    expect(newIncident(request({ source, episode: "e1" })).metadata.name).toBe(derived);
  });

  it.each([
    { case: "another episode", source: sourceOf(), episode: "e2" },
    {
      case: "another source with the same name",
      source: sourceOf({ uid: "99999999-2222-3333-4444-555555555555" }),
      episode: "e1",
    },
  ])("$case gives another name", ({ source, episode }) => {
    expect(incidentName(source, episode)).not.toBe(incidentName(sourceOf(), "e1"));
  });

  it.each([
    { field: "title", limit: 256, text: (over: string) => ({ title: over }) },
    { field: "description", limit: 16384, text: (over: string) => ({ description: over }) },
  ] as const)("a long $field is cut to the CRD's $limit characters", ({ field, limit, text }) => {
    const incident = newIncident(request(text("x".repeat(limit + 10))));
    expect(incident.spec[field]).toHaveLength(limit);
  });
});

describe("Given an Incident's status as a source opens, repeats and resolves it", () => {
  const opened = initialStatus({}, request());

  it.each([
    {
      step: "open",
      apply: (s: IncidentStatus) => initialStatus(s, request()),
      from: {},
      changed: ["firstSeen", "lastMessage", "lastSeen", "occurrences"],
      expected: { occurrences: 1, firstSeen: "2026-01-01T12:00:00Z" },
    },
    {
      step: "open again (already initialised)",
      apply: (s: IncidentStatus) => initialStatus(s, request({ now: T0 + 5000 })),
      from: opened,
      changed: [],
      expected: { occurrences: 1 },
    },
    {
      step: "refresh (no new occurrence)",
      apply: (s: IncidentStatus) =>
        repeatStatus(s, request({ now: T0 + 60_000, occurrence: false })),
      from: opened,
      changed: ["lastSeen"],
      expected: { occurrences: 1, lastSeen: "2026-01-01T12:01:00Z" },
    },
    {
      step: "repeat (a new occurrence)",
      apply: (s: IncidentStatus) =>
        repeatStatus(s, request({ now: T0 + 120_000, message: "down again" })),
      from: opened,
      changed: ["lastMessage", "lastSeen", "occurrences"],
      expected: { occurrences: 2, lastSeen: "2026-01-01T12:02:00Z", lastMessage: "down again" },
    },
    {
      step: "resolve",
      apply: (s: IncidentStatus) => resolvedStatus(s, { message: "recovered" }),
      from: opened,
      changed: ["lastMessage"],
      expected: { lastMessage: "recovered" },
    },
  ])("$step changes exactly $changed", ({ apply, from, changed, expected }) => {
    const after = apply(from);
    expect(changedFields(from, after)).toEqual(changed);
    expect(after).toMatchObject(expected);
  });

  it.each([
    { step: "open", status: opened },
    { step: "repeat", status: repeatStatus(opened, request({ now: T0 + 1000 })) },
    { step: "resolve", status: resolvedStatus(opened, { message: "recovered" }) },
  ])("$step writes none of the fields the Incident controller owns", ({ status }) => {
    for (const field of ["phase", "responseDeadline", "escalationLevel", "breached", "timeline"]) {
      expect(status).not.toHaveProperty(field);
    }
  });

  it("keeps the source's message within the CRD's limit", () => {
    const status = repeatStatus(opened, request({ now: T0 + 1000, message: "m".repeat(2000) }));
    expect(status.lastMessage).toHaveLength(1024);
  });
});
