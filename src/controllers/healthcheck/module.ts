// The HealthCheck module: its controller, the probe engine (leader-only) and
// the guide's /health API.
import type { ControllerModule } from "../kit/module.ts";
import { healthCheckOptionsFromEnv } from "./config.ts";
import { createHealthCheckSystem } from "./controller.ts";

export const healthCheckModule: ControllerModule = {
  name: "healthcheck",
  register(ctx, registrar) {
    const health = createHealthCheckSystem(ctx, healthCheckOptionsFromEnv(ctx.config.env));
    registrar.add(health.probes);
    registrar.add(health.controller);
    registrar.http.mount("/health", health.api);
  },
};
