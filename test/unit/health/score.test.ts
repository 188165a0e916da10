import { describe, expect, it } from "vitest";
import type { MetricValue } from "../../../src/crds/healthcheck.ts";
import {
  healthScore,
  nextTrendState,
  trendOf,
  type TrendState,
} from "../../../src/health/score.ts";

const healthyMetric: MetricValue = {
  name: "queryTimeMs",
  value: 5,
  state: "Healthy",
  warning: 300,
  critical: 500,
};
const warningMetric: MetricValue = {
  name: "connectionsPercent",
  value: 85,
  state: "Warning",
  warning: 80,
  critical: 95,
};
const ungraded: MetricValue = { name: "databaseSizeBytes", value: 1, state: "Healthy" };

describe("Given the health score formula 100 × (0.5·state + 0.3·availability24h + 0.2·metrics)", () => {
  it.each([
    ["healthy, always available", "Healthy", { last24h: 100 }, [healthyMetric], true, 100],
    ["healthy, no availability yet", "Healthy", {}, [], true, 100],
    [
      "one of two graded metrics in Warning",
      "Warning",
      { last24h: 100 },
      [healthyMetric, warningMetric],
      true,
      70,
    ],
    [
      "ungraded metrics do not count",
      "Warning",
      { last24h: 100 },
      [warningMetric, ungraded],
      true,
      65,
    ],
    ["down, 90 % available", "Critical", { last24h: 90 }, [], false, 27],
    ["down for good", "Critical", { last24h: 0 }, [], false, 0],
    ["unknown, falls back to the last hour", "Unknown", { last1h: 50 }, [], true, 60],
  ] as const)("%s scores %d", (...row) => {
    const [, state, availability, metrics, probeOk, expected] = row;
    expect(healthScore({ state, availability, metrics, probeOk })).toBe(expected);
  });
});

describe("Given the trend of fast and slow moving averages", () => {
  function trendAfter(scores: number[]): string {
    let t: TrendState | undefined;
    for (const s of scores) t = nextTrendState(t, s);
    return trendOf(t!);
  }

  it.each([
    ["a new check", [100], "stable"],
    ["a steady score", Array<number>(30).fill(80), "stable"],
    ["a score that drops", [...Array<number>(20).fill(100), 30, 30], "declining"],
    ["a score that recovers", [...Array<number>(20).fill(20), 100, 100], "improving"],
    ["small noise", [80, 82, 79, 81, 80, 83, 78], "stable"],
    [
      "a drop that lasts becomes the new normal",
      [...Array<number>(10).fill(100), ...Array<number>(80).fill(40)],
      "stable",
    ],
  ])("%s is %s", (_name, scores, expected) => {
    expect(trendAfter(scores)).toBe(expected);
  });
});
