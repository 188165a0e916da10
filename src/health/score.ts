// Health score and trend.
//
// healthScore = round(100 × (0.5·S + 0.3·A + 0.2·M)), clamped to 0..100, where
//   S = the (damped) state: Healthy 1, Warning 0.5, Unknown 0.5, Critical 0;
//   A = availability over the last 24 h as a fraction (the last hour when
//       24 h has no data yet, 1 when neither has);
//   M = the mean metric grade of the last probe over the metrics that have a
//       threshold: Healthy 1, Warning 0.5, Critical 0 (1 when no metric has a
//       threshold; 0 when the last probe failed).
// So a healthy, always-available check scores 100; one that is down scores at
// most 30 (from its past availability); a Warning on one of two graded
// metrics at full availability scores 25 + 30 + 15 = 70.
//
// Trend compares two exponential moving averages of the score, one fast
// (α = 0.3, about the last 3 probes) and one slow (α = 0.05, about the last
// 20): fast − slow above +TREND_BAND is "improving", below −TREND_BAND
// "declining", otherwise "stable". Both start at the first score (or at the
// score in status after a restart), so a new check is "stable".
import type { Availability, HealthState, MetricValue } from "../crds/healthcheck.ts";

export type Trend = "improving" | "stable" | "declining";

const STATE_FACTOR: Record<HealthState, number> = {
  Healthy: 1,
  Warning: 0.5,
  Unknown: 0.5,
  Critical: 0,
};
const METRIC_FACTOR: Record<HealthState, number> = {
  Healthy: 1,
  Warning: 0.5,
  Unknown: 0.5,
  Critical: 0,
};

export const FAST_ALPHA = 0.3;
export const SLOW_ALPHA = 0.05;
export const TREND_BAND = 5;

export interface ScoreInput {
  state: HealthState;
  availability: Availability;
  metrics: readonly MetricValue[];
  probeOk: boolean;
}

export function healthScore(input: ScoreInput): number {
  const s = STATE_FACTOR[input.state];
  const a = (input.availability.last24h ?? input.availability.last1h ?? 100) / 100;
  const graded = input.metrics.filter((m) => m.warning !== undefined || m.critical !== undefined);
  let m = 1;
  if (!input.probeOk) m = 0;
  else if (graded.length > 0)
    m = graded.reduce((sum, x) => sum + METRIC_FACTOR[x.state], 0) / graded.length;
  const score = Math.round(100 * (0.5 * s + 0.3 * a + 0.2 * m));
  return Math.min(100, Math.max(0, score));
}

export interface TrendState {
  fast: number;
  slow: number;
}

export function nextTrendState(prev: TrendState | undefined, score: number): TrendState {
  if (!prev) return { fast: score, slow: score };
  return {
    fast: prev.fast + FAST_ALPHA * (score - prev.fast),
    slow: prev.slow + SLOW_ALPHA * (score - prev.slow),
  };
}

export function trendOf(t: TrendState): Trend {
  const d = t.fast - t.slow;
  if (d > TREND_BAND) return "improving";
  if (d < -TREND_BAND) return "declining";
  return "stable";
}
