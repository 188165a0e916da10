// Run planning, generic over the owner: the schedule slot (CronJob semantics),
// the run of an owner without a schedule, and run-now tokens.
import { describe, expect, it } from "vitest";
import {
  JobRunEventReason,
  planRuns,
  type PlanInput,
  type PlanSpec,
} from "../../../../src/controllers/jobrun/index.ts";
import { scheduledJobName } from "../../../../src/schedule/index.ts";

const created = new Date("2026-01-01T00:00:30Z");
const RUN_NOW = "pake.dev/run-now";

function plan(over: Partial<Omit<PlanInput, "spec">> & { spec?: Partial<PlanSpec> }) {
  const { spec, ...rest } = over;
  return planRuns({
    namespace: "ns",
    name: "t",
    // The defaults an owner's schema applies.
    spec: { timeZone: "UTC", suspend: false, concurrencyPolicy: "Forbid", ...spec },
    status: undefined,
    annotations: undefined,
    runNowAnnotation: RUN_NOW,
    creationTime: created,
    now: new Date("2026-01-01T00:10:20Z"),
    existing: new Set(),
    active: [],
    ...rest,
  });
}

describe("Given an owner on * * * * * after an outage", () => {
  it("When it plans, then only the newest missed slot starts", () => {
    const p = plan({ spec: { schedule: "* * * * *" } });
    expect(p.start).toEqual([
      {
        job: scheduledJobName("t", new Date("2026-01-01T00:10:00Z")),
        trigger: "Schedule",
        slot: new Date("2026-01-01T00:10:00Z"),
      },
    ]);
    expect(p.next).toEqual(new Date("2026-01-01T00:11:00Z"));
    expect(p.events[0]?.reason).toBe(JobRunEventReason.CatchingUp);
    expect(p.events[0]?.reason).toBe("CatchingUp");
  });

  it("When the slot's Job already exists, then it counts as started", () => {
    const job = scheduledJobName("t", new Date("2026-01-01T00:10:00Z"));
    const p = plan({ spec: { schedule: "* * * * *" }, existing: new Set([job]), active: [job] });
    expect(p.start).toEqual([]);
    expect(p.lastScheduleTime).toEqual(new Date("2026-01-01T00:10:00Z"));
    expect(p.events).toEqual([]);
  });

  it("When the slot is past startingDeadlineSeconds, then it is recorded as missed, with a Warning", () => {
    const p = plan({ spec: { schedule: "*/5 * * * *", startingDeadlineSeconds: 10 } });
    expect(p.start).toEqual([]);
    expect(p.lastScheduleTime).toEqual(new Date("2026-01-01T00:10:00Z"));
    expect(p.events[0]).toMatchObject({ type: "Warning", reason: "MissedSchedule" });
  });
});

describe("Given an active run when a slot is due", () => {
  it.each([
    ["Forbid", 0, 0],
    ["Allow", 1, 0],
    ["Replace", 1, 1],
  ] as const)("When the policy is %s, then it starts %i and stops %i", (policy, starts, stops) => {
    const p = plan({
      spec: { schedule: "* * * * *", concurrencyPolicy: policy },
      active: ["old"],
      existing: new Set(["old"]),
    });
    expect(p.start).toHaveLength(starts);
    expect(p.stop).toHaveLength(stops);
  });
});

describe("Given suspend or no schedule", () => {
  it.each([
    ["suspended on a schedule", { spec: { schedule: "* * * * *", suspend: true } }, []],
    ["without a schedule", {}, [{ job: "t-once", trigger: "Once" }]],
    [
      "without a schedule, already started once",
      { status: { lastScheduleTime: "2026-01-01T00:00:31Z" } },
      [],
    ],
  ] as const)("When the owner is %s, then the runs started are %j", (_name, over, starts) => {
    expect(plan(over).start).toEqual(starts);
  });
});

describe("Given run-now tokens", () => {
  const annotations = { [RUN_NOW]: "abc" };

  it("When a token is new, then one run starts for it", () => {
    expect(plan({ spec: { schedule: "0 0 1 1 *" }, annotations }).start[0]).toMatchObject({
      trigger: "RunNow",
      token: "abc",
    });
  });

  it("When the token was acted on, then nothing starts", () => {
    expect(
      plan({ spec: { schedule: "0 0 1 1 *" }, annotations, status: { lastRunNowToken: "abc" } })
        .start,
    ).toEqual([]);
  });

  it("When the owner names another annotation (BackupPolicy's backup-now), then that one is read", () => {
    const p = plan({
      spec: { schedule: "0 0 1 1 *" },
      annotations: { "pake.dev/backup-now": "b1", [RUN_NOW]: "ignored" },
      runNowAnnotation: "pake.dev/backup-now",
    });
    expect(p.start).toEqual([expect.objectContaining({ trigger: "RunNow", token: "b1" })]);
    expect(p.runNowToken).toBe("b1");
    expect(p.events[0]?.message).toContain("pake.dev/backup-now=b1");
  });
});
