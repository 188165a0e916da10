// Pure parts of the controller: the run plan, results from Jobs and pods,
// history bounds and pruning, the watchdog.
import { describe, expect, it } from "vitest";
import {
  boundHistory,
  jobsToPrune,
  mergeHistory,
} from "../../../../src/controllers/maintenancetask/history.ts";
import {
  recordFromJob,
  type JobObject,
} from "../../../../src/controllers/maintenancetask/results.ts";
import { planRuns, type PlanInput } from "../../../../src/controllers/maintenancetask/schedule.ts";
import { overdueJobs, vanishedRuns } from "../../../../src/controllers/maintenancetask/watchdog.ts";
import { MaintenanceTaskSpec, type RunRecord } from "../../../../src/crds/maintenancetask.ts";
import { scheduledJobName } from "../../../../src/schedule/index.ts";

const created = new Date("2026-01-01T00:00:30Z");

function plan(over: Partial<Omit<PlanInput, "spec">> & { spec?: Record<string, unknown> }) {
  const { spec, ...rest } = over;
  return planRuns({
    namespace: "ns",
    name: "t",
    spec: MaintenanceTaskSpec.parse({ task: { logCleanup: { claimName: "c" } }, ...spec }),
    status: undefined,
    annotations: undefined,
    creationTime: created,
    now: new Date("2026-01-01T00:10:20Z"),
    existing: new Set(),
    active: [],
    ...rest,
  });
}

describe("planRuns", () => {
  it("starts only the newest missed slot after an outage", () => {
    const p = plan({ spec: { schedule: "* * * * *" } });
    expect(p.start).toEqual([
      {
        job: scheduledJobName("t", new Date("2026-01-01T00:10:00Z")),
        trigger: "Schedule",
        slot: new Date("2026-01-01T00:10:00Z"),
      },
    ]);
    expect(p.next).toEqual(new Date("2026-01-01T00:11:00Z"));
    expect(p.events[0]?.reason).toBe("CatchingUp");
  });

  it("treats an existing Job of the slot as started", () => {
    const job = scheduledJobName("t", new Date("2026-01-01T00:10:00Z"));
    const p = plan({ spec: { schedule: "* * * * *" }, existing: new Set([job]), active: [job] });
    expect(p.start).toEqual([]);
    expect(p.lastScheduleTime).toEqual(new Date("2026-01-01T00:10:00Z"));
    expect(p.events).toEqual([]);
  });

  it("records a slot past startingDeadlineSeconds as missed, with a Warning", () => {
    const p = plan({ spec: { schedule: "*/5 * * * *", startingDeadlineSeconds: 10 } });
    expect(p.start).toEqual([]);
    expect(p.lastScheduleTime).toEqual(new Date("2026-01-01T00:10:00Z"));
    expect(p.events[0]).toMatchObject({ type: "Warning", reason: "MissedSchedule" });
  });

  it.each([
    ["Forbid", 0, 0],
    ["Allow", 1, 0],
    ["Replace", 1, 1],
  ])("with an active run and policy %s starts %i and stops %i", (policy, starts, stops) => {
    const p = plan({
      spec: { schedule: "* * * * *", concurrencyPolicy: policy },
      active: ["old"],
      existing: new Set(["old"]),
    });
    expect(p.start).toHaveLength(starts);
    expect(p.stop).toHaveLength(stops);
  });

  it("starts nothing when suspended, and runs once without a schedule", () => {
    expect(plan({ spec: { schedule: "* * * * *", suspend: true } }).start).toEqual([]);
    expect(plan({}).start).toEqual([{ job: "t-once", trigger: "Once" }]);
    expect(plan({ status: { lastScheduleTime: "2026-01-01T00:00:31Z" } }).start).toEqual([]);
  });

  it("starts one run per new run-now token", () => {
    const annotations = { "pake.dev/run-now": "abc" };
    expect(plan({ spec: { schedule: "0 0 1 1 *" }, annotations }).start[0]).toMatchObject({
      trigger: "RunNow",
      token: "abc",
    });
    expect(
      plan({ spec: { schedule: "0 0 1 1 *" }, annotations, status: { lastRunNowToken: "abc" } })
        .start,
    ).toEqual([]);
  });
});

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

describe("recordFromJob", () => {
  it("copies the runner's termination message into the record", () => {
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

  it("turns DeadlineExceeded into TimedOut and BackoffLimitExceeded into Failed, with the reason", () => {
    expect(recordFromJob(failedJob("DeadlineExceeded"), undefined)).toMatchObject({
      result: "TimedOut",
      details: { reason: "DeadlineExceeded" },
    });
    expect(recordFromJob(failedJob("BackoffLimitExceeded"), undefined)).toMatchObject({
      result: "Failed",
      details: { reason: "BackoffLimitExceeded" },
    });
  });
});

const rec = (job: string, result: RunRecord["result"], end: string): RunRecord => ({
  job,
  result,
  endTime: end,
});

describe("history", () => {
  it("keeps the limits of successful and failed runs, newest first", () => {
    const h = mergeHistory(
      [rec("a", "Succeeded", "2026-01-01T00:01:00Z"), rec("b", "Failed", "2026-01-01T00:02:00Z")],
      [rec("c", "Succeeded", "2026-01-01T00:03:00Z"), rec("d", "Failed", "2026-01-01T00:04:00Z")],
      { successful: 3, failed: 1 },
    );
    expect(h.map((r) => r.job)).toEqual(["d", "c", "a"]);
    expect(boundHistory(h, { successful: 0, failed: 0 })).toEqual([]);
  });

  it("prunes finished Jobs beyond the limits, never unfinished ones", () => {
    const done = (name: string, type: string, t: string): JobObject => ({
      metadata: { name },
      status: { conditions: [{ type, status: "True", lastTransitionTime: t }] },
    });
    const jobs = [
      done("s1", "Complete", "2026-01-01T00:01:00Z"),
      done("s2", "Complete", "2026-01-01T00:02:00Z"),
      done("f1", "Failed", "2026-01-01T00:03:00Z"),
      done("f2", "Failed", "2026-01-01T00:04:00Z"),
      { metadata: { name: "running" }, status: { active: 1 } },
    ];
    expect(jobsToPrune(jobs, { successful: 1, failed: 1 }).sort()).toEqual(["f1", "s1"]);
  });
});

describe("watchdog", () => {
  it("ends a Job past timeout plus grace, and a run whose Job vanished", () => {
    const job: JobObject = {
      metadata: { name: "j", creationTimestamp: "2026-01-01T00:00:00Z" },
      status: { startTime: "2026-01-01T00:00:00Z" },
    };
    const at = (s: string) =>
      overdueJobs({ unfinished: [job], timeoutMs: 60_000, graceMs: 30_000, now: new Date(s) });
    expect(at("2026-01-01T00:01:29Z")).toEqual([]);
    expect(at("2026-01-01T00:01:30Z")[0]?.record).toMatchObject({
      result: "TimedOut",
      details: { reason: "WatchdogTimeout" },
    });
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
