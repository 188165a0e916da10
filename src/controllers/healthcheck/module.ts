// The HealthCheck module: its controller and the probe engine (leader-only),
// the HealthCheck cache every replica keeps (so any replica behind the
// Service answers /health the same way), and the guide's /health API. The
// summary /health is open; /health/detailed and /health/<namespace>/<name>
// name targets and Secrets, so they need an authorized token.
import { healthCheckDescriptor } from "../../crds/index.ts";
import type { Runnable } from "../../runtime/runnable.ts";
import type { OperatorContext } from "../kit/context.ts";
import type { ControllerModule } from "../kit/module.ts";
import { healthCheckOptionsFromEnv } from "./config.ts";
import { createHealthCheckSystem } from "./controller.ts";
import type { HealthCheckObject as HealthCheck } from "./status.ts";

/** Only the summary is open: every deeper path lists checks with their targets. */
export const isProtectedHealthPath = (path: string): boolean => path !== "/health";

/**
 * The HealthCheck informer on every replica. It is the controller's own
 * (one shared informer per kind), so the leader watches HealthChecks once.
 */
function healthCheckCache(ctx: OperatorContext): Runnable {
  const handle = ctx.informers.get<HealthCheck>(healthCheckDescriptor);
  return {
    name: "healthcheck-cache",
    needsLeaderElection: false,
    start: () => handle.start(),
    stop: () => handle.stop(),
  };
}

export const healthCheckModule: ControllerModule = {
  name: "healthcheck",
  register(ctx, registrar) {
    const health = createHealthCheckSystem(ctx, {
      ...healthCheckOptionsFromEnv(ctx.config.env),
      tenantPolicy: ctx.config.healthCheckTenantPolicy,
    });
    registrar.add(healthCheckCache(ctx));
    registrar.add(health.probes);
    registrar.add(health.controller);
    registrar.http.mount("/health", health.api, { protect: isProtectedHealthPath });
  },
};
