// Semantic checks of an Incident behind the CRD schema.
import { IncidentSpec, type Incident } from "../../crds/incident.ts";
import { schemaProblems, type SpecProblem } from "../kit/spec-validation.ts";

export function validateIncident(inc: Incident): SpecProblem[] {
  return schemaProblems(IncidentSpec, inc.spec);
}
