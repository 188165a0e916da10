// History bounds and the pruning of finished Jobs under the same limits.
import { describe, expect, it } from "vitest";
import {
  boundHistory,
  jobsToPrune,
  mergeHistory,
  type JobObject,
  type RunRecord,
} from "../../../../src/controllers/jobrun/index.ts";

const rec = (job: string, result: RunRecord["result"], end: string): RunRecord => ({
  job,
  result,
  endTime: end,
});

const done = (name: string, type: string, t: string): JobObject => ({
  metadata: { name },
  status: { conditions: [{ type, status: "True", lastTransitionTime: t }] },
});

describe("Given a history and new records", () => {
  it("When they are merged, then the limits of successful and failed runs hold, newest first", () => {
    const h = mergeHistory(
      [rec("a", "Succeeded", "2026-01-01T00:01:00Z"), rec("b", "Failed", "2026-01-01T00:02:00Z")],
      [rec("c", "Succeeded", "2026-01-01T00:03:00Z"), rec("d", "Failed", "2026-01-01T00:04:00Z")],
      { successful: 3, failed: 1 },
    );
    expect(h.map((r) => r.job)).toEqual(["d", "c", "a"]);
    expect(boundHistory(h, { successful: 0, failed: 0 })).toEqual([]);
  });

  it("When the owner's maximum is lower than the limits, then it bounds the history", () => {
    const many = Array.from({ length: 5 }, (_, i) =>
      rec(`s${i}`, "Succeeded", `2026-01-01T00:0${i}:00Z`),
    );
    expect(boundHistory(many, { successful: 5, failed: 0, max: 2 })).toHaveLength(2);
  });
});

describe("Given finished and unfinished Jobs", () => {
  const jobs = [
    done("s1", "Complete", "2026-01-01T00:01:00Z"),
    done("s2", "Complete", "2026-01-01T00:02:00Z"),
    done("f1", "Failed", "2026-01-01T00:03:00Z"),
    done("f2", "Failed", "2026-01-01T00:04:00Z"),
    { metadata: { name: "running" }, status: { active: 1 } },
  ];

  it.each([
    [{ successful: 1, failed: 1 }, ["f1", "s1"]],
    [{ successful: 0, failed: 0 }, ["f1", "f2", "s1", "s2"]],
    [{ successful: 2, failed: 2, max: 3 }, ["s1"]],
  ])("When the limits are %j, then %j are pruned, never an unfinished one", (limits, pruned) => {
    expect(jobsToPrune(jobs, limits).sort()).toEqual(pruned);
  });
});
