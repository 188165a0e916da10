// MaintenanceTask: the kind's module and what tests and benchmarks use.
export {
  MAINTENANCE_TASK_CONTROLLER,
  maintenanceTaskDefinition,
  maintenanceTaskModule,
  type MaintenanceTaskDefinition,
} from "./module.ts";
export type { MaintenanceTask, MaintenanceTaskOptions } from "./reconcile.ts";
export * from "./job-builder.ts";
export { JobKind, TASK_CONFIG_ENV, type Job } from "../jobrun/index.ts";
