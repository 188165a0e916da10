// The Incident kind as a controller module. Today its controller only
// validates the spec: the kit writes SpecValid (and Ready=False/InvalidSpec
// while the spec is wrong, cleared to Unknown/Pending once it is fixed), so
// reconcile has nothing to add. Issue 10's response lifecycle (phase,
// deadline, escalation, notifications; lifecycle.ts) is this reconcile.
// Sources open and resolve Incidents through source.ts, not through here.
import { IncidentSpec, incidentDescriptor, type IncidentStatus } from "../../crds/incident.ts";
import { kindModule, type KindDefinition } from "../kit/kind-controller.ts";
import type { IncidentObject } from "./source.ts";
import { validateIncident } from "./validate.ts";

export const incidentDefinition: KindDefinition<IncidentObject, IncidentSpec, IncidentStatus> = {
  name: "incident",
  kind: incidentDescriptor,
  schema: IncidentSpec,
  validate: validateIncident,
  reconcile: () => Promise.resolve({}),
};

export const incidentModule = kindModule(incidentDefinition.name, () => incidentDefinition);
