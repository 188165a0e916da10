// The Incident kind's definition: spec validation and wiring (the lifecycle
// itself is tested in lifecycle.test.ts).
import { describe, expect, it } from "vitest";
import { DEFAULT_INCIDENT_POLICY } from "../../../../src/config/incident-policy.ts";
import {
  incidentDefinition as definitionOf,
  incidentModule,
} from "../../../../src/controllers/incident/module.ts";
import type { IncidentObject } from "../../../../src/controllers/incident/source.ts";

const incidentDefinition = definitionOf({
  policy: DEFAULT_INCIDENT_POLICY,
  sender: { send: () => Promise.resolve([]) },
});

const incident = (spec: Record<string, unknown>): IncidentObject =>
  ({
    apiVersion: "pake.dev/v1alpha1",
    kind: "Incident",
    metadata: { namespace: "prod", name: "inc", uid: "u1", generation: 1 },
    spec,
  }) as IncidentObject;

describe("Given Incidents written by hand", () => {
  it.each([
    { case: "a minimal valid spec", spec: { severity: "low", title: "Disk" }, fields: [] },
    {
      case: "an unknown severity",
      spec: { severity: "urgent", title: "Disk" },
      fields: ["spec.severity"],
    },
    { case: "an empty title", spec: { severity: "high", title: "" }, fields: ["spec.title"] },
    { case: "no title", spec: { severity: "high" }, fields: ["spec.title"] },
  ])("$case gives problems at $fields", ({ spec, fields }) => {
    expect(incidentDefinition.validate(incident(spec)).map((p) => p.field)).toEqual(fields);
  });

  it("parses a valid spec with defaults: neither acknowledged nor resolved", () => {
    const obj = incident({ severity: "low", title: "Disk" });
    expect(incidentDefinition.schema.parse(obj.spec)).toMatchObject({
      acknowledged: false,
      resolved: false,
    });
  });

  it("is the module of the Incident kind", () => {
    expect(incidentModule.name).toBe("incident");
    expect(incidentDefinition.name).toBe("incident");
    expect(incidentDefinition.kind.kind).toBe("Incident");
  });
});
