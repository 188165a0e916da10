// HealthCheck settings from the environment (the operator's flags belong to
// the runtime; these two are specific to the probe engine):
//   PAKE_HEALTHCHECK_STATUS_INTERVAL  longest time between status writes of an
//                                     unchanged check (duration, default 1m)
//   PAKE_PROBE_CONCURRENCY            probes running at once (default 16)
import { parseDuration } from "../../runtime/config.ts";
import type { HealthCheckControllerOptions } from "./controller.ts";

export function healthCheckOptionsFromEnv(
  env: Record<string, string | undefined>,
): Pick<HealthCheckControllerOptions, "statusIntervalMs" | "concurrency"> {
  const options: Pick<HealthCheckControllerOptions, "statusIntervalMs" | "concurrency"> = {};
  const interval = env.PAKE_HEALTHCHECK_STATUS_INTERVAL;
  if (interval) {
    const ms = parseDuration(interval);
    if (ms === undefined || ms < 1000)
      throw new Error(
        `PAKE_HEALTHCHECK_STATUS_INTERVAL: invalid duration ${JSON.stringify(interval)}`,
      );
    options.statusIntervalMs = ms;
  }
  const concurrency = env.PAKE_PROBE_CONCURRENCY;
  if (concurrency) {
    const n = Number(concurrency);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`PAKE_PROBE_CONCURRENCY: not a positive integer: ${concurrency}`);
    options.concurrency = n;
  }
  return options;
}
