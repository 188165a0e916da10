// The controllers of the operator, one module per kind. A module registers
// its controller (and companions such as the probe engine) with the manager;
// docs/architecture.md says how to add one.
import type { ControllerModule, OperatorContext, Registrar } from "./kit/index.ts";
import { backupPolicyModule } from "./backuppolicy/module.ts";
import { healthCheckModule } from "./healthcheck/module.ts";
import { incidentModule } from "./incident/module.ts";
import { maintenanceTaskModule } from "./maintenancetask/module.ts";

export const controllerModules: readonly ControllerModule[] = [
  healthCheckModule,
  maintenanceTaskModule,
  backupPolicyModule,
  incidentModule,
];

/** Registers every module with the manager. Returns the names registered. */
export function registerControllers(ctx: OperatorContext, registrar: Registrar): string[] {
  for (const module of controllerModules) module.register(ctx, registrar);
  return controllerModules.map((m) => m.name);
}
