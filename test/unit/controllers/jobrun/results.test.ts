// Results read from a finished Job and its pod's termination message.
import { describe, expect, it } from "vitest";
import {
  JobRunEventReason,
  recordFromJob,
  runResultEvent,
  type JobObject,
} from "../../../../src/controllers/jobrun/index.ts";

const failedJob = (reason: string): JobObject => ({
  metadata: {
    name: "t-1",
    annotations: { "pake.dev/trigger": "Schedule" },
    creationTimestamp: "2026-01-01T00:00:00Z",
  },
  status: {
    startTime: "2026-01-01T00:00:01Z",
    conditions: [
      {
        type: "Failed",
        status: "True",
        reason,
        message: "m",
        lastTransitionTime: "2026-01-01T00:15:01Z",
      },
    ],
  },
});

describe("Given a Job that completed and its pod's termination message", () => {
  it("When it is read, then the runner's result is copied into the record", () => {
    const job: JobObject = {
      metadata: { name: "t-2" },
      status: {
        startTime: "2026-01-01T00:00:01Z",
        conditions: [
          { type: "Complete", status: "True", lastTransitionTime: "2026-01-01T00:00:09Z" },
        ],
      },
    };
    const message = JSON.stringify({
      result: "Succeeded",
      summary: "deleted 3 file(s)",
      details: { filesDeleted: "3" },
    });
    const r = recordFromJob(job, {
      metadata: { name: "p" },
      status: {
        containerStatuses: [{ name: "task", state: { terminated: { exitCode: 0, message } } }],
      },
    });
    expect(r).toMatchObject({
      result: "Succeeded",
      summary: "deleted 3 file(s)",
      details: { filesDeleted: "3" },
      endTime: "2026-01-01T00:00:09Z",
    });
  });
});

describe("Given a Job that failed", () => {
  it.each([
    ["DeadlineExceeded", "TimedOut"],
    ["BackoffLimitExceeded", "Failed"],
  ])("When the Job's reason is %s, then the run is %s with the reason", (reason, result) => {
    expect(recordFromJob(failedJob(reason), undefined)).toMatchObject({
      result,
      details: { reason },
    });
  });
});

describe("Given recorded runs", () => {
  it.each([
    ["Succeeded", "Normal", JobRunEventReason.RunSucceeded],
    ["Failed", "Warning", JobRunEventReason.RunFailed],
    ["TimedOut", "Warning", JobRunEventReason.RunFailed],
  ] as const)("When a run %s, then its Event is %s %s", (result, type, reason) => {
    expect(runResultEvent({ job: "j", result, summary: "s" })).toEqual({
      type,
      reason,
      message: `j: ${result}: s`,
    });
  });
});
