// MaintenanceTask on the controller kit: its KindDefinition (schema,
// semantic validation, reconcile) and its module (one kind controller that
// owns the task's Jobs, so a Job event re-queues its task).
import {
  MaintenanceTaskSpec,
  maintenanceTaskDescriptor,
  type MaintenanceTaskStatus,
  type MaintenanceTask as MaintenanceTaskResource,
} from "../../crds/maintenancetask.ts";
import { JobKind } from "../jobrun/index.ts";
import { kindModule, type KindDefinition } from "../kit/index.ts";
import {
  reconcileMaintenanceTask,
  type MaintenanceTask,
  type MaintenanceTaskOptions,
} from "./reconcile.ts";
import { validateMaintenanceTask, type MaintenanceTaskPolicy } from "./validate.ts";

export const MAINTENANCE_TASK_CONTROLLER = "maintenancetask";
/**
 * Reconciles mostly wait on the API server; at a popular minute (every task
 * on "0 * * * *") many are due at once.
 */
const WORKERS = 16;

export type MaintenanceTaskDefinition = KindDefinition<
  MaintenanceTask,
  MaintenanceTaskSpec,
  MaintenanceTaskStatus
>;

/** The kind definition (exported so tests can drive one reconcile with a FakeClock). */
export function maintenanceTaskDefinition(
  options: MaintenanceTaskOptions & Partial<MaintenanceTaskPolicy>,
): MaintenanceTaskDefinition {
  const policy = { allowCustomServiceAccount: options.allowCustomServiceAccount ?? false };
  return {
    name: MAINTENANCE_TASK_CONTROLLER,
    kind: maintenanceTaskDescriptor,
    schema: MaintenanceTaskSpec,
    // The validator reads the same fields the CRD type declares.
    validate: (task) => validateMaintenanceTask(task as unknown as MaintenanceTaskResource, policy),
    reconcile: (task, spec, ctx) => reconcileMaintenanceTask(task, spec, ctx, options),
  };
}

export const maintenanceTaskModule = kindModule(
  MAINTENANCE_TASK_CONTROLLER,
  (ctx) =>
    maintenanceTaskDefinition({
      runnerImage: ctx.config.runnerImage,
      allowCustomServiceAccount: ctx.config.allowCustomServiceAccount ?? false,
    }),
  { owns: [JobKind], workers: WORKERS },
);
