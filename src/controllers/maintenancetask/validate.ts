// Semantic checks of a MaintenanceTask behind the CRD schema.
import { MaintenanceTaskSpec, type MaintenanceTask } from "../../crds/maintenancetask.ts";
import { schemaProblems, scheduleProblems, type SpecProblem } from "../kit/spec-validation.ts";

/** Operator-level settings that narrow what a task may ask for. */
export interface MaintenanceTaskPolicy {
  /** --allow-custom-service-account: a custom task may run as the ServiceAccount it names. */
  allowCustomServiceAccount: boolean;
}

const DEFAULT_POLICY: MaintenanceTaskPolicy = { allowCustomServiceAccount: false };

/**
 * A custom task's own ServiceAccount gives its image that account's rights
 * (and its token), which the task's author may not hold: an operator-level
 * opt-in.
 */
function serviceAccountProblems(mt: MaintenanceTask, policy: MaintenanceTaskPolicy): SpecProblem[] {
  const named = mt.spec?.task?.custom?.serviceAccountName;
  if (named === undefined || policy.allowCustomServiceAccount) return [];
  return [
    {
      field: "spec.task.custom.serviceAccountName",
      message: `naming a ServiceAccount ("${named}") is not allowed by this operator (--allow-custom-service-account is off)`,
    },
  ];
}

export function validateMaintenanceTask(
  mt: MaintenanceTask,
  policy: MaintenanceTaskPolicy = DEFAULT_POLICY,
): SpecProblem[] {
  return [
    ...schemaProblems(MaintenanceTaskSpec, mt.spec),
    ...scheduleProblems(mt.spec ?? {}, mt.metadata),
    ...serviceAccountProblems(mt, policy),
  ];
}
