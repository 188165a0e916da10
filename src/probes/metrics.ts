// Prometheus metrics of the probe engine.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { registry as sharedRegistry } from "../runtime/metrics.ts";
import { HEALTH_STATES, type HealthState } from "../crds/healthcheck.ts";

export interface ProbeEngineMetrics {
  duration: Histogram<"namespace" | "name" | "target_type">;
  failures: Counter<"namespace" | "name" | "target_type">;
  state: Gauge<"namespace" | "name" | "state">;
  score: Gauge<"namespace" | "name">;
  inflight: Gauge;
  queued: Gauge;
}

export function createProbeEngineMetrics(registry: Registry): ProbeEngineMetrics {
  return {
    duration: new Histogram({
      name: "pake_healthcheck_probe_duration_seconds",
      help: "Duration of HealthCheck probes.",
      labelNames: ["namespace", "name", "target_type"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    failures: new Counter({
      name: "pake_healthcheck_probe_failures_total",
      help: "HealthCheck probes that failed (error, timeout or unexpected answer).",
      labelNames: ["namespace", "name", "target_type"],
      registers: [registry],
    }),
    state: new Gauge({
      name: "pake_healthcheck_state",
      help: "State of a HealthCheck: 1 for its current state, 0 for the others.",
      labelNames: ["namespace", "name", "state"],
      registers: [registry],
    }),
    score: new Gauge({
      name: "pake_healthcheck_score",
      help: "Health score of a HealthCheck, 0 (worst) to 100.",
      labelNames: ["namespace", "name"],
      registers: [registry],
    }),
    inflight: new Gauge({
      name: "pake_probe_engine_inflight",
      help: "Probes running now.",
      registers: [registry],
    }),
    queued: new Gauge({
      name: "pake_probe_engine_queued",
      help: "Probes due but waiting for a free slot (global concurrency limit).",
      registers: [registry],
    }),
  };
}

let shared: ProbeEngineMetrics | undefined;

/** The engine metrics on the operator's registry (created once). */
export function probeEngineMetrics(): ProbeEngineMetrics {
  shared ??= createProbeEngineMetrics(sharedRegistry);
  return shared;
}

export function setStateGauge(
  metrics: ProbeEngineMetrics,
  namespace: string,
  name: string,
  state: HealthState,
): void {
  for (const s of HEALTH_STATES)
    metrics.state.set({ namespace, name, state: s }, s === state ? 1 : 0);
}

export function forgetCheck(
  metrics: ProbeEngineMetrics,
  namespace: string,
  name: string,
  targetType: string,
): void {
  metrics.duration.remove({ namespace, name, target_type: targetType });
  metrics.failures.remove({ namespace, name, target_type: targetType });
  for (const s of HEALTH_STATES) metrics.state.remove({ namespace, name, state: s });
  metrics.score.remove({ namespace, name });
}
