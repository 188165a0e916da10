// HealthCheck settings from the environment (the operator's flags are in
// src/cli/operator-config.ts; these two are specific to the probe engine):
//   PAKE_HEALTHCHECK_STATUS_INTERVAL  longest time between status writes of an
//                                     unchanged check (duration, default 1m)
//   PAKE_PROBE_CONCURRENCY            probes running at once (default 16)
import { DurationError, parseDuration } from "../../lib/duration.ts";
import type { HealthCheckOptions } from "./controller.ts";

function flagDuration(text: string): number | undefined {
  try {
    return parseDuration(text, { syntax: "flag" });
  } catch (err) {
    if (err instanceof DurationError) return undefined;
    throw err;
  }
}

export function healthCheckOptionsFromEnv(
  env: Record<string, string | undefined>,
): Pick<HealthCheckOptions, "statusIntervalMs" | "concurrency"> {
  const options: Pick<HealthCheckOptions, "statusIntervalMs" | "concurrency"> = {};
  const interval = env.PAKE_HEALTHCHECK_STATUS_INTERVAL;
  if (interval) {
    const ms = flagDuration(interval);
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
