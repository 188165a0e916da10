import { describe, expect, it } from "vitest";
import type { Threshold } from "../../../src/crds/healthcheck.ts";
import {
  gradeMetrics,
  gradeValue,
  metricProblems,
  thresholdFor,
  worstState,
} from "../../../src/health/thresholds.ts";
import type { Metric } from "../../../src/probes/types.ts";

describe("Given the operations guide's KPI defaults", () => {
  it.each([
    // metric, kind, value, expected
    ["responseTimeMs", "responseTime", 150, "Healthy"],
    ["responseTimeMs", "responseTime", 500, "Healthy"],
    ["responseTimeMs", "responseTime", 501, "Warning"],
    ["responseTimeMs", "responseTime", 1000, "Warning"],
    ["responseTimeMs", "responseTime", 1001, "Critical"],
    ["queryTimeMs", "queryTime", 299, "Healthy"],
    ["queryTimeMs", "queryTime", 301, "Warning"],
    ["queryTimeMs", "queryTime", 501, "Critical"],
    ["memoryPercent", "memory", 79, "Healthy"],
    ["memoryPercent", "memory", 81, "Warning"],
    ["memoryPercent", "memory", 96, "Critical"],
    ["cpuPercent", "cpu", 80, "Healthy"],
    ["cpuPercent", "cpu", 85, "Warning"],
    ["cpuPercent", "cpu", 99, "Critical"],
    ["diskPercent", "disk", 70, "Healthy"],
    ["diskPercent", "disk", 90, "Warning"],
    ["diskPercent", "disk", 95.5, "Critical"],
    ["errorRatePercent", "errorRate", 1, "Healthy"],
    ["errorRatePercent", "errorRate", 3, "Warning"],
    ["errorRatePercent", "errorRate", 6, "Critical"],
    // Another metric of a KPI kind gets the kind's default.
    ["connectTimeMs", "responseTime", 1200, "Critical"],
    ["pingTimeMs", "responseTime", 600, "Warning"],
    // Operator defaults for non-KPI metrics.
    ["connectionsPercent", undefined, 85, "Warning"],
    ["connectionsPercent", undefined, 96, "Critical"],
    ["replicasReadyPercent", undefined, 100, "Healthy"],
    ["replicasReadyPercent", undefined, 50, "Warning"],
    ["replicasReadyPercent", undefined, 0, "Critical"],
    // No threshold at all: always Healthy.
    ["databaseSizeBytes", undefined, 1e12, "Healthy"],
  ] as const)("grades %s (%s) = %d as %s", (name, kind, value, expected) => {
    const m: Metric = { name, value, unit: "x", kind };
    expect(gradeValue(value, thresholdFor(m))).toBe(expected);
  });

  it("grades a non-finite value as Unknown", () => {
    expect(gradeValue(Number.NaN, thresholdFor({ name: "queryTimeMs", kind: "queryTime" }))).toBe(
      "Unknown",
    );
  });
});

describe("Given user thresholds", () => {
  const spec: Threshold[] = [
    { metric: "queryTimeMs", warning: 50, critical: 100, direction: "Above" },
    { metric: "connectTimeMs", warning: 20, critical: 40, direction: "Above" },
    { metric: "hitRatioPercent", warning: 90, critical: 50, direction: "Below" },
  ];

  it.each([
    ["queryTimeMs", "queryTime", 60, "Warning", "spec"],
    ["queryTimeMs", "queryTime", 101, "Critical", "spec"],
    // A user threshold on the metric's own name wins over the kind's default.
    ["connectTimeMs", "responseTime", 45, "Critical", "spec"],
    // Not overridden: the KPI default still applies.
    ["responseTimeMs", "responseTime", 45, "Healthy", "kpi"],
    // Direction Below: lower is worse.
    ["hitRatioPercent", undefined, 95, "Healthy", "spec"],
    ["hitRatioPercent", undefined, 80, "Warning", "spec"],
    ["hitRatioPercent", undefined, 10, "Critical", "spec"],
  ] as const)("grades %s (%s) = %d as %s from %s", (...row) => {
    const [name, kind, value, expected, source] = row;
    const t = thresholdFor({ name, kind }, spec);
    expect(t?.source).toBe(source);
    expect(gradeValue(value, t)).toBe(expected);
  });

  it("overrides a KPI kind for all its metrics when named by the canonical metric", () => {
    const t = thresholdFor({ name: "pingTimeMs", kind: "responseTime" }, [
      { metric: "responseTimeMs", warning: 5, critical: 10, direction: "Above" },
    ]);
    expect(t).toMatchObject({ warning: 5, critical: 10, source: "spec" });
  });
});

describe("Given graded metrics", () => {
  const graded = gradeMetrics([
    { name: "queryTimeMs", value: 350, unit: "ms", kind: "queryTime" },
    { name: "connectionsPercent", value: 97, unit: "%" },
    { name: "databaseSizeBytes", value: 1234, unit: "bytes" },
  ]);

  it("carries the applied levels and the state of each metric", () => {
    expect(graded).toEqual([
      {
        name: "queryTimeMs",
        value: 350,
        unit: "ms",
        state: "Warning",
        warning: 300,
        critical: 500,
      },
      {
        name: "connectionsPercent",
        value: 97,
        unit: "%",
        state: "Critical",
        warning: 80,
        critical: 95,
      },
      { name: "databaseSizeBytes", value: 1234, unit: "bytes", state: "Healthy" },
    ]);
  });

  it("describes the problems without their volatile values", () => {
    expect(metricProblems(graded)).toEqual([
      "queryTimeMs is Warning (above 300 ms)",
      "connectionsPercent is Critical (above 95 %)",
    ]);
  });

  it.each([
    [[], "Healthy"],
    [["Healthy", "Warning"], "Warning"],
    [["Unknown", "Healthy"], "Unknown"],
    [["Unknown", "Warning"], "Warning"],
    [["Warning", "Critical", "Healthy"], "Critical"],
  ] as const)("the worst of %j is %s", (states, expected) => {
    expect(worstState(states)).toBe(expected);
  });
});
