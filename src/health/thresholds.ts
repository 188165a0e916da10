// Grading metrics against warning and critical thresholds.
//
// The threshold of a metric, first match wins:
//   1. spec.thresholds entry with the metric's own name (e.g. connectTimeMs);
//   2. spec.thresholds entry with the canonical name of the metric's KPI kind
//      (a responseTimeMs threshold also covers connectTimeMs and pingTimeMs,
//      which are of kind responseTime);
//   3. the operations guide's KPI default for that kind (KPI_DEFAULTS);
//   4. an operator default for a few non-KPI metrics (OPERATOR_DEFAULTS);
//   5. none: the metric is reported and always Healthy.
// Comparisons are strict, like the guide's table ("> 500 ms" is Warning):
// direction Above grades value > critical as Critical and value > warning as
// Warning; direction Below mirrors it (value < critical is Critical).
import {
  KPI_DEFAULTS,
  type HealthState,
  type MetricValue,
  type Threshold,
} from "../crds/healthcheck.ts";
import type { Metric, MetricKind } from "./probe-result.ts";

/** Canonical metric name of each KPI kind: the name KPI_DEFAULTS and users use. */
export const KIND_METRIC: Record<Exclude<MetricKind, "none">, string> = {
  responseTime: "responseTimeMs",
  queryTime: "queryTimeMs",
  memory: "memoryPercent",
  cpu: "cpuPercent",
  disk: "diskPercent",
  errorRate: "errorRatePercent",
};

/** Defaults for metrics the guide's KPI table does not cover. */
export const OPERATOR_DEFAULTS: readonly Threshold[] = [
  { metric: "connectionsPercent", warning: 80, critical: 95, direction: "Above" },
  { metric: "replicasReadyPercent", warning: 100, critical: 50, direction: "Below" },
];

export interface AppliedThreshold {
  warning: number;
  critical: number;
  direction: "Above" | "Below";
  source: "spec" | "kpi" | "operator";
}

function applied(t: Threshold, source: AppliedThreshold["source"]): AppliedThreshold {
  return { warning: t.warning, critical: t.critical, direction: t.direction ?? "Above", source };
}

/** The threshold that applies to a metric, or undefined when none does. */
export function thresholdFor(
  m: Pick<Metric, "name" | "kind">,
  spec: readonly Threshold[] = [],
): AppliedThreshold | undefined {
  const canonical = m.kind && m.kind !== "none" ? KIND_METRIC[m.kind] : m.name;
  const own = spec.find((t) => t.metric === m.name) ?? spec.find((t) => t.metric === canonical);
  if (own) return applied(own, "spec");
  const kpi = KPI_DEFAULTS.find((t) => t.metric === canonical);
  if (kpi) return applied(kpi, "kpi");
  const op = OPERATOR_DEFAULTS.find((t) => t.metric === m.name);
  return op ? applied(op, "operator") : undefined;
}

/** State of one value against a threshold; NaN or infinite values are Unknown. */
export function gradeValue(value: number, t: AppliedThreshold | undefined): HealthState {
  if (!Number.isFinite(value)) return "Unknown";
  if (!t) return "Healthy";
  const worse = (limit: number): boolean =>
    t.direction === "Below" ? value < limit : value > limit;
  if (worse(t.critical)) return "Critical";
  if (worse(t.warning)) return "Warning";
  return "Healthy";
}

/** Metrics graded for status.metrics, with the levels applied. */
export function gradeMetrics(
  metrics: readonly Metric[],
  spec: readonly Threshold[] = [],
): MetricValue[] {
  return metrics.map((m) => {
    const t = thresholdFor(m, spec);
    const graded: MetricValue = {
      name: m.name,
      value: Number.isFinite(m.value) ? m.value : 0,
      unit: m.unit,
      state: gradeValue(m.value, t),
    };
    if (t) {
      graded.warning = t.warning;
      graded.critical = t.critical;
    }
    return graded;
  });
}

export const SEVERITY: Record<HealthState, number> = {
  Healthy: 0,
  Unknown: 1,
  Warning: 1,
  Critical: 2,
};

/** The worst of the states (Healthy when there are none); Unknown ranks with Warning, below it. */
export function worstState(states: Iterable<HealthState>): HealthState {
  let worst: HealthState = "Healthy";
  for (const s of states) {
    if (SEVERITY[s] > SEVERITY[worst] || (s === "Warning" && worst === "Unknown")) worst = s;
  }
  return worst;
}

/** "queryTimeMs is Critical (above 500 ms)" for each metric that is not Healthy. */
export function metricProblems(graded: readonly MetricValue[]): string[] {
  return graded
    .filter((m) => m.state === "Warning" || m.state === "Critical")
    .map((m) => {
      const level = m.state === "Critical" ? m.critical : m.warning;
      const below = m.warning !== undefined && m.critical !== undefined && m.warning > m.critical;
      const unit = m.unit === "%" ? " %" : m.unit ? ` ${m.unit}` : "";
      return `${m.name} is ${m.state} (${below ? "below" : "above"} ${level}${unit})`;
    });
}
