import { describe, expect, it } from "vitest";
import {
  recordOutcome,
  runIncidentDecision,
  type RunOutcome,
} from "../../../../src/controllers/jobrun/run-incidents.ts";
import type { RunRecord } from "../../../../src/controllers/jobrun/types.ts";

const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  job: "vacuum-29000000",
  startTime: "2026-01-01T10:00:00Z",
  endTime: "2026-01-01T10:05:00Z",
  result: "Succeeded",
  summary: "vacuumed 3 tables",
  ...over,
});

describe("Given the run records of one reconcile", () => {
  it.each([
    { result: "Failed", critical: false, problem: "failed" },
    { result: "TimedOut", critical: false, problem: "timed out" },
    { result: "Succeeded", critical: true, problem: "reported a critical finding" },
    { result: "Succeeded", critical: false, problem: undefined },
  ] as const)(
    "When a run ended $result (critical finding: $critical), then its problem is $problem",
    ({ result, critical, problem }) => {
      const outcome = recordOutcome(record({ result }), critical);
      expect(outcome).toEqual({
        time: "2026-01-01T10:05:00Z",
        what: "run vacuum-29000000",
        message: "vacuumed 3 tables",
        ...(problem !== undefined ? { problem } : {}),
      });
    },
  );

  it.each(["Cancelled", "Running"] as const)(
    "When a run is %s, then it has no say on the Incident",
    (result) => {
      expect(recordOutcome(record({ result }), true)).toBeUndefined();
    },
  );

  it("When a run has no end time, then its start time orders it", () => {
    expect(recordOutcome(record({ endTime: undefined, result: "Failed" }))?.time).toBe(
      "2026-01-01T10:00:00Z",
    );
  });
});

describe("Given outcomes to decide an Incident on", () => {
  const failed: RunOutcome = {
    time: "2026-01-01T10:05:00Z",
    what: "run a",
    problem: "failed",
    message: "BackoffLimitExceeded; connect to postgresql://app:s3cret@db/app refused",
  };
  const clean: RunOutcome = { time: "2026-01-01T11:05:00Z", what: "run b", message: "ok" };

  it("When there is none, then nothing happens", () => {
    expect(runIncidentDecision("MaintenanceTask vacuum", [])).toEqual({ action: "none" });
  });

  it("When the newest is a failure, then it opens with a redacted message, named by its time", () => {
    const decision = runIncidentDecision("MaintenanceTask vacuum", [failed]);
    expect(decision).toMatchObject({
      action: "open",
      title: "MaintenanceTask vacuum: run a failed",
      episode: "2026-01-01T10:05:00Z",
    });
    expect(decision.action === "open" && decision.message).not.toContain("s3cret");
  });

  it.each([
    { order: "failure then success", outcomes: [clean, failed], action: "resolve" },
    {
      order: "success then failure",
      outcomes: [{ ...clean, time: "2026-01-01T09:00:00Z" }, failed],
      action: "open",
    },
  ])(
    "When $order are recorded at once, then the newest decides: $action",
    ({ outcomes, action }) => {
      expect(runIncidentDecision("MaintenanceTask vacuum", outcomes).action).toBe(action);
    },
  );
});
