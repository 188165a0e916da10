import { describe, expect, it } from "vitest";
import {
  markWritten,
  memoryFromStatus,
  observe,
  type HealthMemory,
  type Observation,
} from "../../../src/health/check.ts";
import type { ProbeResult } from "../../../src/probes/types.ts";

const T0 = Date.UTC(2025, 0, 1, 12);
const up: ProbeResult = {
  ok: true,
  latencyMs: 12.345,
  message: "PostgreSQL primary is reachable",
  metrics: [{ name: "queryTimeMs", value: 4, unit: "ms", kind: "queryTime" }],
};
const slow: ProbeResult = {
  ...up,
  metrics: [{ name: "queryTimeMs", value: 650, unit: "ms", kind: "queryTime" }],
};
const down: ProbeResult = {
  ok: false,
  latencyMs: 3,
  message: "Could not connect: ECONNREFUSED",
  metrics: [],
};

/** Feeds results 30 s apart, writing status whenever the decision says so. */
function feed(
  results: ProbeResult[],
  memory: HealthMemory = memoryFromStatus(),
): { obs: Observation[]; memory: HealthMemory } {
  const obs: Observation[] = [];
  results.forEach((r, i) => {
    const now = T0 + i * 30_000;
    const o = observe(memory, r, {}, now);
    memory = o.decision.write ? markWritten(o.memory, o.status, now) : o.memory;
    obs.push(o);
  });
  return { obs, memory };
}

describe("Given a new check observing probe results", () => {
  it("reports Healthy with metrics, counters and availability after one good probe", () => {
    const [o] = feed([up]).obs;
    expect(o!.status).toMatchObject({
      state: "Healthy",
      message: "PostgreSQL primary is reachable",
      latencyMs: 12.3,
      consecutiveSuccesses: 1,
      successCount: 1,
      failureCount: 0,
      availability: { last1h: 100, last24h: 100, last7d: 100, last30d: 100 },
      healthScore: 100,
      trend: "stable",
      metrics: [
        {
          name: "queryTimeMs",
          value: 4,
          unit: "ms",
          state: "Healthy",
          warning: 300,
          critical: 500,
        },
      ],
    });
    expect(o!.transition).toEqual({ from: "Unknown", to: "Healthy" });
    expect(o!.decision).toEqual({ write: true, reasons: ["first"] });
  });

  it("grades a slow query Critical after failureThreshold probes and names the metric in the message", () => {
    const { obs } = feed([up, slow, slow, slow]);
    expect(obs.map((o) => o.status.state)).toEqual(["Healthy", "Healthy", "Healthy", "Critical"]);
    expect(obs[3]!.status.message).toBe(
      "PostgreSQL primary is reachable; queryTimeMs is Critical (above 500 ms)",
    );
    expect(obs[3]!.status.consecutiveFailures).toBe(0);
  });

  it("turns a failing target Critical after three failures, with the probe's message", () => {
    const { obs } = feed([up, down, down, down]);
    const last = obs[3]!;
    expect(last.status).toMatchObject({
      state: "Critical",
      message: down.message,
      consecutiveFailures: 3,
      failureCount: 3,
    });
    expect(last.transition).toEqual({ from: "Healthy", to: "Critical" });
    expect(last.status.availability.last1h).toBe(25);
    expect(last.status.trend).toBe("declining");
  });

  it("writes status on changes only, not once per probe", () => {
    const { obs } = feed([up, up, up, up, down, down, down, up, up]);
    expect(obs.map((o) => o.decision.reasons.join("+"))).toEqual([
      "first",
      "",
      "interval", // 60 s after the first write
      "",
      "message+metric queryTimeMs", // the failure message (state still Healthy: damped); no metrics
      "",
      "state",
      "message+metric queryTimeMs",
      "state",
    ]);
  });
});

describe("Given a check restarted from its status", () => {
  it("keeps state, counters, availability and the last write", () => {
    const before = feed([up, up, down, down, down]);
    const last = before.obs.at(-1)!.status;
    const memory = memoryFromStatus({ ...last });
    expect(memory.damping.state).toBe("Critical");
    expect(memory.failureCount).toBe(3);
    const o = observe(memory, down, {}, T0 + 5 * 30_000);
    expect(o.status.failureCount).toBe(4);
    expect(o.status.availability.last1h).toBeCloseTo(33.33, 1);
    expect(o.transition).toBeUndefined();
    expect(o.decision.write).toBe(false);
  });
});
