// The Incident kind's definition: it validates the spec and has nothing else
// to reconcile yet (the kit writes SpecValid and Ready).
import { describe, expect, it } from "vitest";
import { incidentDefinition, incidentModule } from "../../../../src/controllers/incident/module.ts";
import type { IncidentObject } from "../../../../src/controllers/incident/source.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";

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

  it("parses a valid spec with defaults and asks the kit for no status change, Event or requeue", async () => {
    const obj = incident({ severity: "low", title: "Disk" });
    const spec = incidentDefinition.schema.parse(obj.spec);
    expect(spec).toMatchObject({ acknowledged: false, resolved: false });
    await expect(incidentDefinition.reconcile(obj, spec, {} as ReconcileContext)).resolves.toEqual(
      {},
    );
  });

  it("is the module of the Incident kind", () => {
    expect(incidentModule.name).toBe("incident");
    expect(incidentDefinition.name).toBe("incident");
    expect(incidentDefinition.kind.kind).toBe("Incident");
  });
});
