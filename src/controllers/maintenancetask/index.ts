// The MaintenanceTask controller for the manager: an informer on the tasks,
// one on their Jobs (a Job event re-queues its owning task), and reconcile.
import type { KubeConfig } from "@kubernetes/client-node";
import { maintenanceTaskDescriptor } from "../../crds/index.ts";
import type { Clock } from "../../runtime/clock.ts";
import type { OperatorConfig } from "../../runtime/config.ts";
import { createController, type Controller } from "../../runtime/controller.ts";
import type { Logger } from "../../runtime/log.ts";
import { reconcileMaintenanceTask, type MaintenanceTask } from "./controller.ts";
import { jobKind } from "./job-builder.ts";

export { reconcileMaintenanceTask, type MaintenanceTaskOptions } from "./controller.ts";
export * from "./job-builder.ts";

export interface MaintenanceTaskControllerDeps {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
  clock?: Clock;
  watchdogGraceMs?: number;
  /** Concurrent reconciles. Default 16. */
  workers?: number;
}

export function createMaintenanceTaskController(
  deps: MaintenanceTaskControllerDeps,
): Controller<MaintenanceTask> {
  return createController<MaintenanceTask>({
    name: "maintenancetask",
    kind: maintenanceTaskDescriptor,
    kubeConfig: deps.kubeConfig,
    namespaces: deps.config.namespaces,
    logger: deps.logger.child({ controller: "maintenancetask" }),
    owns: [jobKind],
    // Reconciles mostly wait on the API server; at a popular minute (every
    // task on "0 * * * *") many are due at once.
    workers: deps.workers ?? 16,
    ...(deps.clock ? { clock: deps.clock } : {}),
    reconcile: (obj, ctx) =>
      reconcileMaintenanceTask(obj, ctx, {
        runnerImage: deps.config.runnerImage,
        ...(deps.watchdogGraceMs !== undefined ? { watchdogGraceMs: deps.watchdogGraceMs } : {}),
      }),
  });
}
