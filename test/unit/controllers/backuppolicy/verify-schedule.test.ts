// verify.schedule: which verify slot is due at an injected time (CronJob
// semantics in the policy's time zone: one Job name per slot, one catch-up,
// startingDeadlineSeconds, no second Job after a restart, never two at once,
// suspend), the runs of a slot (the newest successful backup; none yet: one
// NothingToVerify Warning and no Job), the slot's verify Job, and the status
// fields (nextVerifyTime, lastVerifyScheduleTime, Ready's message).
import { describe, expect, it } from "vitest";
import {
  planVerifySlots,
  verifyScheduleName,
  verifySlotRuns,
  type VerifyPlanInput,
} from "../../../../src/controllers/backuppolicy/verify-schedule.ts";
import { buildVerifyJob } from "../../../../src/controllers/backuppolicy/verification.ts";
import { statusMutator, type Status } from "../../../../src/controllers/backuppolicy/status.ts";
import { BackupPolicySpec, type BackupPolicySpecInput } from "../../../../src/crds/backuppolicy.ts";
import { TASK_CONFIG_ENV } from "../../../../src/controllers/jobrun/index.ts";
import { scheduledJobName } from "../../../../src/schedule/index.ts";

const created = new Date("2026-01-01T00:00:30Z");
const base: BackupPolicySpecInput = {
  database: { connectionSecretRef: { name: "pg" } },
  schedule: "0 1 * * *",
  storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
};
const specWith = (over: Partial<BackupPolicySpecInput>) =>
  BackupPolicySpec.parse({ ...base, ...over });
const verifyEvery = (schedule: string, over: Partial<BackupPolicySpecInput> = {}) =>
  specWith({ verify: { enabled: true, schedule }, ...over });

function plan(over: Partial<VerifyPlanInput>) {
  return planVerifySlots({
    namespace: "db",
    policy: "nightly",
    spec: verifyEvery("* * * * *"),
    status: undefined,
    creationTime: created,
    now: new Date("2026-01-01T00:10:20Z"),
    existing: new Set(),
    active: [],
    ...over,
  });
}

const slotJob = (iso: string) => scheduledJobName(verifyScheduleName("nightly"), new Date(iso));

describe("Given a policy without verify.schedule", () => {
  it.each([
    ["no verify section", specWith({})],
    ["verify after every backup", specWith({ verify: { enabled: true } })],
    [
      "a schedule but verify disabled",
      specWith({ verify: { enabled: false, schedule: "* * * * *" } }),
    ],
  ])("When it has %s, then there is no verify plan", (_what, spec) => {
    expect(plan({ spec })).toBeUndefined();
  });
});

describe("Given a policy verifying on * * * * * after an outage of ten slots", () => {
  it("When it plans, then only the newest slot starts, as a Schedule run with its own Job name", () => {
    const p = plan({})!;
    expect(p.start).toEqual([
      {
        job: slotJob("2026-01-01T00:10:00Z"),
        trigger: "Schedule",
        slot: new Date("2026-01-01T00:10:00Z"),
      },
    ]);
    expect(p.start[0]!.job).toMatch(/^nightly-verify-[0-9a-f]{8}-29453770$/);
    expect(p.lastScheduleTime).toEqual(new Date("2026-01-01T00:10:00Z"));
    expect(p.next).toEqual(new Date("2026-01-01T00:11:00Z"));
    expect(p.events.map((e) => e.reason)).toEqual(["CatchingUp"]);
  });

  it("When the slot's Job exists already (a restart after creating it), then it counts as started", () => {
    const job = slotJob("2026-01-01T00:10:00Z");
    const p = plan({ existing: new Set([job]), active: [job] })!;
    expect(p.start).toEqual([]);
    expect(p.lastScheduleTime).toEqual(new Date("2026-01-01T00:10:00Z"));
  });

  it("When the status already holds this slot, then nothing is due until the next one", () => {
    const p = plan({ status: { lastVerifyScheduleTime: "2026-01-01T00:10:00Z" } })!;
    expect(p.start).toEqual([]);
    expect(p.lastScheduleTime).toBeUndefined();
    expect(p.next).toEqual(new Date("2026-01-01T00:11:00Z"));
  });

  it("When another verification still runs, then the slot is skipped with a Warning (never two at once)", () => {
    const p = plan({
      status: { lastVerifyScheduleTime: "2026-01-01T00:09:00Z" },
      existing: new Set(["nightly-verify-older"]),
      active: ["nightly-verify-older"],
    })!;
    expect(p.start).toEqual([]);
    expect(p.events[0]).toMatchObject({ type: "Warning", reason: "SkippedConcurrentRun" });
  });

  it("When the slot is past the policy's startingDeadlineSeconds, then it is missed, with a Warning", () => {
    const p = plan({ spec: verifyEvery("*/5 * * * *", { startingDeadlineSeconds: 10 }) })!;
    expect(p.start).toEqual([]);
    expect(p.events[0]).toMatchObject({ type: "Warning", reason: "MissedSchedule" });
  });

  it("When the policy is suspended, then no slot starts", () => {
    const p = plan({ spec: verifyEvery("* * * * *", { suspend: true }) })!;
    expect(p.start).toEqual([]);
  });
});

describe("Given a monthly verify.schedule in the policy's time zone", () => {
  it.each([
    ["UTC", "UTC", "2026-12-01T03:00:00Z"],
    ["Europe/Berlin (winter, UTC+1)", "Europe/Berlin", "2026-12-01T02:00:00Z"],
    ["America/New_York (winter, UTC-5)", "America/New_York", "2026-12-01T08:00:00Z"],
  ])(
    "When the zone is %s, then the next verification is 03:00 local on the 1st",
    (_w, zone, next) => {
      const p = plan({
        spec: verifyEvery("0 3 1 * *", { timeZone: zone }),
        creationTime: new Date("2026-11-20T00:00:00Z"),
        now: new Date("2026-11-20T12:00:00Z"),
      })!;
      expect(p.start).toEqual([]);
      expect(p.next).toEqual(new Date(next));
    },
  );
});

describe("Given a verify slot that is due", () => {
  const due = plan({})!;

  it("When a successful backup exists, then the slot's run verifies it, with the plan's Events", () => {
    const slots = verifySlotRuns(due, "20260101T000500Z");
    expect(slots.runs).toEqual([{ run: due.start[0], backupId: "20260101T000500Z" }]);
    expect(slots.events).toEqual(due.events);
  });

  it("When no successful backup exists yet, then no run starts and one NothingToVerify Warning says why", () => {
    const slots = verifySlotRuns(due, undefined);
    expect(slots.runs).toEqual([]);
    expect(slots.events).toEqual([
      {
        type: "Warning",
        reason: "NothingToVerify",
        message:
          "verification due at 2026-01-01T00:10:00Z skipped: no successful backup to verify yet",
      },
    ]);
  });

  it("When no slot is due, then there is nothing to say, backup or not", () => {
    const idle = plan({ status: { lastVerifyScheduleTime: "2026-01-01T00:10:00Z" } })!;
    expect(verifySlotRuns(idle, undefined)).toEqual({ runs: [], events: [] });
  });

  it("Then the slot's Job has the slot's name and annotations and verifies the given backup", () => {
    const run = due.start[0]!;
    const job = buildVerifyJob(
      { namespace: "db", name: "nightly", uid: "u-1", spec: verifyEvery("* * * * *") },
      "20260101T000500Z",
      "pake:test",
      run,
    );
    expect(job.metadata.name).toBe(run.job);
    expect(job.metadata.annotations).toMatchObject({
      "pake.dev/trigger": "Schedule",
      "pake.dev/scheduled-time": "2026-01-01T00:10:00.000Z",
    });
    const container = job.spec.template.spec.containers[0]!;
    const config = JSON.parse(
      container.env.find((e) => e.name === TASK_CONFIG_ENV)!.value!,
    ) as Record<string, unknown>;
    expect(config.backupId).toBe("20260101T000500Z");
    expect(container.args).toEqual(["run", "backupVerify"]);
  });
});

describe("Given the status a reconcile writes", () => {
  const now = new Date("2026-01-01T00:10:20Z");
  const backupPlan = { start: [], stop: [], events: [], next: new Date("2026-01-02T01:00:00Z") };
  const write = (spec: BackupPolicySpec, verifyPlan = plan({ spec }), status: Status = {}) => {
    statusMutator({
      spec,
      plan: backupPlan,
      verifyPlan,
      finished: [],
      verifications: [],
      active: [],
      verifying: [],
      now,
    })(status, { metadata: { generation: 1 } });
    return status;
  };

  it("When verify.schedule is set, then nextVerifyTime and lastVerifyScheduleTime are written and Ready names both times", () => {
    const status = write(verifyEvery("* * * * *"));
    expect(status.nextVerifyTime).toBe("2026-01-01T00:11:00Z");
    expect(status.lastVerifyScheduleTime).toBe("2026-01-01T00:10:00Z");
    const ready = status.conditions?.find((c) => c.type === "Ready");
    expect(ready?.message).toBe(
      "next backup at 2026-01-02T01:00:00Z, next verification at 2026-01-01T00:11:00Z",
    );
  });

  it("When verify.schedule is removed, then nextVerifyTime goes and Ready names only the backup", () => {
    const spec = specWith({ verify: { enabled: true } });
    const status = write(spec, undefined, { nextVerifyTime: "2026-01-01T00:11:00Z" });
    expect(status.nextVerifyTime).toBeUndefined();
    expect(status.conditions?.find((c) => c.type === "Ready")?.message).toBe(
      "next backup at 2026-01-02T01:00:00Z",
    );
  });

  it("When the policy is suspended, then there is no next verification", () => {
    const spec = verifyEvery("* * * * *", { suspend: true });
    expect(write(spec).nextVerifyTime).toBeUndefined();
  });
});
