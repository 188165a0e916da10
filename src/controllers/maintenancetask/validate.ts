// Semantic checks of a MaintenanceTask behind the CRD schema.
import { MaintenanceTaskSpec, type MaintenanceTask } from "../../crds/maintenancetask.ts";
import { schemaProblems, scheduleProblems, type SpecProblem } from "../kit/spec-validation.ts";

export function validateMaintenanceTask(mt: MaintenanceTask): SpecProblem[] {
  return [
    ...schemaProblems(MaintenanceTaskSpec, mt.spec),
    ...scheduleProblems(mt.spec ?? {}, mt.metadata),
  ];
}
