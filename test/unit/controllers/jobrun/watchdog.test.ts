// The watchdog: overdue Jobs and runs whose Job vanished get a final record.
import { describe, expect, it } from "vitest";
import {
  JobRunReason,
  overdueJobs,
  vanishedRuns,
  type JobObject,
} from "../../../../src/controllers/jobrun/index.ts";

const job: JobObject = {
  metadata: { name: "j", creationTimestamp: "2026-01-01T00:00:00Z" },
  status: { startTime: "2026-01-01T00:00:00Z" },
};
const at = (s: string) =>
  overdueJobs({ unfinished: [job], timeoutMs: 60_000, graceMs: 30_000, now: new Date(s) });

describe("Given a Job with a 60 s timeout and 30 s grace", () => {
  it("When timeout plus grace has not passed, then nothing is overdue", () => {
    expect(at("2026-01-01T00:01:29Z")).toEqual([]);
  });

  it("When timeout plus grace has passed, then the run is TimedOut with WatchdogTimeout", () => {
    expect(at("2026-01-01T00:01:30Z")[0]?.record).toMatchObject({
      result: "TimedOut",
      details: { reason: "WatchdogTimeout" },
    });
    expect(JobRunReason.WatchdogTimeout).toBe("WatchdogTimeout");
  });
});

describe("Given runs listed as active", () => {
  it("When one's Job is gone, then it is recorded Failed with JobVanished", () => {
    const gone = vanishedRuns({
      active: [
        { job: "x", startTime: "2026-01-01T00:00:00Z" },
        { job: "y", startTime: "2026-01-01T00:00:00Z" },
      ],
      existing: new Set(["y"]),
      recorded: new Set(),
      now: new Date("2026-01-01T00:05:00Z"),
    });
    expect(gone).toEqual([
      expect.objectContaining({ job: "x", result: "Failed", details: { reason: "JobVanished" } }),
    ]);
  });
});
