// The one place where controllers are registered with the manager: one
// controller per kind. Until a kind's own reconcile arrives (later issues),
// its controller validates the spec semantically and reports SpecValid and
// Ready in status, so a wrong spec is visible at once.
import type { KubeConfig } from "@kubernetes/client-node";
import { backupPolicyDescriptor, incidentDescriptor } from "../crds/index.ts";
import {
  ConditionReason,
  ConditionType,
  getCondition,
  setCondition,
} from "../runtime/conditions.ts";
import type { OperatorConfig } from "../runtime/config.ts";
import { createController } from "../runtime/controller.ts";
import type { KindDescriptor, KubeObject } from "../runtime/kube.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { healthCheckOptionsFromEnv } from "./healthcheck/config.ts";
import { createHealthCheckSystem } from "./healthcheck/controller.ts";
import { createMaintenanceTaskController } from "./maintenancetask/index.ts";
import { reconcileSpecValidity, type SpecValidator } from "./spec-validation.ts";
import { validateBackupPolicy, validateIncident } from "./validators.ts";

export interface ControllerDeps {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
}

interface KindController {
  name: string;
  kind: KindDescriptor;
  validate: SpecValidator<KubeObject>;
}

const kinds: KindController[] = [
  {
    name: "backuppolicy",
    kind: backupPolicyDescriptor,
    validate: validateBackupPolicy as SpecValidator<KubeObject>,
  },
  {
    name: "incident",
    kind: incidentDescriptor,
    validate: validateIncident as SpecValidator<KubeObject>,
  },
];

/** Adds every controller to the manager. Returns the names registered. */
export function registerControllers(manager: Manager, deps: ControllerDeps): string[] {
  // HealthCheck: controller, probe engine (leader-only) and the /health API.
  const health = createHealthCheckSystem({
    kubeConfig: deps.kubeConfig,
    namespaces: deps.config.namespaces,
    logger: deps.logger.child({ controller: "healthcheck" }),
    ...healthCheckOptionsFromEnv(process.env),
  });
  manager.add(health.probes);
  manager.add(health.controller);
  manager.http.mount("/health", health.api);
  for (const entry of kinds) {
    manager.add(
      createController<KubeObject>({
        name: entry.name,
        kind: entry.kind,
        kubeConfig: deps.kubeConfig,
        namespaces: deps.config.namespaces,
        logger: deps.logger.child({ controller: entry.name }),
        reconcile: async (obj, ctx) => {
          await reconcileSpecValidity(obj, ctx, {
            kind: entry.kind,
            validate: entry.validate,
            onValid: (status, current, now) => {
              // Clear a Ready=False left by an earlier invalid spec.
              if (getCondition(status, ConditionType.Ready)?.reason !== ConditionReason.InvalidSpec)
                return;
              setCondition(
                status,
                {
                  type: ConditionType.Ready,
                  status: "Unknown",
                  reason: ConditionReason.Pending,
                  message: "Spec is valid",
                },
                current.metadata.generation,
                now,
              );
            },
          });
        },
      }),
    );
  }
  manager.add(createMaintenanceTaskController(deps));
  return ["healthcheck", "maintenancetask", ...kinds.map((k) => k.name)];
}
