// What a MaintenanceTask's status tells its Incident after a restart: the
// critical finding kept in the run record, and the newest finished run (the
// level the safety net of jobrun/run-incidents.ts compares incidentRef with).
import { describe, expect, it } from "vitest";
import {
  criticalDetails,
  isCritical,
  newestTaskOutcome,
} from "../../../../src/controllers/maintenancetask/incidents.ts";
import type { RunRecord } from "../../../../src/crds/maintenancetask.ts";

const run = (job: string, end: string, over: Partial<RunRecord> = {}): RunRecord => ({
  job,
  startTime: "2026-03-01T02:00:00Z",
  endTime: end,
  result: "Succeeded",
  summary: `${job} done`,
  ...over,
});

describe("Given a run whose runner marked a critical finding", () => {
  it("When its details are kept, then severity is critical and the runner's figures stay", () => {
    const details = criticalDetails({ volume: "logs", percent: "97" });
    expect(details).toEqual({ severity: "critical", volume: "logs", percent: "97" });
    expect(isCritical(run("c-1", "2026-03-01T02:05:00Z", { details }))).toBe(true);
  });

  it("When the runner gave 32 figures already, then the record still holds at most 32", () => {
    const many = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, `${i}`]));
    const details = criticalDetails(many);
    expect(Object.keys(details)).toHaveLength(32);
    expect(details.severity).toBe("critical");
  });

  it.each([
    { details: undefined, critical: false },
    { details: { severity: "medium" }, critical: false },
    { details: { severity: "critical" }, critical: true },
  ])("When details are $details, then critical is $critical", ({ details, critical }) => {
    expect(isCritical(run("c-1", "2026-03-01T02:05:00Z", { details }))).toBe(critical);
  });
});

describe("Given a task's status after a restart", () => {
  const failed = run("t-1", "2026-03-01T02:05:00Z", {
    result: "Failed",
    summary: "BackoffLimitExceeded",
  });
  const ok = run("t-2", "2026-03-01T03:05:00Z");

  it.each([
    { when: "lastRun failed", status: { lastRun: failed, history: [failed] }, problem: "failed" },
    {
      when: "lastRun succeeded",
      status: { lastRun: ok, history: [ok, failed] },
      problem: undefined,
    },
    {
      when: "lastRun succeeded with a critical finding",
      status: { lastRun: { ...ok, details: { severity: "critical" } } },
      problem: "reported a critical finding",
    },
    {
      when: "lastRun is running after a failure",
      status: {
        lastRun: { job: "t-3", startTime: "2026-03-01T04:00:00Z", result: "Running" as const },
        history: [failed],
      },
      problem: "failed",
    },
  ])("When $when, then the newest outcome's problem is $problem", ({ status, problem }) => {
    expect(newestTaskOutcome(status)?.problem).toBe(problem);
  });

  it("When nothing finished yet, then there is no outcome", () => {
    expect(newestTaskOutcome({})).toBeUndefined();
    expect(newestTaskOutcome(undefined)).toBeUndefined();
  });
});
