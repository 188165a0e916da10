// The one place where controllers are registered with the manager. Each
// controller is a leader-only Runnable; later issues add theirs here.
import type { KubeConfig } from "@kubernetes/client-node";
import type { OperatorConfig } from "../runtime/config.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";

export interface ControllerDeps {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
}

/** Adds every controller to the manager. Returns the names registered. */
export function registerControllers(manager: Manager, deps: ControllerDeps): string[] {
  void manager;
  void deps;
  return [];
}
